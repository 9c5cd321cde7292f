// The existing-cluster side of open.ts, down.ts and release.ts, run as processes against the
// stand-in kubectl/helm/docker of a cluster that up.ts --context deployed to.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { contentTag } from "./lib/image-tag.ts";
import { appProjects } from "./lib/manifests.ts";
import { anExistingCluster, type FakeState } from "./testing/fake/state.ts";
import { changingCalls, type Fixture, makeFixture, removedAfterAll } from "./testing/fixture.ts";

setDefaultTimeout(60_000);

const CTX = "staging";

/** The AppProjects up.ts --context applied, as the fake keeps them (spec by name). */
const projects = Object.fromEntries(
  appProjects("https://github.com/acme/sandbox.git", true).map((p) => [
    (p.metadata as { name: string }).name,
    p.spec as Record<string, unknown>,
  ]),
);

/** A cluster up.ts --context left behind: Argo CD, the Secrets, the AppProjects, the root Application. */
const deployed = removedAfterAll(
  (state: Partial<FakeState> = {}): Promise<Fixture> =>
    makeFixture({
      tools: ["docker", "kubectl", "helm"],
      state: {
        existing: { [CTX]: anExistingCluster() },
        helmRelease: { chart: "argo-cd-10.1.1", status: "deployed", values: {} },
        namespaces: ["default", "kube-system", "team-x", "argocd", "monitoring", "apps"],
        secrets: ["monitoring/grafana-admin", "monitoring/object-storage"],
        projects,
        rootApp: { spec: { source: { helm: { valuesObject: { profile: "cluster" } } } } },
        polls: 10,
        ...state,
      },
    }),
);

