// The real up.ts, run as a process against stand-in docker/kind/kubectl/helm (bootstrap/testing)
// and real git, in a throw-away clone whose "GitHub" is a local bare repository.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { readHelpers } from "./lib/git-credential.ts";
import { contentTag } from "./lib/image-tag.ts";
import { CHILD_APPS } from "./testing/fake/argocd.ts";
import { changingCalls, type Fixture, makeFixture } from "./testing/fixture.ts";

// Each test runs bootstrap scripts as processes (about 0.2–2 s each here, more on a busy machine).
setDefaultTimeout(60_000);

const WITH_VERIFY = ["--timeout", "3s", "--poll-interval", "50ms"];
const FAST = [...WITH_VERIFY, "--skip-verify"];
const fixtures: Fixture[] = [];
async function fixture(...args: Parameters<typeof makeFixture>) {
  const f = await makeFixture(...args);
  fixtures.push(f);
  return f;
}
afterAll(() => {
  for (const f of fixtures.splice(0)) f.cleanup();
});

const lines = (calls: string[][]) => calls.map((c) => c.join(" "));

interface RootSource {
  repoURL: string;
  targetRevision: string;
  helm: unknown;
}
/** The source of the root Application the stand-in cluster holds. */
function rootSource(f: Fixture): RootSource {
  const spec = f.state().rootApp?.spec as { source: RootSource } | undefined;
  if (!spec) throw new Error("no root Application was applied");
  return spec.source;
}

