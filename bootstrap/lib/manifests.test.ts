import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { Application } from "@kubernetes-models/argo-cd/argoproj.io/v1alpha1";
import { Deployment } from "kubernetes-models/apps/v1";
import { PersistentVolumeClaim, Secret, Service } from "kubernetes-models/v1";
import {
  gitServerObjects,
  grafanaSecret,
  isSubset,
  randomPassword,
  rootApplication,
} from "./manifests.ts";

const root = resolve(import.meta.dir, "..", "..");

interface PodSpec {
  automountServiceAccountToken?: boolean;
  securityContext: Record<string, unknown> & { runAsUser: number };
  containers: {
    securityContext: unknown;
    resources: Record<"requests" | "limits", Record<string, string>>;
    volumeMounts: { name: string; mountPath: string }[];
  }[];
  volumes: { name: string; persistentVolumeClaim?: unknown; emptyDir?: unknown }[];
}

describe("objects bootstrap creates", () => {
  test("the root Application from gitops/root.yaml: repoURL and revision filled in, schema-valid", async () => {
    const committed = await Bun.file(resolve(root, "gitops/root.yaml")).text();
    const app = rootApplication(committed, "https://github.com/me/fork.git", "demo");
    new Application(app as never).validate();
    const source = (app.spec as { source: Record<string, unknown> }).source;
    expect(source.repoURL).toBe("https://github.com/me/fork.git");
    expect(source.targetRevision).toBe("demo");
    expect((source.helm as { valuesObject: unknown }).valuesObject).toMatchObject({
      repoURL: "https://github.com/me/fork.git",
      revision: "demo",
    });
    // Everything else is taken from the committed file as it is.
    const original = Bun.YAML.parse(committed) as {
      metadata: unknown;
      spec: { destination: unknown; syncPolicy: unknown };
    };
    expect(app.metadata).toEqual(original.metadata);
    expect((app.spec as typeof original.spec).syncPolicy).toEqual(original.spec.syncPolicy);
    expect(() => rootApplication("kind: ConfigMap\n", "x", "y")).toThrow(
      "is not an Argo CD Application",
    );
  });

  test("the Grafana Secret has the keys the chart reads and a fresh random password each time", () => {
    const secret = grafanaSecret(randomPassword());
    new Secret(secret as never).validate();
    expect(secret.metadata).toMatchObject({ name: "grafana-admin", namespace: "monitoring" });
    const data = secret.stringData as Record<string, string>;
    expect(Object.keys(data).sort()).toEqual(["admin-password", "admin-user"]);
    expect(data["admin-password"]).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(randomPassword()).not.toBe(randomPassword());
  });

  test("the git server: PVC, Deployment and NodePort 30300 Service, schema-valid, pinned image", () => {
    const [pvc, deployment, service] = gitServerObjects();
    new PersistentVolumeClaim(pvc as never).validate();
    new Deployment(deployment as never).validate();
    new Service(service as never).validate();
    const container = (
      deployment as {
        spec: {
          template: {
            spec: {
              containers: {
                image: string;
                resources: unknown;
                env: { name: string; value: string }[];
              }[];
            };
          };
        };
      }
    ).spec.template.spec.containers[0];
    expect(container?.image).toMatch(/^docker\.io\/charmcli\/soft-serve:v\d+\.\d+\.\d+$/);
    expect(container?.resources).toMatchObject({
      requests: { cpu: "20m", memory: "32Mi" },
      limits: { cpu: "500m", memory: "256Mi" },
    });
    expect(container?.env).toContainEqual({ name: "SOFT_SERVE_ANON_ACCESS", value: "read-write" });
    expect((service as { spec: { ports: { nodePort: number }[] } }).spec.ports[0]?.nodePort).toBe(
      30300,
    );
  });

  test("the git server is hardened and resourced like the project's own workloads", () => {
    const deployment = gitServerObjects().find((o) => o.kind === "Deployment") as {
      spec: { template: { spec: PodSpec } };
    };
    const pod = deployment.spec.template.spec;
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" },
    });
    // The image has no USER: without an explicit uid, runAsNonRoot would refuse to start it.
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    for (const container of pod.containers) {
      expect(container.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        privileged: false,
        runAsNonRoot: true,
        capabilities: { drop: ["ALL"] },
      });
      for (const kind of ["requests", "limits"] as const) {
        expect(Object.keys(container.resources[kind]).sort(), kind).toEqual(["cpu", "memory"]);
      }
      // With a read-only root, the paths Soft Serve writes are volumes: its data path (the
      // image's SOFT_SERVE_DATA_PATH and WORKDIR) on the PVC, and the temp dir.
      const mounts = Object.fromEntries(container.volumeMounts.map((m) => [m.mountPath, m.name]));
      expect(mounts).toEqual({ "/soft-serve": "data", "/tmp": "tmp" });
      const volumes = Object.fromEntries(pod.volumes.map((v) => [v.name, v]));
      expect(volumes.data?.persistentVolumeClaim).toEqual({ claimName: "git-server" });
      expect(volumes.tmp?.emptyDir).toBeDefined();
    }
  });

  test("kind-config.yaml publishes the git server's NodePort on localhost:8300 only", async () => {
    const config = Bun.YAML.parse(await Bun.file(resolve(root, "kind-config.yaml")).text()) as {
      nodes: {
        extraPortMappings?: { containerPort: number; hostPort: number; listenAddress?: string }[];
      }[];
    };
    const mappings = config.nodes.flatMap((n) => n.extraPortMappings ?? []);
    expect(mappings).toContainEqual(
      expect.objectContaining({ containerPort: 30300, hostPort: 8300, listenAddress: "127.0.0.1" }),
    );
    expect(mappings).toContainEqual(
      expect.objectContaining({ containerPort: 30080, hostPort: 8080 }),
    );
  });

  test("isSubset ignores what the API server adds but not a changed value", () => {
    const want = { source: { repoURL: "a", helm: { valuesObject: { revision: "main" } } } };
    const live = {
      source: { repoURL: "a", helm: { valuesObject: { revision: "main" } }, extra: 1 },
      status: {},
    };
    expect(isSubset(want, live)).toBe(true);
    expect(
      isSubset(want, { source: { repoURL: "b", helm: { valuesObject: { revision: "main" } } } }),
    ).toBe(false);
    expect(isSubset({ list: [1, 2] }, { list: [1, 2, 3] })).toBe(false);
  });
});
