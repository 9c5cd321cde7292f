// up.ts on an existing cluster (`--context <ctx> --registry <prefix>`), run as a process against
// stand-in docker/kubectl/helm: no kind step, images built for the nodes' platforms and pushed,
// every command on that context, the root Application with the cluster profile.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dig } from "../gitops/testing/load.ts";
import { contentTag } from "./lib/image-tag.ts";
import { CLUSTER_CHILD_APPS } from "./testing/fake/argocd.ts";
import { anExistingCluster, type ExistingCluster } from "./testing/fake/state.ts";
import { changingCalls, type Fixture, makeFixture, removedAfterAll } from "./testing/fixture.ts";

setDefaultTimeout(60_000);

const CTX = "staging";
const REGISTRY = "ghcr.io/acme";
const FLAGS = [
  "--context",
  CTX,
  "--registry",
  REGISTRY,
  "--timeout",
  "3s",
  "--poll-interval",
  "50ms",
];
const lines = (calls: string[][]) => calls.map((c) => c.join(" "));

/** A fixture with an existing cluster, a registry login, and no kind installed at all. */
const existing = removedAfterAll(
  async (cluster: Partial<ExistingCluster> = {}, login = true): Promise<Fixture> => {
    const f = await makeFixture({
      tools: ["docker", "kubectl", "helm"],
      state: { existing: { [CTX]: anExistingCluster(cluster) } },
    });
    if (login) {
      mkdirSync(join(f.dir, ".docker"), { recursive: true });
      writeFileSync(
        join(f.dir, ".docker", "config.json"),
        JSON.stringify({ auths: { "ghcr.io": { auth: "dXNlcjp0b2tlbg==" } } }),
      );
    }
    return f;
  },
);

async function refs(f: Fixture) {
  return Promise.all(
    (["api-gateway", "user-service"] as const).map(
      async (s) => `${REGISTRY}/${s}:${await contentTag(f.repo, s)}`,
    ),
  );
}