describe("up.ts against stand-in tools", () => {
  test.concurrent("--cluster-name: the closing hints reach that cluster too", async () => {
    const f = await fixture();
    const r = await f.run("up.ts", [...FAST, "--cluster-name", "sandbox-b"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(f.state().clusters).toEqual(["sandbox-b"]);
    expect(r.stdout).toContain(
      'bun bootstrap/release.ts <service> -m "<what you changed>" --cluster-name sandbox-b --push',
    );
    expect(r.stdout).toContain("bun bootstrap/status.ts --cluster-name sandbox-b --watch");
    expect(r.stdout).toContain("bun bootstrap/down.ts --cluster-name sandbox-b");
  });

  test.concurrent("first run: every step in order, root Application from the ssh remote as https; a re-run changes nothing", async () => {
    const f = await fixture();
    // A stand-in verify.ts that says when it ran (the real one waits 30-60 s for metrics).
    writeFileSync(join(f.repo, "bootstrap", "verify.ts"), 'console.log("verify: ran");\n');
    const r = await f.run("up.ts", WITH_VERIFY);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("verify: ran");
    const api = `sandbox/api-gateway:${await contentTag(f.repo, "api-gateway")}`;
    const user = `sandbox/user-service:${await contentTag(f.repo, "user-service")}`;
    expect(lines(changingCalls(f.calls()))).toEqual([
      "kind create cluster --name observability-sandbox --config kind-config.yaml --wait 120s",
      `docker build --tag ${api} --file apps/api-gateway/Dockerfile .`,
      `kind load docker-image ${api} --name observability-sandbox`,
      `docker build --tag ${user} --file apps/user-service/Dockerfile .`,
      `kind load docker-image ${user} --name observability-sandbox`,
      "helm upgrade --install argocd argo-cd --repo https://argoproj.github.io/argo-helm --version 10.1.1 --namespace argocd --create-namespace --values bootstrap/argocd-values.yaml --kube-context kind-observability-sandbox --wait --timeout 10m",
      "kubectl --context kind-observability-sandbox create namespace monitoring",
      "kubectl --context kind-observability-sandbox create -f -",
      "kubectl --context kind-observability-sandbox apply -f -", // the AppProjects
      "kubectl --context kind-observability-sandbox apply -f -", // the root Application
    ]);
    const state = f.state();
    expect(state.clusters).toEqual(["observability-sandbox"]);
    // argocd-server's open `default` is locked; the root is in a project of its own.
    expect(state.projects?.default).toMatchObject({
      sourceRepos: [],
      destinations: [],
      clusterResourceWhitelist: [],
    });
    expect(state.projects?.["sandbox-root"]?.sourceRepos).toEqual([
      "https://github.com/user/sandbox.git",
    ]);
    expect(state.projects?.observability?.sourceRepos).toContain(
      "https://github.com/user/sandbox.git",
    );
    expect(state.rootApp).toMatchObject({ spec: { project: "sandbox-root" } });
    expect(state.helmRelease?.chart).toBe("argo-cd-10.1.1");
    expect(state.secrets).toEqual(["monitoring/grafana-admin"]);
    const source = rootSource(f);
    expect(source.repoURL).toBe("https://github.com/user/sandbox.git");
    expect(source.targetRevision).toBe("main");
    expect(source.helm).toEqual({
      valuesObject: { repoURL: "https://github.com/user/sandbox.git", revision: "main" },
    });
    // The tag in gitops/services is the tag that was built and loaded.
    const tag = (await Bun.file(join(f.repo, "gitops/services/api-gateway.yaml")).text()).match(
      /tag: "(\w+)"/,
    )?.[1];
    expect(state.loaded).toContain(`docker.io/sandbox/api-gateway:${tag}`);
    // Progress: long steps show their tool's output as it comes, indented; then the way in.
    expect(r.stdout).toContain(`    | #12 naming to docker.io/${api} done`);
    expect(r.stdout).toContain('    | Creating cluster "observability-sandbox" ...');
    expect(r.stdout).toContain("root: Synced, Healthy");
    for (const url of [
      "localhost:8080",
      "localhost:3000",
      "localhost:9090",
      "localhost:8000",
      "bun bootstrap/down.ts",
    ]) {
      expect(r.stdout).toContain(url);
    }
    expect(r.stdout).toContain("argocd-initial-admin-secret");
    expect(r.stdout.match(/curl /g)).toHaveLength(2);

    // Re-run on the healthy stack: changes nothing, says skip for every step (verify too),
    // finishes fast.
    const before = f.calls().length;
    const again = await f.run("up.ts", WITH_VERIFY);
    expect(again.code).toBe(0);
    expect(changingCalls(f.calls().slice(before))).toEqual([]);
    expect(again.stdout.match(/: skip \(/g)?.length).toBe(8);
    expect(again.stdout).toContain("end-to-end verification: skip (nothing changed");
    expect(again.stdout).not.toContain("verify: ran");
    expect(again.stdout).toContain(
      "Grafana admin Secret monitoring/grafana-admin: skip (exists; never overwritten)",
    );
    expect(again.ms).toBeLessThan(5000);
  });

  test.concurrent("a widened AppProject is put back on the next run, and nothing else changes", async () => {
    const f = await fixture();
    expect((await f.run("up.ts", FAST)).code).toBe(0);
    const locked = f.state().projects?.default;
    // Someone opened `default` again (an Argo CD admin, or argocd-server recreating it).
    f.setState({
      projects: {
        ...f.state().projects,
        default: { ...locked, sourceRepos: ["*"], destinations: [{ server: "*", namespace: "*" }] },
      },
    });
    const before = f.calls().length;
    const r = await f.run("up.ts", FAST);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      "AppProjects sandbox-root and observability, default locked: absent or changed: apply",
    );
    expect(lines(changingCalls(f.calls().slice(before)))).toEqual([
      "kubectl --context kind-observability-sandbox apply -f -",
    ]);
    expect(f.state().projects?.default).toEqual(locked);
  });

  test.concurrent("after a Docker restart (node stopped) and a lost kubeconfig: start, export, nothing else", async () => {
    const f = await fixture();
    expect((await f.run("up.ts", FAST)).code).toBe(0);
    f.setState({
      stoppedNodes: ["observability-sandbox-control-plane"],
      lostContexts: ["observability-sandbox"],
    });
    const before = f.calls().length;
    const r = await f.run("up.ts", FAST);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const calls = lines(f.calls().slice(before));
    expect(calls).toContain("docker start observability-sandbox-control-plane");
    expect(calls).toContain("kind export kubeconfig --name observability-sandbox");
    expect(changingCalls(f.calls().slice(before))).toEqual([]);
    expect(r.stdout).toContain("Argo CD (chart argo-cd-10.1.1): skip (installed");
  });

  test.concurrent("a missing tool and a stopped Docker: every problem at once with its fix, nothing changed", async () => {
    const f = await fixture({
      tools: ["docker", "kubectl", "kind"],
      state: {
        dockerRunning: false,
        versions: { docker: "28.2.2", kind: "0.32.0", kubectl: "1.32.4", helm: "4.1.4" },
      },
    });
    const r = await f.run("up.ts", FAST);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("FAIL  helm is not installed (not on PATH)");
    expect(r.stdout).toContain("brew install helm");
    expect(r.stdout).toContain(
      "FAIL  the Docker daemon is not reachable (Cannot connect to the Docker daemon",
    );
    expect(r.stdout).toContain("open -a Docker");
    expect(r.stdout).toContain("FAIL  kubectl 1.32.4 is too old (need 1.35.0 or newer)");
    expect(r.stderr).toContain("preflight found 3 problem(s); nothing was changed");
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(changingCalls(f.calls())).toEqual([]);
    expect(await f.git("remote")).toBe("origin");
  });

  test.concurrent("an Application that stays Degraded: the timeout names it and its failing resource", async () => {
    const f = await fixture({ state: { degradedApp: "user-service" } });
    // Polled every 200 ms: the second is spent waiting, not running stand-in kubectl.
    const r = await f.run("up.ts", [
      "--timeout",
      "1s",
      "--poll-interval",
      "200ms",
      "--skip-verify",
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("timed out after 1s; not Synced and Healthy:");
    expect(r.stderr).toContain("user-service (sync Synced, health Degraded)");
    expect(r.stderr).toContain(
      'Deployment apps/user-service Synced/Degraded: Deployment "user-service" exceeded its progress deadline',
    );
    expect(r.stderr).toContain("fix: ");
    expect(r.stderr).not.toContain("loki (");
  });

  test.concurrent("an https remote is used as it is; --repo/--revision and env override it", async () => {
    const f = await fixture({ origin: "https://github.com/user/sandbox.git" });
    expect((await f.run("up.ts", FAST)).code).toBe(0);
    const source = () => rootSource(f);
    expect(source().repoURL).toBe("https://github.com/user/sandbox.git");

    await f.git("push", "-q", "origin", "main:demo");
    const r = await f.run("up.ts", [...FAST], { BOOTSTRAP_REVISION: "demo" });
    expect(r.code).toBe(0);
    expect(source().targetRevision).toBe("demo");
    expect(r.stdout).toContain("differs from the wanted source: apply");
  });

  test.concurrent("as CI runs it: a detached checkout, --repo and --revision <commit SHA> or a tag", async () => {
    const f = await fixture();
    const sha = await f.git("rev-parse", "HEAD");
    await f.git("checkout", "-q", "--detach");
    const args = [...FAST, "--repo", "https://github.com/user/sandbox.git", "--revision", sha];
    const r = await f.run("up.ts", args);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(rootSource(f).targetRevision).toBe(sha);
    await f.git("tag", "v1.0.0");
    await f.git("push", "-q", "origin", "v1.0.0");
    const tagged = await f.run("up.ts", [
      ...FAST,
      "--revision",
      "v1.0.0",
      "--repo",
      "https://github.com/user/sandbox.git",
    ]);
    expect(tagged.code).toBe(0);
    expect(rootSource(f).targetRevision).toBe("v1.0.0");
  });

  test.concurrent("on a terminal the wait is a table redrawn in place; in a log, one line per change", async () => {
    const f = await fixture();
    const cmd = [process.execPath, join(f.repo, "bootstrap", "up.ts"), ...FAST];
    // `script` gives the process a pseudo-terminal (util-linux and BSD spell it differently).
    const argv =
      process.platform === "darwin"
        ? ["script", "-q", "/dev/null", ...cmd]
        : ["script", "-qec", cmd.join(" "), "/dev/null"];
    const p = Bun.spawn(argv, {
      cwd: f.repo,
      env: { ...f.env, PATH: `${f.env.PATH}:/usr/bin:/bin`, COLUMNS: "100", TERM: "xterm" },
      stdin: "ignore",
      stdout: "pipe",
    });
    const out = await new Response(p.stdout).text();
    expect(await p.exited).toBe(0);
    const wait = out.slice(out.indexOf("waiting up to"));
    expect(wait).toMatch(/APPLICATION\s+SYNC\s+HEALTH\s+WAITING ON/);
    expect(wait).toContain("kube-prometheus-stack  OutOfSync  Missing");
    // Cursor up over the previous table (header, root and its children, status line), clear.
    expect(wait).toContain(`\x1b[${CHILD_APPS.length + 3}A\x1b[J`);
    expect(wait).toContain(`all ${CHILD_APPS.length + 1} Applications Synced and Healthy`);

    const plain = await f.run("up.ts", FAST); // stdout is a pipe here
    expect(plain.stdout).not.toContain("\x1b[");
  });

  test.concurrent("a dirty checkout is deployed from its commits, with a note saying so", async () => {
    const f = await fixture();
    writeFileSync(join(f.repo, "notes.txt"), "scratch\n");
    const r = await f.run("up.ts", FAST);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("note  uncommitted changes (notes.txt) are not deployed");
  });

  test.concurrent("changed service code without a release: preflight names the release command", async () => {
    const f = await fixture();
    writeFileSync(join(f.repo, "apps/user-service/index.ts"), 'console.log("v2");\n');
    const dirty = await f.run("up.ts", FAST);
    expect(dirty.code).toBe(1);
    expect(dirty.stdout).toContain("FAIL  gitops/services/user-service.yaml image.tag is");
    expect(dirty.stdout).toContain("(it has uncommitted changes)");
    expect(dirty.stdout).toContain(
      'fix: bun bootstrap/release.ts user-service -m "<what you changed>"',
    );
    await f.git("commit", "-qam", "user-service v2");
    const committed = await f.run("up.ts", FAST);
    expect(committed.stdout).toContain("fix: bun bootstrap/release.ts user-service ");
    expect(changingCalls(f.calls())).toEqual([]);
  });

  test.concurrent("a detached checkout stops in preflight and names the fix", async () => {
    const f = await fixture();
    await f.git("checkout", "-q", "--detach");
    const r = await f.run("up.ts", FAST);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("HEAD is detached");
    expect(r.stdout).toContain("git switch main");
    expect(changingCalls(f.calls())).toEqual([]);
  });

  test.concurrent("--dry-run prints the exact commands and changes nothing, even with tools missing", async () => {
    const f = await fixture({ tools: ["docker"] });
    const r = await f.run("up.ts", ["--dry-run"]);
    // A real run would stop in preflight: the dry run says so and fails the same way.
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("FAIL  kind is not installed");
    expect(r.stdout).toContain(
      "$ kind create cluster --name observability-sandbox --config kind-config.yaml",
    );
    expect(r.stdout).toContain(
      "$ helm upgrade --install argocd argo-cd --repo https://argoproj.github.io/argo-helm --version 10.1.1",
    );
    expect(r.stderr).toStartWith(
      "error: dry run: preflight found 3 problem(s); a real run would stop before any step",
    );
    expect(changingCalls(f.calls())).toEqual([]);
  });

  test.concurrent("--dry-run with a revision the remote lacks: one FAIL, no ok for it, the plan once it is pushed", async () => {
    const f = await fixture();
    const r = await f.run("up.ts", ["--revision", "feat/$x", "--dry-run"]);
    expect(r.code).toBe(1);
    const out = r.stdout.split("\n");
    expect(out.filter((l) => l.includes("feat/$x") || /Argo CD will read|^plan/.test(l))).toEqual([
      "  FAIL  origin has no branch or tag feat/$x yet",
      "        fix: push it: git push -u origin 'feat/$x'",
      "plan, once the items marked FAIL are fixed",
      "  run   root Application → https://github.com/user/sandbox.git @ feat/$x: absent: apply it",
      "          $ kubectl --context kind-observability-sandbox apply -f -   # gitops/root.yaml with repoURL=https://github.com/user/sandbox.git revision=feat/$x",
    ]);
    expect(changingCalls(f.calls())).toEqual([]);
  });

  test.concurrent("a revision git refuses as a name: one error before preflight, nothing else", async () => {
    const f = await fixture();
    for (const [args, env] of [
      [["--revision", "bad rev!"], {}],
      [[], { BOOTSTRAP_REVISION: "bad rev!" }],
    ] as [string[], Record<string, string>][]) {
      const r = await f.run("up.ts", args, env);
      expect({ code: r.code, stdout: r.stdout, stderr: r.stderr.split("\n") }).toEqual({
        code: 1,
        stdout: "",
        stderr: [
          'error: revision "bad rev!" is not a branch, tag or commit name (git check-ref-format refuses it)',
          "  fix: pass an existing branch or tag, e.g. --revision main, or a full 40-character commit SHA",
          "",
        ],
      });
    }
    expect(f.calls()).toEqual([]);
  });

  test.concurrent("bootstrap/verify.ts runs last when present; its failure fails up.ts", async () => {
    const f = await fixture();
    const verify = join(f.repo, "bootstrap", "verify.ts");
    writeFileSync(verify, 'console.log("verify: all four pillars ok");\n');
    const ok = await f.run("up.ts", WITH_VERIFY);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("verify: all four pillars ok");
    writeFileSync(verify, 'console.log("verify: no traces");\nprocess.exit(3);\n');
    f.setState({ secrets: [] }); // something to do again, so verify runs again
    const bad = await f.run("up.ts", WITH_VERIFY);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("verification failed (bootstrap/verify.ts exited 3)");
    expect(bad.stderr).toContain("--skip-verify");
    expect((await f.run("up.ts", FAST)).stdout).not.toContain("verify:");
  });

  test.concurrent("bad flags: a message and the fix, no stack trace", async () => {
    const f = await fixture();
    const cases: [string[], Record<string, string>, string][] = [
      [["--timeout", "soon"], {}, '--timeout "soon" is not a duration'],
      [["--timeout", "-5m"], {}, "--timeout must be at least 1s, got -5m"],
      [["--timeout", "0"], {}, "--timeout must be at least 1s, got 0"],
      [["--poll-interval", "0s"], {}, "--poll-interval must be at least 10ms, got 0s"],
      [["--bogus"], {}, "unknown flag --bogus"],
      [["--dry-run=yes"], {}, "--dry-run takes no value"],
      [["--repo"], {}, "--repo needs a value"],
      [[], { BOOTSTRAP_TIMEOUT: "0" }, "BOOTSTRAP_TIMEOUT must be at least 1s, got 0"],
      [[], { BOOTSTRAP_LOCAL_GIT: "yes" }, 'BOOTSTRAP_LOCAL_GIT must be 1 or 0, got "yes"'],
    ];
    for (const [args, env, problem] of cases) {
      const r = await f.run("up.ts", args, env);
      const [error, fix, ...rest] = r.stderr.split("\n");
      expect({ args, env, code: r.code, error, rest }).toEqual({
        args,
        env,
        code: 1,
        error: `error: ${problem}`,
        rest: [""],
      });
      expect(fix).toStartWith("  fix: ");
    }
    expect((await f.run("up.ts", ["--help"])).stdout).toContain("--cluster-name <name>");
  });
});

describe("delivery through the in-cluster git server", () => {
  test.concurrent("a remote Argo CD cannot read: git server, remote `cluster` added once, root points in-cluster", async () => {
    const f = await fixture({
      origin: "https://github.com/someone-else/private.git",
      publishOrigin: false,
      // The server's SSH port opens a moment after its HTTP port: the mint is tried again.
      state: { gitServerSshNotReady: 1 },
    });
    const r = await f.run("up.ts", FAST);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      "in-cluster git server: Argo CD cannot read https://github.com/someone-else/private.git",
    );
    expect(f.state().deployments["argocd/git-server"]?.image).toBe(
      "docker.io/charmcli/soft-serve:v0.12.2",
    );
    const url = "http://localhost:8300/observability-sandbox.git";
    expect(await f.git("config", "--get", "remote.cluster.url")).toBe(url);
    // The push token: minted in the git server's pod, stored in a 0600 file under your state
    // directory, handed to git only for the remote's URL, and shown nowhere.
    const [token] = f.state().gitServerTokens ?? [];
    expect(
      f.calls().filter(([tool, ...args]) => tool === "kubectl" && args.includes("exec")),
    ).toHaveLength(2);
    const tokenFile = join(
      f.dir,
      ".local/state/observability-sandbox/observability-sandbox/git-credentials",
    );
    expect(readFileSync(tokenFile, "utf8")).toBe(`http://admin:${token}@localhost:8300\n`);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(await readHelpers(f.repo, url)).toEqual(["", `store --file '${tokenFile}'`]);
    expect(r.stdout).toContain(`saved to ${tokenFile} (mode 0600)`);
    expect(r.stdout).toContain(
      `The git server's push token (git uses it for git push cluster): ${tokenFile}`,
    );
    const secretFree = () => [
      r.stdout,
      r.stderr,
      readFileSync(f.logPath, "utf8"),
      readFileSync(join(f.repo, ".git/config"), "utf8"),
    ];
    for (const text of secretFree()) expect(text).not.toContain(token as string);
    // The branch reached the server.
    expect(await f.git("ls-remote", "cluster", "refs/heads/main")).toStartWith(
      await f.git("rev-parse", "HEAD"),
    );
    const source = rootSource(f);
    expect(source.repoURL).toBe("http://git-server.argocd.svc:23232/observability-sandbox.git");
    expect(source.helm).toEqual({
      valuesObject: {
        repoURL: "http://git-server.argocd.svc:23232/observability-sandbox.git",
        revision: "main",
      },
    });

    // Re-run: nothing changes, the remote is not added twice, nothing is pushed.
    const before = f.calls().length;
    const again = await f.run("up.ts", FAST);
    expect(again.code).toBe(0);
    expect(changingCalls(f.calls().slice(before))).toEqual([]);
    expect((await f.git("remote")).split("\n")).toEqual(["cluster", "origin"]);
    expect(again.stdout).toContain(
      "git remote cluster → http://localhost:8300/observability-sandbox.git: skip (already added, with its credential helper)",
    );
    // The token is kept: no second one is minted.
    expect(again.stdout).toContain(`push token for cluster (${tokenFile}): skip (stored, kept)`);
    expect(f.state().gitServerTokens).toEqual([token as string]);
    expect(again.stdout).toContain("push main to cluster: skip (cluster/main is at HEAD)");

    // A new commit is pushed on the next run.
    writeFileSync(join(f.repo, "change.txt"), "x\n");
    await f.git("add", "change.txt");
    await f.git("commit", "-q", "-m", "change");
    const third = await f.run("up.ts", FAST);
    expect(third.stdout).toContain("$ git push cluster HEAD:refs/heads/main");
    expect(await f.git("ls-remote", "cluster", "refs/heads/main")).toStartWith(
      await f.git("rev-parse", "HEAD"),
    );

    // A lost token file is renewed, and the remote keeps working.
    rmSync(tokenFile);
    const renewed = await f.run("up.ts", FAST);
    expect(renewed.code).toBe(0);
    expect(renewed.stdout).toContain("none stored: mint one in the git server");
    const [, second] = f.state().gitServerTokens ?? [];
    expect(readFileSync(tokenFile, "utf8")).toBe(`http://admin:${second}@localhost:8300\n`);
    expect(renewed.stdout).not.toContain(second as string);

    // down.ts removes the remote it added, its credential helper and the token (and deletes
    // the cluster).
    const down = await f.run("down.ts", ["--yes"]);
    expect(down.code).toBe(0);
    expect(await f.git("remote")).toBe("origin");
    expect(await f.git("config", "--local", "--list")).not.toContain("credential.");
    expect(existsSync(tokenFile)).toBe(false);
    expect(f.state().clusters).toEqual([]);
    for (const text of [...secretFree(), down.stdout]) expect(text).not.toContain(second as string);
  });

  test.concurrent("a git server that never mints a token: one error and its fix, nothing pushed", async () => {
    const f = await fixture({ state: { gitServerSshNotReady: 99 } });
    const r = await f.run("up.ts", [...FAST, "--local-git"]);
    expect(r.code).toBe(1);
    expect(r.stderr.split("\n")).toEqual([
      "error: could not mint the git server's push token (exit 255: command terminated with exit code 255)",
      "  fix: check the git server: kubectl -n argocd logs deploy/git-server --all-containers; then run up.ts again",
      "",
    ]);
    expect(
      f.calls().filter(([tool, ...args]) => tool === "kubectl" && args.includes("exec")),
    ).toHaveLength(5);
    // up.ts stopped there: no remote, nothing on the server.
    expect(await f.git("remote")).toBe("origin");
    const served = join(f.gitServer, "observability-sandbox.git");
    const refs = Bun.spawnSync(["git", "--git-dir", served, "for-each-ref"]);
    expect(refs.exitCode).toBe(0);
    expect(refs.stdout.toString()).toBe("");
  });

  test.concurrent("a readable, pushable remote is used by default; --local-git switches to the git server", async () => {
    const f = await fixture();
    expect((await f.run("up.ts", FAST)).code).toBe(0);
    expect(await f.git("remote")).toBe("origin");
    const r = await f.run("up.ts", [...FAST, "--local-git"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("(in-cluster git server: --local-git)");
    const source = rootSource(f);
    expect(source.repoURL).toBe("http://git-server.argocd.svc:23232/observability-sandbox.git");
    expect((await f.git("remote")).split("\n")).toEqual(["cluster", "origin"]);
  });
});

describe("up.ts on this machine's real tools", () => {
  test.concurrent("without a Docker daemon it fails in preflight within seconds, naming what is missing", async () => {
    // Only real tools on PATH; DOCKER_HOST points at nothing, so even a machine with Docker
    // behaves like these (no daemon), and the test can never create a real cluster.
    const dir = mkdtempSync(join(tmpdir(), "bootstrap-real-"));
    try {
      const bin = join(dir, "bin");
      mkdirSync(bin);
      for (const tool of ["docker", "kind", "kubectl", "helm", "git"]) {
        const real = Bun.which(tool);
        if (real) symlinkSync(real, join(bin, tool));
      }
      const root = resolve(import.meta.dir, "..");
      const status = (await Bun.$`git status --porcelain`.cwd(root).quiet().text()).trim();
      const started = performance.now();
      const p = Bun.spawn([process.execPath, join(import.meta.dir, "up.ts"), "--skip-verify"], {
        cwd: root,
        env: { PATH: bin, HOME: dir, DOCKER_HOST: `unix://${dir}/no-docker.sock` },
        stdout: "pipe",
        stderr: "pipe",
      });
      const [stdout, stderr, code] = await Promise.all([
        new Response(p.stdout).text(),
        new Response(p.stderr).text(),
        p.exited,
      ]);
      const ms = performance.now() - started;
      expect(code).toBe(1);
      expect(ms).toBeLessThan(10_000);
      expect(stdout).toMatch(
        /FAIL {2}(the Docker daemon is not reachable|docker is not installed)/,
      );
      if (!Bun.which("kind")) expect(stdout).toContain("FAIL  kind is not installed");
      if (!Bun.which("helm")) expect(stdout).toContain("FAIL  helm is not installed");
      expect(stderr).toContain("nothing was changed");
      expect(stderr).not.toMatch(/\n\s+at /);
      expect((await Bun.$`git status --porcelain`.cwd(root).quiet().text()).trim()).toBe(status);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
