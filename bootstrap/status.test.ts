// status.ts as a process against the stand-in tools.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { CHILD_APPS } from "./testing/fake/argocd.ts";
import { makeFixture, makeRunningStack, removedAfterAll } from "./testing/fixture.ts";

// Each test runs bootstrap scripts as processes.
setDefaultTimeout(60_000);

const runningStack = removedAfterAll(makeRunningStack);
const emptyFixture = removedAfterAll(makeFixture);

describe("status.ts", () => {
  test.concurrent("prints the Applications table once; exit 0 when all are healthy", async () => {
    const f = await runningStack();
    const r = await f.run("status.ts");
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^APPLICATION\s+SYNC\s+HEALTH\s+WAITING ON$/);
    expect(lines).toContain("root                   Synced  Healthy");
    expect(lines.at(-1)).toBe(`all ${CHILD_APPS.length + 1} Applications Synced and Healthy`);
  });

  test.concurrent("a Degraded Application: exit 2 and what it waits on", async () => {
    const f = await runningStack("user-service");
    const r = await f.run("status.ts");
    expect(r.code).toBe(2);
    expect(r.stdout).toContain("user-service (sync Synced, health Degraded)");
    expect(r.stdout).toContain(
      'Deployment apps/user-service Synced/Degraded: Deployment "user-service" exceeded its progress deadline',
    );
  });

  test.concurrent("--watch keeps printing until stopped", async () => {
    const f = await runningStack();
    const p = Bun.spawn(
      [process.execPath, `${f.repo}/bootstrap/status.ts`, "--watch", "--interval", "100ms"],
      {
        cwd: f.repo,
        env: f.env,
        stdout: "pipe",
      },
    );
    // Read until it has printed twice, then stop it: the output ends where it was stopped.
    const printed = (text: string) => text.match(/^--- \d{4}-/gm)?.length ?? 0;
    const decoder = new TextDecoder();
    let out = "";
    for await (const chunk of p.stdout) {
      out += decoder.decode(chunk, { stream: true });
      if (printed(out) >= 2) p.kill();
    }
    expect(printed(out)).toBeGreaterThanOrEqual(2);
  });

  test.concurrent("a stopped node (Docker restarted): kubectl's one-line message, not its log lines", async () => {
    const f = await runningStack();
    f.setState({ stoppedNodes: ["observability-sandbox-control-plane"] });
    const r = await f.run("status.ts");
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "error: cannot read the Applications: The connection to the server 127.0.0.1:39333 was refused - did you specify the right host or port?\n" +
        "  fix: bun bootstrap/up.ts brings the kind cluster back (it starts stopped nodes) or creates it\n",
    );
  });

  test.concurrent("no cluster: says so and how to bring it up", async () => {
    const f = await emptyFixture();
    const r = await f.run("status.ts");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'cannot read the Applications: error: context "kind-observability-sandbox" does not exist',
    );
    expect(r.stderr).toContain("bun bootstrap/up.ts");
  });
});
