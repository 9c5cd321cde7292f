import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Application, AppProject } from "@kubernetes-models/argo-cd/argoproj.io/v1alpha1";
import { Deployment } from "kubernetes-models/apps/v1";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { PersistentVolumeClaim, Secret, Service } from "kubernetes-models/v1";
import {
  ARGOCD_REPO_SERVER,
  appProjects,
  gitServerObjects,
  grafanaSecret,
  isSubset,
  randomPassword,
  rootApplication,
} from "./manifests.ts";
import { KIND_POD_SUBNET } from "./names.ts";

const root = resolve(import.meta.dir, "..", "..");

interface Container {
  image: string;
  command?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  ports?: { containerPort: number }[];
  securityContext: unknown;
  resources: Record<"requests" | "limits", Record<string, string>>;
  volumeMounts: { name: string; mountPath: string }[];
}
interface PodSpec {
  automountServiceAccountToken?: boolean;
  securityContext: Record<string, unknown> & { runAsUser: number };
  containers: Container[];
  initContainers?: Container[];
  volumes: { name: string; persistentVolumeClaim?: unknown; emptyDir?: unknown }[];
}

const gitServerPod = () =>
  (
    gitServerObjects().find((o) => o.kind === "Deployment") as {
      spec: { template: { spec: PodSpec } };
    }
  ).spec.template.spec;

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

  test("the git server: PVC, Deployment, NodePort 30300 Service and NetworkPolicy, schema-valid, pinned image", () => {
    const objects = gitServerObjects();
    expect(objects.map((o) => o.kind)).toEqual([
      "PersistentVolumeClaim",
      "Deployment",
      "Service",
      "NetworkPolicy",
    ]);
    const [pvc, deployment, service, policy] = objects;
    new NetworkPolicy(policy as never).validate();
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
    for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
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
    }
    // With a read-only root, the paths Soft Serve writes are volumes: its data path (the
    // image's SOFT_SERVE_DATA_PATH and WORKDIR) on the PVC, and the temp dir.
    const mounts = (c: PodSpec["containers"][number] | undefined) =>
      Object.fromEntries((c?.volumeMounts ?? []).map((m) => [m.mountPath, m.name]));
    expect(mounts(pod.containers[0])).toEqual({ "/soft-serve": "data", "/tmp": "tmp" });
    // The init container writes only the admin key, on the same volume.
    expect(mounts(pod.initContainers?.[0])).toEqual({ "/soft-serve": "data" });
    const volumes = Object.fromEntries(pod.volumes.map((v) => [v.name, v]));
    expect(volumes.data?.persistentVolumeClaim).toEqual({ claimName: "git-server" });
    expect(volumes.tmp?.emptyDir).toBeDefined();
  });

  test("the git server lets anyone read and only the admin push: no secret in its spec", () => {
    const pod = gitServerPod();
    const env = Object.fromEntries(
      (pod.containers[0]?.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]),
    );
    // Soft Serve v0.12.2's access levels: no-access, read-only, read-write, admin-access.
    expect(env.SOFT_SERVE_ANON_ACCESS).toBe("read-only");
    // Keyless (no credential) requests get ANON_ACCESS; false would turn Argo CD's anonymous
    // clone away with a 401.
    expect(env.SOFT_SERVE_ALLOW_KEYLESS).toBe("true");
    // SSH (where tokens are minted) only on the pod's loopback; no git:// daemon.
    expect(env.SOFT_SERVE_SSH_LISTEN_ADDR).toBe("127.0.0.1:23231");
    expect(env.SOFT_SERVE_GIT_ENABLED).toBe("false");
    // The admin key is a file the init container makes on the volume, not a value in the spec.
    const keyFile = "/soft-serve/bootstrap/admin_ed25519";
    expect(env.SOFT_SERVE_INITIAL_ADMIN_KEYS).toBe(`${keyFile}.pub`);
    const init = pod.initContainers?.[0];
    expect(init?.image).toBe(pod.containers[0]?.image as string);
    const script = init?.command?.at(-1) ?? "";
    expect(script).toStartWith(`test -f ${keyFile} ||`); // kept across restarts
    expect(script).toContain(`ssh-keygen -q -t ed25519 -N '' -C git-server-admin -f ${keyFile}`);
    // Nothing secret is in the spec: no Secret needed, nothing a `get deployment` could show.
    expect(JSON.stringify(pod)).not.toMatch(/ss_[0-9a-f]{10}|PRIVATE KEY|ssh-ed25519 AAAA/);
    expect(gitServerObjects().map((o) => o.kind)).not.toContain("Secret");
  });

  test("NetworkPolicy: only Argo CD's repo-server and traffic from outside the pod network reach the HTTP port", async () => {
    const policy = gitServerObjects().find((o) => o.kind === "NetworkPolicy") as {
      metadata: { namespace: string };
      spec: {
        podSelector: { matchLabels: Record<string, string> };
        policyTypes: string[];
        ingress: {
          from: { podSelector?: unknown; namespaceSelector?: unknown; ipBlock?: unknown }[];
          ports: { protocol: string; port: number }[];
        }[];
      };
    };
    const pod = gitServerPod();
    const deployment = gitServerObjects().find((o) => o.kind === "Deployment") as {
      spec: { template: { metadata: { labels: Record<string, string> } } };
    };
    // It selects the git server's pods, in their namespace, and restricts ingress.
    expect(policy.metadata.namespace).toBe("argocd");
    expect(deployment.spec.template.metadata.labels).toMatchObject(
      policy.spec.podSelector.matchLabels,
    );
    expect(policy.spec.policyTypes).toEqual(["Ingress"]);
    const httpPort = (pod.containers[0]?.ports ?? [])[0]?.containerPort;
    expect(policy.spec.ingress).toEqual([
      {
        // Same namespace (no namespaceSelector): Argo CD's repo-server only.
        from: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": ARGOCD_REPO_SERVER } } }],
        ports: [{ protocol: "TCP", port: httpPort as number }],
      },
      {
        // The NodePort behind localhost:8300: the host, never another pod.
        from: [{ ipBlock: { cidr: "0.0.0.0/0", except: [KIND_POD_SUBNET] } }],
        ports: [{ protocol: "TCP", port: httpPort as number }],
      },
    ]);
    expect(ARGOCD_REPO_SERVER).toBe("argocd-repo-server");
    // The excepted subnet is the cluster's: kind's default, as kind-config.yaml changes no networking.
    const config = Bun.YAML.parse(await Bun.file(resolve(root, "kind-config.yaml")).text()) as {
      networking?: { podSubnet?: string };
    };
    expect(config.networking?.podSubnet ?? "10.244.0.0/16").toBe(KIND_POD_SUBNET);
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
    // Argo CD drops empty lists when it writes a project (omitempty): absent is empty.
    expect(isSubset({ sourceRepos: [] }, {})).toBe(true);
    expect(isSubset({ sourceRepos: [] }, { sourceRepos: ["*"] })).toBe(false);
  });

  test("the AppProjects: schema-valid, labelled as bootstrap's, in argocd, `default` first", () => {
    const projects = appProjects("https://github.com/me/fork.git", false);
    for (const project of projects) new AppProject(project as never).validate();
    expect(projects.map((p) => p.metadata)).toEqual(
      ["default", "sandbox-root", "observability"].map((name) => ({
        name,
        namespace: "argocd",
        labels: { "app.kubernetes.io/managed-by": "bootstrap" },
      })),
    );
    // The committed root Application names the root's project.
    const committed = Bun.YAML.parse(readFileSync(resolve(root, "gitops/root.yaml"), "utf8"));
    expect(committed).toMatchObject({ spec: { project: "sandbox-root" } });
  });
});