describe("up.ts --context --registry", () => {
  test.concurrent("--dry-run plans a registry push for the nodes' platforms and no kind step", async () => {
    const f = await existing();
    const r = await f.run("up.ts", [...FLAGS, "--dry-run"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const [api, user] = await refs(f);
    expect(r.stdout).toContain("ok    cluster staging (Kubernetes v1.35.4)");
    expect(r.stdout).toContain("ok    nodes: linux/amd64, linux/arm64 (multi-arch images)");
    expect(r.stdout).toContain("ok    default StorageClass standard");
    expect(r.stdout).toContain("note  a multi-platform build needs a buildx builder");
    expect(r.stdout).toContain("ok    registry ghcr.io: logged in");
    expect(r.stdout).toContain(
      `$ docker buildx build --platform linux/amd64,linux/arm64 --tag ${api} --file apps/api-gateway/Dockerfile --push .`,
    );
    expect(r.stdout).toContain(`--tag ${user} --file apps/user-service/Dockerfile --push .`);
    expect(r.stdout).toContain(
      "--values bootstrap/argocd-values.yaml --values bootstrap/argocd-values-cluster.yaml --kube-context staging",
    );
    expect(r.stdout).toContain("object storage Secret monitoring/object-storage");
    expect(r.stdout).toContain(`profile=cluster imageRegistry=${REGISTRY}`);
    expect(r.stdout).not.toMatch(/\bkind\b/);
    // Every command of the plan runs on the chosen context.
    for (const command of r.stdout.split("\n").filter((l) => /^\s+\$ (kubectl|helm) /.test(l)))
      expect(command, command).toMatch(/--context staging|--kube-context staging/);
    expect(changingCalls(f.calls())).toEqual([]);
    expect(f.calls().some(([tool]) => tool === "kind")).toBe(false);
  });

  test.concurrent("a run pushes the images, installs Argo CD without NodePort, applies the cluster profile; a re-run changes nothing", async () => {
    const f = await existing();
    const r = await f.run("up.ts", FLAGS);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const [api, user] = await refs(f);
    expect(lines(changingCalls(f.calls()))).toEqual([
      `docker buildx build --platform linux/amd64,linux/arm64 --tag ${api} --file apps/api-gateway/Dockerfile --push .`,
      `docker buildx build --platform linux/amd64,linux/arm64 --tag ${user} --file apps/user-service/Dockerfile --push .`,
      "helm upgrade --install argocd argo-cd --repo https://argoproj.github.io/argo-helm --version 10.1.1 --namespace argocd --create-namespace --values bootstrap/argocd-values.yaml --values bootstrap/argocd-values-cluster.yaml --kube-context staging --wait --timeout 10m",
      "kubectl --context staging create namespace monitoring",
      "kubectl --context staging create -f -",
      "kubectl --context staging create -f -",
      "kubectl --context staging apply -f -", // the AppProjects
      "kubectl --context staging apply -f -", // the root Application
    ]);
    const state = f.state();
    expect(state.pushed?.[api as string]).toEqual(["linux/amd64", "linux/arm64"]);
    expect(state.secrets.sort()).toEqual(["monitoring/grafana-admin", "monitoring/object-storage"]);
    expect(dig(state.helmRelease?.values, ["server", "service", "type"])).toBe("ClusterIP");
    expect(dig(state.rootApp, ["spec", "source", "helm", "valuesObject"])).toMatchObject({
      profile: "cluster",
      imageRegistry: REGISTRY,
    });
    // The children's project follows the profile: it lets in the bundled SeaweedFS chart.
    expect(state.projects?.observability?.sourceRepos).toContain(
      "https://seaweedfs.github.io/seaweedfs/helm",
    );
    expect(state.projects?.default?.sourceRepos).toEqual([]);
    // The wait covers the cluster profile's children, the bundled object storage included.
    expect(r.stdout).toContain(
      `all ${CLUSTER_CHILD_APPS.length + 1} Applications are Synced and Healthy`,
    );
    expect(r.stdout).toContain("bun bootstrap/open.ts");
    expect(r.stdout).toContain("bun bootstrap/down.ts --context staging");
    // release.ts needs the context as well as the registry (it reads the nodes' platforms).
    expect(r.stdout).toContain(
      `bun bootstrap/release.ts <service> --context staging --registry ${REGISTRY} --push`,
    );

    // Every question and change went to the chosen context (tool version checks aside).
    for (const call of f.calls()) {
      const [tool, ...args] = call;
      if ((tool !== "kubectl" && tool !== "helm") || args[0] === "version") continue;
      expect(call.join(" ")).toMatch(/ --(kube-)?context staging( |$)/);
    }

    const before = f.calls().length;
    const again = await f.run("up.ts", FLAGS);
    expect(again.code).toBe(0);
    expect(changingCalls(f.calls().slice(before))).toEqual([]);
    expect(again.stdout).toContain("already in the registry");
  });

  test.concurrent("nodes of one architecture get a single-platform build", async () => {
    const f = await existing({ nodes: ["arm64", "arm64"] });
    const r = await f.run("up.ts", [...FLAGS, "--dry-run"]);
    expect(r.stdout).toContain("docker buildx build --platform linux/arm64 --tag");
    expect(r.stdout).toContain("ok    nodes: linux/arm64\n");
    expect(r.stdout).not.toContain("multi-platform");
  });

  test.concurrent("preflight reports every missing prerequisite with its fix and changes nothing", async () => {
    const f = await existing(
      {
        denied: ["customresourcedefinitions", "clusterroles"],
        storageClasses: [{ name: "manual", default: false }],
      },
      false,
    );
    const r = await f.run("up.ts", FLAGS);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      "FAIL  your user on staging may not create customresourcedefinitions, create clusterroles",
    );
    expect(r.stdout).toContain("fix: ask a cluster admin for cluster-admin");
    expect(r.stdout).toContain("FAIL  staging has no default StorageClass");
    expect(r.stdout).toContain("storageclass.kubernetes.io/is-default-class");
    expect(r.stdout).toContain("FAIL  Docker has no credentials for ghcr.io");
    expect(r.stdout).toContain("fix: docker login ghcr.io");
    expect(r.stderr).toBe(
      "error: preflight found 3 problem(s); nothing was changed\n" +
        `  fix: fix the items marked FAIL above, then run \`bun bootstrap/up.ts ${FLAGS.join(" ")}\` again\n`,
    );
    expect(changingCalls(f.calls())).toEqual([]);
  });

  test.concurrent("a context that does not answer is reported within seconds, with how to check it", async () => {
    const f = await existing({ unreachable: true });
    const r = await f.run("up.ts", FLAGS);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("FAIL  kube context staging does not answer (Unable to connect");
    expect(r.stdout).toContain("fix: check it with `kubectl --context staging get nodes`");
    expect(r.ms).toBeLessThan(20_000);
    const dry = await f.run("up.ts", [...FLAGS, "--dry-run"]);
    expect(dry.stdout).toContain(
      "run   Argo CD (chart argo-cd-10.1.1): state unknown (the cluster did not answer)",
    );
  });

  test.concurrent("a local registry needs no login, and a refused push says how to log in", async () => {
    const f = await existing({}, false);
    const local = await f.run("up.ts", [
      "--context",
      CTX,
      "--registry",
      "localhost:5001",
      "--dry-run",
    ]);
    expect(local.stdout).toContain("ok    registry localhost:5001: local, no login needed");
    expect(local.stdout).toContain("--tag localhost:5001/api-gateway:");

    f.setState({ refusingRegistries: ["localhost:5001"] });
    const r = await f.run("up.ts", [
      "--context",
      CTX,
      "--registry",
      "localhost:5001",
      "--timeout",
      "3s",
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("unauthorized: authentication required");
    expect(r.stderr).toContain("docker login localhost:5001");
  });

  test.concurrent("flags: --context needs --registry, and kind-only flags are refused", async () => {
    const f = await existing();
    for (const [args, message] of [
      [["--context", CTX], "--context and --registry go together"],
      [["--registry", REGISTRY], "--context and --registry go together"],
      [["--context", CTX, "--registry", "https://ghcr.io/acme"], "is not an image prefix"],
      [["--context", CTX, "--registry", REGISTRY, "--local-git"], "--local-git is for kind"],
    ] as const) {
      const r = await f.run("up.ts", [...args]);
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stderr).toStartWith(`error: `);
      expect(r.stderr).toContain(message);
      expect(r.stderr).toMatch(/\n\s*fix: /);
    }
    expect(f.calls()).toEqual([]);
  });
});