/** Starts open.ts and waits until its output matches `until` (or it exits). */
async function openUntil(f: Fixture, args: string[], until: RegExp) {
  const p = Bun.spawn([process.execPath, join(f.repo, "bootstrap", "open.ts"), ...args], {
    cwd: f.repo,
    env: f.env,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let stdout = "";
  void (async () => {
    for await (const chunk of p.stdout) stdout += new TextDecoder().decode(chunk);
  })();
  const deadline = Date.now() + 20_000;
  while (!until.test(stdout) && p.exitCode === null && Date.now() < deadline) await Bun.sleep(20);
  return { p, stdout: () => stdout };
}

describe("open.ts", () => {
  test.concurrent("port-forwards Grafana, prints the URL and how to read the password, stops on Ctrl-C", async () => {
    const f = await deployed();
    const run = await openUntil(f, ["grafana", "--context", CTX], /Ctrl-C/);
    expect(run.stdout()).toContain("http://localhost:3000");
    expect(run.stdout()).toContain(
      `kubectl --context ${CTX} -n monitoring get secret grafana-admin -o jsonpath='{.data.admin-password}' | base64 -d`,
    );
    expect(f.calls().map((c) => c.join(" "))).toContain(
      `kubectl --context ${CTX} port-forward svc/kube-prometheus-stack-grafana 3000:80 --namespace monitoring`,
    );
    run.p.kill("SIGINT");
    expect(await run.p.exited).toBe(0);
    await Bun.sleep(50); // the last output drains after the exit
    expect(run.stdout()).toContain("stopped the port-forwards");
  });

  test.concurrent("several at once on the laptop ports verify.ts reads; the current context by default", async () => {
    const f = await deployed({ currentContext: CTX });
    const run = await openUntil(f, ["gateway", "prometheus", "loki", "tempo", "argocd"], /Ctrl-C/);
    for (const url of [8000, 9090, 3100, 3200, 8080])
      expect(run.stdout()).toContain(`http://localhost:${url}`);
    expect(run.stdout()).toContain("argocd-initial-admin-secret");
    run.p.kill("SIGTERM");
    expect(await run.p.exited).toBe(0);
  });

  test.concurrent("errors name the cause and the fix: unknown UI, stack absent, port taken", async () => {
    const f = await deployed({ rootApp: undefined, busyPorts: [9090] });
    const flag = await f.run("open.ts", ["grafana", "--bogus"]);
    expect(flag.code).toBe(1);
    expect(flag.stderr).toBe(
      "error: unknown flag --bogus\n  fix: bun bootstrap/open.ts --help lists the flags\n",
    );
    const unknown = await f.run("open.ts", ["kibana", "--context", CTX]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("error: unknown UI kibana");
    expect(unknown.stderr).toContain(
      "fix: name one or more of: argocd, grafana, prometheus, gateway",
    );
    const absent = await f.run("open.ts", ["grafana", "--context", CTX]);
    expect(absent.code).toBe(1);
    expect(absent.stderr).toContain('services "kube-prometheus-stack-grafana" not found');
    expect(absent.stderr).toContain("bun bootstrap/status.ts");
    f.setState({ rootApp: { spec: {} } });
    const taken = await f.run("open.ts", ["prometheus", "--context", CTX]);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain("address already in use");
    expect(taken.stderr).toContain("port 9090 is taken on this machine");
  });
});

describe("status.ts --context", () => {
  test.concurrent("reads the Applications of the existing cluster, the cluster profile's included", async () => {
    const f = await deployed();
    const r = await f.run("status.ts", ["--context", CTX]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("seaweedfs");
    expect(
      f
        .calls()
        .filter(([tool]) => tool === "kubectl")
        .every((c) => c.includes(CTX)),
    ).toBe(true);
  });
});

describe("status.ts --context", () => {
  test.concurrent("a context that does not answer: kubectl's own message, and how to check that context", async () => {
    const f = await deployed({ existing: { [CTX]: anExistingCluster({ unreachable: true }) } });
    const r = await f.run("status.ts", ["--context", CTX]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "error: cannot read the Applications: Unable to connect to the server: dial tcp: lookup api.staging.example.test on 127.0.0.53:53: no such host\n" +
        `  fix: check the context: kubectl --context ${CTX} get nodes (kubectl config get-contexts lists them)\n`,
    );
  });
});

describe("down.ts --context", () => {
  test.concurrent("a context that does not answer: kubectl's own message, nothing deleted", async () => {
    const f = await deployed({ existing: { [CTX]: anExistingCluster({ unreachable: true }) } });
    const r = await f.run("down.ts", ["--context", CTX, "--yes"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith(
      `error: cannot reach ${CTX} (Unable to connect to the server: dial tcp: lookup`,
    );
    expect(r.stderr.trim().split("\n")).toHaveLength(2);
    expect(changingCalls(f.calls())).toEqual([]);
  });

  test.concurrent("removes the root Application, Argo CD and the stack's namespaces; never the cluster", async () => {
    const f = await deployed();
    const refused = await f.run("down.ts", ["--context", CTX]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("cannot ask (no terminal)");

    const r = await f.run("down.ts", ["--context", CTX, "--yes"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(changingCalls(f.calls()).map((c) => c.join(" "))).toEqual([
      `kubectl --context ${CTX} delete applications.argoproj.io root --namespace argocd --ignore-not-found --wait --timeout 10m`,
      `helm uninstall argocd --namespace argocd --kube-context ${CTX} --wait`,
      `kubectl --context ${CTX} delete namespace apps monitoring argocd --ignore-not-found --wait --timeout 5m`,
    ]);
    expect(f.calls().some(([tool]) => tool === "kind")).toBe(false);
    const state = f.state();
    expect(state.namespaces).toEqual(["default", "kube-system", "team-x"]);
    expect(state.secrets).toEqual([]);
    expect(state.helmRelease).toBeUndefined();
    // The AppProjects lived in argocd and went with it: no step of their own.
    expect(state.projects).toBeUndefined();
    expect(Object.keys(state.existing ?? {})).toEqual([CTX]);
    expect(r.stdout).toContain("CRDs");

    const again = await f.run("down.ts", ["--context", CTX, "--yes"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("nothing to do");
  });
});

describe("release.ts --context --registry", () => {
  test.concurrent("builds for the nodes' platforms, pushes to the registry, no kind", async () => {
    const f = await deployed();
    writeFileSync(join(f.repo, "apps/user-service/index.ts"), 'console.log("v2");\n');
    await f.git("commit", "-qam", "user-service v2");
    const tag = await contentTag(f.repo, "user-service");
    const ref = `ghcr.io/acme/user-service:${tag}`;

    const r = await f.run("release.ts", [
      "user-service",
      "--context",
      CTX,
      "--registry",
      "ghcr.io/acme",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(changingCalls(f.calls()).map((c) => c.join(" "))).toEqual([
      `docker buildx build --platform linux/amd64,linux/arm64 --tag ${ref} --file apps/user-service/Dockerfile --push .`,
    ]);
    expect(f.state().pushed?.[ref]).toEqual(["linux/amd64", "linux/arm64"]);
    expect(f.calls().some(([tool]) => tool === "kind")).toBe(false);
    expect(await Bun.file(join(f.repo, "gitops/services/user-service.yaml")).text()).toContain(
      `tag: "${tag}"`,
    );
  });

  test.concurrent("an uncommitted edit: the fix keeps --context and --registry", async () => {
    const f = await deployed();
    writeFileSync(join(f.repo, "apps/user-service/index.ts"), 'console.log("v2");\n');
    const r = await f.run("release.ts", [
      "user-service",
      "--context",
      CTX,
      "--registry",
      "ghcr.io/acme",
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `fix: bun bootstrap/release.ts user-service --context ${CTX} --registry ghcr.io/acme -m "<what you changed>"`,
    );
  });

  test.concurrent("--registry without --context is refused with the fix, before anything is committed", async () => {
    const f = await deployed();
    writeFileSync(join(f.repo, "apps/user-service/index.ts"), 'console.log("v2");\n');
    const head = await f.git("rev-parse", "HEAD");
    const r = await f.run("release.ts", [
      "user-service",
      "-m",
      "user-service v2",
      "--registry",
      "ghcr.io/acme",
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error: --context and --registry go together");
    expect(r.stderr).toContain("fix: pass both");
    expect(r.stdout).toBe("");
    expect(await f.git("rev-parse", "HEAD")).toBe(head);
  });
});
