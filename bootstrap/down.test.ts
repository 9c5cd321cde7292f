// down.ts as a process against the stand-in tools.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { credentialFile, helperCommands, saveToken } from "./lib/git-credential.ts";
import { makeFixture, makeRunningStack, removedAfterAll } from "./testing/fixture.ts";

// Each test runs bootstrap scripts as processes.
setDefaultTimeout(60_000);

const runningStack = removedAfterAll(makeRunningStack);
const fixture = removedAfterAll(makeFixture);

describe("down.ts", () => {
  test.concurrent("without --yes and no terminal to ask on, it refuses and deletes nothing", async () => {
    const f = await runningStack();
    const r = await f.run("down.ts");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "would delete kind cluster observability-sandbox, but cannot ask (no terminal)",
    );
    expect(r.stderr).toContain("re-run with --yes");
    expect(f.state().clusters).toEqual(["observability-sandbox"]);
  });

  test.concurrent("--help says what --yes does; --cluster-name with --context is refused", async () => {
    const f = await runningStack();
    const help = await f.run("down.ts", ["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout.split("\n")).toContain(
      "  -y, --yes              delete without asking first (it asks on a terminal and, without one,",
    );
    const both = await f.run("down.ts", ["--cluster-name", "x", "--context", "y", "--yes"]);
    expect({ code: both.code, stderr: both.stderr }).toEqual({
      code: 1,
      stderr:
        "error: --cluster-name and --context are alternatives: a kind cluster by name, or an existing cluster by its kube context\n" +
        "  fix: pass one of them: bun bootstrap/down.ts --cluster-name x, or bun bootstrap/down.ts --context y\n",
    });
    expect(f.calls()).toEqual([]);
    expect(f.state().clusters).toEqual(["observability-sandbox"]);
  });

  test.concurrent("--yes deletes the cluster; a second run has nothing to do", async () => {
    const f = await runningStack();
    const r = await f.run("down.ts", ["--yes"]);
    expect(r.code).toBe(0);
    expect(f.calls().map((c) => c.join(" "))).toContain(
      "kind delete cluster --name observability-sandbox",
    );
    expect(f.state().clusters).toEqual([]);
    const again = await f.run("down.ts", ["--yes"]);
    expect(again.stdout).toContain("nothing to do");
  });

  test.concurrent("a `cluster` remote up.ts did not add is left alone", async () => {
    const f = await runningStack();
    await f.git("remote", "add", "cluster", "https://example.com/mine.git");
    const r = await f.run("down.ts", ["--yes"]);
    expect(r.code).toBe(0);
    expect((await f.git("remote")).split("\n")).toEqual(["cluster", "origin"]);
    expect(r.stdout).toContain("leaving git remote cluster (https://example.com/mine.git)");
  });

  test.concurrent("the cluster already gone: the push token and its helper are still removed", async () => {
    const f = await fixture();
    const url = "http://localhost:8300/observability-sandbox.git";
    const file = credentialFile({ HOME: f.dir }, "observability-sandbox");
    saveToken(file, url, `ss_${"0".repeat(40)}`);
    for (const command of helperCommands(url, file)) await f.git(...command.argv.slice(1));
    const r = await f.run("down.ts", ["--yes"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`==> removed the push token ${file}`);
    expect(r.stdout).not.toContain(`ss_${"0".repeat(40)}`);
    expect(existsSync(file)).toBe(false);
    expect(await f.git("config", "--local", "--list")).not.toContain("credential.");
    const again = await f.run("down.ts", ["--yes"]);
    expect(again.stdout).toContain("nothing to do");
  });
});
