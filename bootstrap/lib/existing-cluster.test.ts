// The existing-cluster side of bootstrap: the answers preflight reads (shapes of the real API's
// objects), Docker's credentials file, and every kubectl/helm command line of up.ts --context,
// open.ts and down.ts --context given to the real binaries (as commands.test.ts does for kind).
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removalCommands, STACK_NAMESPACES } from "../down.ts";
import { TARGETS } from "../open.ts";
import { runWithoutCluster } from "../testing/real-tools.ts";
import {
  defaultStorageClass,
  dockerLogin,
  existingClusterQueries,
  nodePlatforms,
  registryHost,
} from "./existing-cluster.ts";
import { type Desired, plan, type State } from "./plan.ts";
import { forwardArgv } from "./port-forward.ts";
import { clusterQueries } from "./queries.ts";
import type { Command } from "./run.ts";

const CONTEXT = "staging";

describe("reading the cluster's answers", () => {
  test("node platforms: os/architecture from status.nodeInfo, unique and sorted", () => {
    const node = (arch: string) => ({
      kind: "Node",
      metadata: { name: `n-${arch}`, labels: { "kubernetes.io/arch": arch } },
      status: {
        nodeInfo: { architecture: arch, operatingSystem: "linux", kubeletVersion: "v1.35.4" },
      },
    });
    const list = (...archs: string[]) =>
      JSON.stringify({ apiVersion: "v1", kind: "List", items: archs.map(node) });
    expect(nodePlatforms(list("arm64", "amd64", "amd64"))).toEqual(["linux/amd64", "linux/arm64"]);
    expect(nodePlatforms(list("amd64"))).toEqual(["linux/amd64"]);
  });

  test("the default StorageClass is the one annotated is-default-class=true", () => {
    const list = (annotations: Record<string, string>[]) =>
      JSON.stringify({
        items: annotations.map((a, i) => ({ metadata: { name: `sc${i}`, annotations: a } })),
      });
    expect(
      defaultStorageClass(list([{}, { "storageclass.kubernetes.io/is-default-class": "true" }])),
    ).toBe("sc1");
    expect(
      defaultStorageClass(list([{ "storageclass.kubernetes.io/is-default-class": "false" }])),
    ).toBeUndefined();
    expect(defaultStorageClass(JSON.stringify({ items: [] }))).toBeUndefined();
  });

  test("registry login: from auths or credHelpers of the Docker config; local registries need none", () => {
    const home = mkdtempSync(join(tmpdir(), "docker-config-"));
    try {
      const env = { HOME: home };
      expect(registryHost("ghcr.io/acme/team")).toBe("ghcr.io");
      expect(dockerLogin("localhost:5001", env)).toBe("yes");
      expect(dockerLogin("ghcr.io", env)).toBe("no"); // no config file at all
      mkdirSync(join(home, ".docker"));
      const write = (config: unknown) =>
        writeFileSync(join(home, ".docker", "config.json"), JSON.stringify(config));
      write({ auths: { "https://index.docker.io/v1/": {}, "ghcr.io": { auth: "eA==" } } });
      expect(dockerLogin("ghcr.io", env)).toBe("yes");
      expect(dockerLogin("quay.io", env)).toBe("no");
      write({ credHelpers: { "123.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login" } });
      expect(dockerLogin("123.dkr.ecr.eu-west-1.amazonaws.com", env)).toBe("yes");
      write({ credsStore: "desktop" });
      expect(dockerLogin("quay.io", env)).toBe("maybe");
      expect(
        dockerLogin("quay.io", { HOME: "/nonexistent", DOCKER_CONFIG: join(home, ".docker") }),
      ).toBe("maybe");
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe("existing-cluster command lines against the real kubectl and helm", () => {
  const want: Desired = {
    clusterName: "observability-sandbox",
    context: CONTEXT,
    kindConfig: "kind-config.yaml",
    images: [
      {
        service: "api-gateway",
        ref: "ghcr.io/acme/api-gateway:0123456789ab",
        dockerfile: "apps/api-gateway/Dockerfile",
      },
    ],
    delivery: {
      mode: "remote",
      repoURL: "https://github.com/acme/sandbox.git",
      revision: "main",
      why: "test",
    },
    rootApp: {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Application",
      metadata: { name: "root", namespace: "argocd" },
      spec: {
        project: "sandbox-root",
        source: { repoURL: "https://github.com/acme/sandbox.git", path: "gitops/apps" },
      },
    },
    grafanaPassword: "not-a-real-password",
    pushTokenFile:
      "/home/you/.local/state/observability-sandbox/observability-sandbox/git-credentials",
    verify: false,
    target: {
      registry: "ghcr.io/acme",
      platforms: ["linux/amd64", "linux/arm64"],
      objectStorageKeys: { accessKeyId: "not-a-real-key", secretAccessKey: "not-a-real-secret" },
    },
  };
  const fresh: State = { images: {}, cluster: true };

  test("each one is accepted and fails only for want of the context", async () => {
    const queries = existingClusterQueries(CONTEXT);
    const commands: Command[] = [
      queries.server,
      ...queries.rights,
      queries.nodes,
      queries.storageClasses,
      clusterQueries(CONTEXT).objectStorageSecret,
      ...Object.values(TARGETS).map((t) => forwardArgv(t, CONTEXT)),
      ...Object.values(removalCommands(CONTEXT, STACK_NAMESPACES)),
    ]
      .map((argv) => ({ argv }) as Command)
      .concat(plan(want, fresh).flatMap((step) => step.commands))
      .filter((c) => c.argv[0] === "kubectl" || c.argv[0] === "helm");
    expect(commands.length).toBeGreaterThanOrEqual(20);
    for (const { command, code, stderr } of await runWithoutCluster(commands)) {
      const said = `${command.argv.join(" ")}\n→ exit ${code}: ${stderr.trim()}`;
      expect({
        said,
        missingContext:
          /context "staging" does not exist|context was not found for specified context: staging/.test(
            stderr,
          ),
      }).toEqual({ said, missingContext: true });
    }
  }, 60_000);
});
