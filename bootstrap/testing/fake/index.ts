// Stand-ins for docker, kind, kubectl and helm used by the bootstrap tests: each call is
// recorded (FAKE_LOG, one JSON argv per line) and answered in the real tool's output format
// from a JSON state file (FAKE_STATE, state.ts) that the calls also change, like the real
// cluster would. One module per tool; main.ts is the process the shims on PATH run, and this
// module is the tests' side: the shims, the state file and the calls made.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FakeState } from "./state.ts";

/** Writes executable shims for the tools into `dir`; the omitted ones stay missing. */
export function writeShims(
  dir: string,
  tools: string[] = ["docker", "kind", "kubectl", "helm"],
): void {
  mkdirSync(dir, { recursive: true });
  const bun = process.execPath;
  const main = join(import.meta.dir, "main.ts");
  for (const tool of tools) {
    const path = join(dir, tool);
    // The shell opens the log for appending as descriptor 3 (main.ts writes its line there).
    const script = `#!/bin/sh\nexec "${bun}" "${main}" ${tool} "$@" 3>>"\${FAKE_LOG:-/dev/null}"\n`;
    writeFileSync(path, script, { mode: 0o755 });
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

export const readState = (path: string) => JSON.parse(readFileSync(path, "utf8")) as FakeState;
export const writeState = (path: string, state: FakeState) =>
  writeFileSync(path, JSON.stringify(state, null, 2));
