// Steps run real (tiny) shell commands: output shown as it comes, limits enforced, and failures
// and timeouts end in a message that names the step and its fix. The tests wait on their own
// commands' sleeps and timeouts, so they run concurrently.
import { describe, expect, test } from "bun:test";
import { CliError } from "../../cli/errors.ts";
import type { Step } from "./plan.ts";
import { exec } from "./run.ts";
import { runStep } from "./steps.ts";

const step = (over: Partial<Step>): Step => ({
  id: "image-api-gateway",
  title: "image sandbox/api-gateway:abc",
  kind: "change",
  run: true,
  reason: "test",
  commands: [],
  timeoutMs: 10_000,
  streamOutput: true,
  ...over,
});

async function runCollecting(s: Step, quietMs?: number) {
  const printed: { at: number; line: string }[] = [];
  const started = performance.now();
  const error = await runStep(s, {
    root: process.cwd(),
    print: (line) => printed.push({ at: performance.now() - started, line }),
    quietMs,
    retryMs: 10,
  }).catch((e: unknown) => e);
  return { printed, error, ms: performance.now() - started };
}

describe("exec", () => {
  test.concurrent("hands out lines while the tool still runs, and captures them too", async () => {
    const seen: { at: number; line: string }[] = [];
    const started = performance.now();
    const result = await exec(
      { argv: ["sh", "-c", "echo one; echo two >&2; sleep 0.4; printf 'three'"] },
      { onLine: (line) => seen.push({ at: performance.now() - started, line }) },
    );
    expect(result.code).toBe(0);
    expect(seen.map((s) => s.line).sort()).toEqual(["one", "three", "two"]);
    // "one" arrived before the tool slept, not at the end.
    expect(seen.find((s) => s.line === "one")?.at).toBeLessThan(300);
    expect(result.stdout).toBe("one\nthree");
    expect(result.stderr).toBe("two\n");
  });

  test.concurrent("stops a tool at its timeout, even when a child of it holds the output open", async () => {
    const started = performance.now();
    const result = await exec(
      { argv: ["sh", "-c", "sleep 4 & echo started; sleep 4"] },
      { timeoutMs: 300 },
    );
    const ms = performance.now() - started;
    expect(result).toMatchObject({ code: 124, timedOut: true, stdout: "started\n" });
    expect(result.stderr).toContain("sh: timed out after 0.3s");
    expect(ms).toBeLessThan(2_000);
  });
});

describe("runStep", () => {
  test.concurrent("a streamed step prints its command, its output indented, and a line while silent", async () => {
    const { printed, error } = await runCollecting(
      step({ commands: [{ argv: ["sh", "-c", "echo '#1 building'; sleep 0.5; echo '#2 done'"] }] }),
      150,
    );
    expect(error).toBeUndefined();
    const lines = printed.map((p) => p.line);
    expect(lines[0]).toStartWith("    $ sh -c ");
    expect(lines).toContain("    | #1 building");
    expect(lines).toContain("    | #2 done");
    expect(lines.some((l) => /^ {4}… still running \(0\.\ds\)$/.test(l))).toBe(true);
  });

  test.concurrent("a quick step's output stays quiet unless it fails; then its tail and the fix", async () => {
    const quiet = await runCollecting(
      step({
        id: "root-app",
        streamOutput: false,
        commands: [{ argv: ["sh", "-c", "echo applied"] }],
      }),
    );
    expect(quiet.printed.map((p) => p.line)).toEqual(["    $ sh -c 'echo applied'"]);
    const failed = await runCollecting(
      step({
        id: "root-app",
        title: "root Application",
        streamOutput: false,
        commands: [{ argv: ["sh", "-c", "echo 'error: no matches for kind' >&2; exit 1"] }],
      }),
    );
    expect(failed.error).toBeInstanceOf(CliError);
    expect((failed.error as CliError).message).toContain('step "root Application" failed');
    expect((failed.error as CliError).message).toContain("    | error: no matches for kind");
  });

  test.concurrent("a command past its step's limit: stopped, with a message naming the step and the fix", async () => {
    const { error, ms } = await runCollecting(
      step({ timeoutMs: 300, commands: [{ argv: ["sleep", "5"] }] }),
    );
    expect(ms).toBeLessThan(2_000);
    expect(error).toBeInstanceOf(CliError);
    const e = error as CliError;
    expect(e.message).toBe('step "image sandbox/api-gateway:abc" timed out after 0.3s: `sleep 5`');
    expect(e.fix).toContain("docker pull oven/bun:1.4.5-slim");
    expect(e.fix).toContain("run `bun bootstrap/up.ts` again");
  });

  test.concurrent("git push is retried while the new git server starts answering", async () => {
    const dir = (await exec({ argv: ["mktemp", "-d"] })).stdout.trim();
    const { printed, error } = await runCollecting(
      step({
        id: "git-push",
        title: "push main to cluster",
        commands: [
          {
            argv: ["sh", "-c", `[ -e ${dir}/up ] && echo pushed || { touch ${dir}/up; exit 128; }`],
          },
        ],
      }),
    );
    await exec({ argv: ["rm", "-rf", dir] });
    expect(error).toBeUndefined();
    const lines = printed.map((p) => p.line);
    expect(lines).toContain("    (attempt 1 of 10 failed; retrying)");
    expect(lines).toContain("    | pushed");
  });
});
