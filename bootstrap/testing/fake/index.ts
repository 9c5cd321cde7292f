// Stand-ins for docker, kind, kubectl and helm used by the bootstrap tests: each call is
// recorded (FAKE_LOG, one JSON argv per line) and answered in the real tool's output format
// from a JSON state file (FAKE_STATE, state.ts) that the calls also change, like the real
// cluster would. One module per tool; this one is the entry the shims on PATH run:
//   bun fake/index.ts <tool> <args...>
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { docker } from "./docker.ts";
import { helm } from "./helm.ts";
import { kind } from "./kind.ts";
import { kubectl } from "./kubectl.ts";
import type { Answer, FakeState } from "./state.ts";

if (import.meta.main) {
  const [tool = "", ...args] = Bun.argv.slice(2);
  const statePath = process.env.FAKE_STATE ?? "";
  appendFileSync(process.env.FAKE_LOG ?? "/dev/null", `${JSON.stringify([tool, ...args])}\n`);
  const before = readFileSync(statePath, "utf8");
  const state = JSON.parse(before) as FakeState;
  const needsStdin = tool === "kubectl" && args.includes("-f");
  const stdin = needsStdin ? await Bun.stdin.text() : "";
  const answer: Answer =
    tool === "docker"
      ? docker(state, args)
      : tool === "kind"
        ? kind(state, args)
        : tool === "kubectl"
          ? await kubectl(state, args, stdin)
          : await helm(state, args, process.cwd());
  // Only calls that change something write: read-only calls run concurrently.
  const after = JSON.stringify(state, null, 2);
  if (after !== JSON.stringify(JSON.parse(before), null, 2)) writeFileSync(statePath, after);
  // Bun.write, not process.stdout: a Node stream costs each call ~10 ms to set up, and the
  // bootstrap tests make hundreds of these calls.
  if (answer.out) await Bun.write(Bun.stdout, answer.out);
  if (answer.err) await Bun.write(Bun.stderr, answer.err);
  if (answer.hold) {
    // Like kubectl port-forward: serve until interrupted, then exit quietly.
    for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(0));
    setInterval(() => {}, 60_000);
  } else process.exit(answer.code ?? 0);
}

/** Writes executable shims for the tools into `dir`; the omitted ones stay missing. */
export function writeShims(
  dir: string,
  tools: string[] = ["docker", "kind", "kubectl", "helm"],
): void {
  mkdirSync(dir, { recursive: true });
  const bun = process.execPath;
  for (const tool of tools) {
    const path = join(dir, tool);
    writeFileSync(path, `#!/bin/sh\nexec "${bun}" "${import.meta.path}" ${tool} "$@"\n`, {
      mode: 0o755,
    });
  }
}

/** The calls the tools were asked, in order: one argv per call, the tool first. */
export const readCalls = (path: string): string[][] =>
  existsSync(path)
    ? readFileSync(path, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : [];
