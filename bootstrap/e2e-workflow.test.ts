// .github/workflows/e2e.yaml cannot run here (no Docker); check what can be checked offline:
// pinned actions, and that the commands it runs accept the flags it passes.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { chooseDelivery, findRevision, parseLsRemote } from "./lib/git.ts";
import { parseUpArgs } from "./lib/up-args.ts";
import { parseOptions as parseVerifyOptions } from "./verify.ts";

interface Step {
  uses?: string;
  run?: string;
  if?: string;
  name?: string;
}
const workflow = Bun.YAML.parse(
  await Bun.file(join(import.meta.dir, "../.github/workflows/e2e.yaml")).text(),
) as { jobs: Record<string, { steps: Step[] }> };
const steps = Object.values(workflow.jobs).flatMap((job) => job.steps);
const text = await Bun.file(join(import.meta.dir, "../.github/workflows/e2e.yaml")).text();

// What GitHub fills in on a push to a fork's main.
const SHA = "0f3c2a9d5e7b8c1d4f6a0b2c3d4e5f60718293a4";
const github: Record<string, string> = {
  "github.repository": "someone/observability-sandbox",
  "github.sha": SHA,
};

// The arguments of a `bun bootstrap/<script>.ts …` step, with GitHub expressions filled in.
function argsOf(script: string): string[] {
  const run = steps.find((s) => s.run?.includes(`bun bootstrap/${script}`))?.run ?? "";
  const after = (run.split(`bun bootstrap/${script}`)[1] ?? "").replace(
    /\$\{\{\s*([^}\s]*)\s*\}\}/g,
    (_, name: string) => github[name] ?? "x",
  );
  return [...after.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => (m[1] ?? m[2]) as string);
}

describe("e2e workflow", () => {
  test("every action is pinned to a commit SHA with its version beside it", () => {
    const uses = [...text.matchAll(/uses: (\S+)@(\S+)(.*)$/gm)];
    expect(uses.length).toBeGreaterThanOrEqual(3);
    for (const [, action, ref, comment] of uses) {
      expect(ref, action).toMatch(/^[0-9a-f]{40}$/);
      expect(comment, action).toMatch(/# v\d+\.\d+\.\d+$/);
    }
  });

  test("brings the cluster up with up.ts, then runs verify.ts, with flags they accept", () => {
    const up = argsOf("up.ts");
    const options = parseUpArgs(up, {});
    expect(options.skipVerify).toBe(true); // verify runs as its own step
    expect(options.repo).toBe("https://github.com/someone/observability-sandbox.git");
    const verify = parseVerifyOptions(argsOf("verify.ts"));
    expect(verify.timeoutMs).toBe(300_000);
    const order = steps.map((s) => s.run ?? "");
    expect(order.findIndex((r) => r.includes("bootstrap/up.ts"))).toBeLessThan(
      order.findIndex((r) => r.includes("bootstrap/verify.ts")),
    );
  });

  test("its --repo and --revision pass up.ts's delivery decision on the runner's checkout", () => {
    const options = parseUpArgs(argsOf("up.ts"), {});
    expect(options.revision).toBe(SHA);
    // actions/checkout leaves HEAD detached at the pushed commit, the tip of main on the fork.
    const decision = chooseDelivery({
      facts: {
        isRepo: true,
        head: SHA,
        dirty: [],
        remoteName: "origin",
        remoteUrl: "https://github.com/someone/observability-sandbox",
      },
      flags: options,
      probe: {
        readable: true,
        pushable: false,
        revision: findRevision(parseLsRemote(`${SHA}\tHEAD\n${SHA}\trefs/heads/main\n`), SHA),
      },
    });
    expect(decision.problems).toEqual([]);
    expect(decision.warnings).toEqual([]);
    expect(decision.delivery).toMatchObject({
      mode: "remote",
      repoURL: "https://github.com/someone/observability-sandbox.git",
      revision: SHA,
    });
  });

  test("on failure prints Argo CD Application statuses and unhealthy pods' logs", () => {
    const diagnose = steps.find((s) => s.if === "failure()")?.run ?? "";
    expect(diagnose).toContain("get applications.argoproj.io");
    expect(diagnose).toContain("logs");
  });
});
