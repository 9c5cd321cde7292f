// release.ts as a process in a throw-away clone, against the stand-in docker and kind.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { committedTag, contentTag } from "./lib/image-tag.ts";
import { anExistingCluster } from "./testing/fake/state.ts";
import { changingCalls, type Fixture, makeFixture } from "./testing/fixture.ts";

// Each test runs bootstrap scripts as processes (about 0.2–2 s each here, more on a busy machine).
setDefaultTimeout(60_000);

const fixtures: Fixture[] = [];
afterAll(() => {
  for (const f of fixtures.splice(0)) f.cleanup();
});

describe("release.ts", () => {
  test.concurrent("new code: build, load into kind, write the tag, commit that file, push", async () => {
    const f = await makeFixture({ state: { clusters: ["observability-sandbox"] } });
    fixtures.push(f);
    writeFileSync(join(f.repo, "apps/user-service/index.ts"), 'console.log("v2");\n');
    await f.git("commit", "-qam", "user-service v2");
    const tag = await contentTag(f.repo, "user-service");

    // A service named twice is released once.
    const r = await f.run("release.ts", ["user-service", "--push", "user-service"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.match(/==> user-service/g)).toHaveLength(1);
    expect(changingCalls(f.calls()).map((c) => c.join(" "))).toEqual([
      `docker build --tag sandbox/user-service:${tag} --file apps/user-service/Dockerfile .`,
      `kind load docker-image sandbox/user-service:${tag} --name observability-sandbox`,
      // After the push: Argo CD re-reads git now rather than at its next poll.
      "kubectl --context kind-observability-sandbox annotate applications.argoproj.io --all -n argocd argocd.argoproj.io/refresh=normal --overwrite",
    ]);
    expect(await Bun.file(join(f.repo, "gitops/services/user-service.yaml")).text()).toContain(
      `tag: "${tag}"`,
    );
    expect(await f.git("log", "-1", "--format=%s")).toBe(`Release user-service ${tag}`);
    expect(await f.git("show", "--name-only", "--format=", "HEAD")).toBe(
      "gitops/services/user-service.yaml",
    );
    expect(await f.git("status", "--porcelain")).toBe("");
    // Pushed to the branch's remote ("GitHub" here).
    expect(await f.git("ls-remote", "origin", "refs/heads/main")).toStartWith(
      await f.git("rev-parse", "HEAD"),
    );

    // Nothing new: nothing to build, write or commit.
    const before = f.calls().length;
    const again = await f.run("release.ts", ["user-service"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`already has tag ${tag}`);
    expect(changingCalls(f.calls().slice(before)).filter((c) => c[0] === "docker")).toEqual([]);
  });

  test.concurrent("an uncommitted edit: refused without -m, naming it; with -m one commit holds the edit and its tag", async () => {
    const f = await makeFixture();
    fixtures.push(f);
    writeFileSync(join(f.repo, "apps/user-service/index.ts"), 'console.log("span attribute");\n');
    writeFileSync(join(f.repo, "apps/user-service/extra.ts"), "export const added = 1;\n");
    writeFileSync(join(f.repo, "notes.txt"), "not a build input\n");
    const refused = await f.run("release.ts", ["user-service", "--no-build"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      "error: uncommitted changes in the build inputs:\n    apps/user-service/extra.ts\n    apps/user-service/index.ts\n" +
        '  fix: bun bootstrap/release.ts user-service --no-build -m "<what you changed>"   (commits them with the new tag; --no-commit only writes the tag)\n',
    );
    const before = await f.git("rev-parse", "HEAD");

    const r = await f.run("release.ts", [
      "user-service",
      "--no-build",
      "-m",
      "user-service: tag spans",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(f.calls()).toEqual([]); // --no-build: no docker, no kind
    expect(await f.git("rev-parse", "HEAD~1")).toBe(before); // exactly one new commit
    expect(await f.git("log", "-1", "--format=%s")).toBe("user-service: tag spans");
    const tag = await contentTag(f.repo, "user-service", "HEAD");
    expect(await f.git("log", "-1", "--format=%b")).toBe(`Release user-service ${tag}`);
    expect((await f.git("show", "--name-only", "--format=", "HEAD")).split("\n").sort()).toEqual([
      "apps/user-service/extra.ts",
      "apps/user-service/index.ts",
      "gitops/services/user-service.yaml",
    ]);
    expect(await committedTag(f.repo, "user-service", "HEAD")).toBe(tag);
    // Only the release's files were committed: the unrelated note stays uncommitted.
    expect(await f.git("status", "--porcelain")).toBe("?? notes.txt");
  });

  test.concurrent("an edit to a shared package releases every service built from it", async () => {
    const f = await makeFixture();
    fixtures.push(f);
    writeFileSync(join(f.repo, "apps/telemetry/index.ts"), "export const telemetry = 2;\n");
    const r = await f.run("release.ts", ["user-service", "--no-build", "-m", "telemetry v2"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("note: api-gateway is built from the changed files too");
    for (const service of ["api-gateway", "user-service"] as const)
      expect(await committedTag(f.repo, service, "HEAD")).toBe(
        await contentTag(f.repo, service, "HEAD"),
      );
    expect(await f.git("status", "--porcelain")).toBe("");
  });

  test.concurrent("--no-build --no-commit only writes the tag", async () => {
    const f = await makeFixture();
    fixtures.push(f);
    writeFileSync(join(f.repo, "apps/api-gateway/index.ts"), 'console.log("wip");\n');
    const written = await f.run("release.ts", ["--all", "--no-build", "--no-commit"]);
    expect(written.code).toBe(0);
    expect(f.calls()).toEqual([]);
    const tag = await contentTag(f.repo, "api-gateway");
    expect(await Bun.file(join(f.repo, "gitops/services/api-gateway.yaml")).text()).toContain(
      `tag: "${tag}"`,
    );
    expect(written.stdout).toContain("gitops/services/user-service.yaml already has tag");
    expect(await f.git("status", "--porcelain")).toContain(
      "M apps/api-gateway/index.ts\n M gitops/services/api-gateway.yaml",
    );
  });

  test.concurrent("bad flags: one error line and one fix line, exit 1", async () => {
    const f = await makeFixture();
    fixtures.push(f);
    const cases: [string[], string][] = [
      [
        ["--bogus"],
        "error: unknown flag --bogus\n  fix: bun bootstrap/release.ts --help lists the flags\n",
      ],
      [
        ["user-service", "-m"],
        "error: --message needs a value\n  fix: bun bootstrap/release.ts user-service --message <value>\n",
      ],
      [
        ["user-service", "-m", " "],
        'error: the commit message (-m) is empty\n  fix: bun bootstrap/release.ts user-service -m "what you changed"\n',
      ],
      [
        ["user-service", "--no-commit", "--push"],
        "error: --push delivers the release commit and --no-commit makes none (it would push HEAD without the tag)\n  fix: drop --no-commit: bun bootstrap/release.ts user-service --push\n",
      ],
    ];
    const pushed = await f.git("ls-remote", "origin");
    for (const [args, stderr] of cases) {
      const r = await f.run("release.ts", args);
      expect({ args, stderr: r.stderr, code: r.code }).toEqual({ args, stderr, code: 1 });
    }
    expect(await f.git("ls-remote", "origin")).toBe(pushed);
  });

  test.concurrent("a push with no cluster here says so, not that Argo CD rolls it out", async () => {
    const f = await makeFixture(); // no kind cluster
    fixtures.push(f);
    writeFileSync(join(f.repo, "apps/user-service/index.ts"), 'console.log("v2");\n');
    const built = await f.run("release.ts", ["user-service", "-m", "user-service v2", "--push"]);
    expect(built.code).toBe(0);
    expect(built.stdout.trimEnd().split("\n").at(-1)).toBe(
      "pushed to origin. No kind cluster observability-sandbox runs here, so nothing here deploys it; bun bootstrap/up.ts brings one up that does",
    );
    writeFileSync(join(f.repo, "apps/user-service/index.ts"), 'console.log("v3");\n');
    const unbuilt = await f.run("release.ts", ["user-service", "-m", "v3", "--no-build", "--push"]);
    expect(unbuilt.code).toBe(0);
    expect(unbuilt.stdout.trimEnd().split("\n").at(-1)).toBe(
      "pushed to origin (--no-build: no cluster was asked); an Argo CD that reads origin deploys it at its next poll, within about 70 s",
    );
    expect(await f.git("ls-remote", "origin", "refs/heads/main")).toStartWith(
      await f.git("rev-parse", "HEAD"),
    );
    expect(f.calls().filter(([tool]) => tool === "kubectl")).toEqual([]);
  });

  test.concurrent("an uncommitted edit and no Docker: the fix is the one command that works", async () => {
    const f = await makeFixture({ state: { dockerRunning: false } });
    fixtures.push(f);
    writeFileSync(join(f.repo, "apps/user-service/index.ts"), 'console.log("v2");\n');
    const r = await f.run("release.ts", ["user-service"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 1,
      stderr:
        "error: the Docker daemon is not reachable (Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?)\n" +
        '  fix: start it: macOS: open -a Docker (wait for the whale to settle) · Linux: sudo systemctl start docker (and add yourself to the docker group); or without building: bun bootstrap/release.ts user-service --no-build -m "<what you changed>"\n',
    });
    const fixed = await f.run("release.ts", [
      "user-service",
      "--no-build",
      "-m",
      "<what you changed>",
    ]);
    expect({ code: fixed.code, stderr: fixed.stderr }).toEqual({ code: 0, stderr: "" });
    expect(await f.git("log", "-1", "--format=%s")).toBe("<what you changed>");
  });

  test.concurrent("a pre-commit hook that refuses the commit: the index and the tag file as they were, and what to run", async () => {
    const f = await makeFixture();
    fixtures.push(f);
    const hook = join(f.repo, ".git/hooks/pre-commit");
    mkdirSync(dirname(hook), { recursive: true }); // fixtures are made without git's sample hooks
    writeFileSync(hook, '#!/bin/sh\necho "lint: biome FAILED" >&2\nexit 1\n', { mode: 0o755 });
    writeFileSync(join(f.repo, "notes.txt"), "staged by the user, not a build input\n");
    await f.git("add", "notes.txt");
    writeFileSync(join(f.repo, "apps/user-service/index.ts"), 'console.log("v2");\n');
    writeFileSync(join(f.repo, "apps/user-service/extra.ts"), "export const added = 1;\n");
    const values = join(f.repo, "gitops/services/user-service.yaml");
    // One git at a time: `git status` refreshes the index, under its lock.
    const head = await f.git("rev-parse", "HEAD");
    const status = await f.git("status", "--porcelain");
    const staged = await f.git("write-tree");
    const tagFile = await Bun.file(values).text();

    const r = await f.run("release.ts", ["user-service", "--no-build", "-m", "user-service v2"]);
    expect(r.stdout).toContain("    | lint: biome FAILED\n");
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 1,
      stderr:
        "error: git commit failed (exit 1; its output is above); nothing was committed, and the index and the tag files are as they were\n" +
        '  fix: fix what the output above reports (the pre-commit hook runs bun run lint; bunx biome check --write . formats), then run bun bootstrap/release.ts user-service --no-build -m "user-service v2"\n',
    });
    expect(await f.git("rev-parse", "HEAD")).toBe(head);
    expect(await f.git("write-tree")).toBe(staged);
    expect(await f.git("status", "--porcelain")).toBe(status);
    expect(await Bun.file(values).text()).toBe(tagFile);

    // Once the hook passes, the command the fix names makes the release commit.
    writeFileSync(hook, "#!/bin/sh\nexit 0\n");
    const again = await f.run("release.ts", [
      "user-service",
      "--no-build",
      "-m",
      "user-service v2",
    ]);
    expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: "" });
    expect((await f.git("show", "--name-only", "--format=", "HEAD")).split("\n").sort()).toEqual([
      "apps/user-service/extra.ts",
      "apps/user-service/index.ts",
      "gitops/services/user-service.yaml",
    ]);
  });

  test.concurrent("what the build needs is checked before the release commit: nothing committed, staged or written", async () => {
    const kindInstall =
      "macOS: brew install kind · Linux: go install sigs.k8s.io/kind@v0.32.0, or the release binary from https://kind.sigs.k8s.io/docs/user/quick-start/#installation";
    const daemonDown =
      "the Docker daemon is not reachable (Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?)";
    const daemonFix =
      "start it: macOS: open -a Docker (wait for the whale to settle) · Linux: sudo systemctl start docker (and add yourself to the docker group)";
    const buildxInstall =
      "Docker Desktop includes it · Linux: sudo apt-get install docker-buildx-plugin, or see https://docs.docker.com/go/buildx/";
    const cases: [string, Parameters<typeof makeFixture>[0], string[], string][] = [
      [
        "no kind",
        { tools: ["docker", "kubectl", "helm"] },
        [],
        `error: kind is not installed (not on PATH)\n  fix: ${kindInstall}; or without building: bun bootstrap/release.ts user-service --no-build -m "user-service v2"\n`,
      ],
      [
        "Docker not running",
        { state: { dockerRunning: false } },
        [],
        `error: ${daemonDown}\n  fix: ${daemonFix}; or without building: bun bootstrap/release.ts user-service --no-build -m "user-service v2"\n`,
      ],
      [
        "Docker not running, with --push: the fix still pushes",
        { state: { dockerRunning: false } },
        ["--push"],
        `error: ${daemonDown}\n  fix: ${daemonFix}; or without building: bun bootstrap/release.ts user-service --push --no-build -m "user-service v2"\n`,
      ],
      [
        "an existing cluster without docker buildx",
        {
          tools: ["docker", "kubectl", "helm"],
          state: { existing: { staging: anExistingCluster() }, buildxMissing: true },
        },
        ["--context", "staging", "--registry", "ghcr.io/acme"],
        `error: docker buildx did not report its version (docker: 'buildx' is not a docker command.)\n  fix: check that \`docker buildx version\` works; reinstall: ${buildxInstall}; or without building: bun bootstrap/release.ts user-service --context staging --registry ghcr.io/acme --no-build -m "user-service v2"\n`,
      ],
    ];
    await Promise.all(
      cases.map(async ([name, options, args, stderr]) => {
        const f = await makeFixture(options);
        fixtures.push(f);
        writeFileSync(join(f.repo, "apps/user-service/index.ts"), 'console.log("v2");\n');
        const head = await f.git("rev-parse", "HEAD");
        const r = await f.run("release.ts", ["user-service", "-m", "user-service v2", ...args]);
        expect({ name, code: r.code, stderr: r.stderr }).toEqual({ name, code: 1, stderr });
        expect(await f.git("rev-parse", "HEAD")).toBe(head);
        // The edit is left as it was (not staged) and no tag was written.
        expect(await f.git("diff", "--name-only")).toBe("apps/user-service/index.ts");
        expect(await f.git("diff", "--cached", "--name-only")).toBe("");
        expect(changingCalls(f.calls())).toEqual([]);
      }),
    );
  });

  test.concurrent("an unknown service names the valid ones", async () => {
    const f = await makeFixture();
    fixtures.push(f);
    const r = await f.run("release.ts", ["frontend"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "error: unknown service frontend\n  fix: name one or more of: api-gateway, user-service (or --all)\n",
    );
  });
});
