// release.ts as a process in a throw-away clone, against the stand-in docker and kind.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { contentTag } from "./lib/image-tag.ts";
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

    const r = await f.run("release.ts", ["user-service", "--push"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
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

  test.concurrent("uncommitted service code is refused (the tag would name code not in git); --no-build --no-commit only writes", async () => {
    const f = await makeFixture();
    fixtures.push(f);
    writeFileSync(join(f.repo, "apps/api-gateway/index.ts"), 'console.log("wip");\n');
    const refused = await f.run("release.ts", ["api-gateway"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("uncommitted changes in the build inputs");
    expect(refused.stderr).toContain("M apps/api-gateway/index.ts");

    const written = await f.run("release.ts", ["--all", "--no-build", "--no-commit"]);
    expect(written.code).toBe(0);
    expect(f.calls()).toEqual([]);
    const tag = await contentTag(f.repo, "api-gateway");
    expect(await Bun.file(join(f.repo, "gitops/services/api-gateway.yaml")).text()).toContain(
      `tag: "${tag}"`,
    );
    expect(written.stdout).toContain("gitops/services/user-service.yaml already has tag");
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
