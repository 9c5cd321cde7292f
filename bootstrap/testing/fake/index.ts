// Stand-ins for docker, kind, kubectl and helm used by the bootstrap tests: each call is
// recorded (FAKE_LOG, one JSON argv per line) and answered in the real tool's output format
// from a JSON state file (FAKE_STATE, state.ts) that the calls also change, like the real
// cluster would. One module per tool; main.ts is the process the shims on PATH run, and this
// module is the tests' side: the shims, the state file and the calls made.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { FakeState } from "./state.ts";

// The shims run main.ts bundled into one JavaScript file: a call then starts in ~7 ms instead
// of ~11 ms, as Bun need not resolve and transpile six modules each time, and a suite makes
// about 1 100 calls. Built in memory on every import, so it is never older than the sources;
// the file is named by its content, so concurrent test processes never overwrite each other.
const bundle = await Bun.build({ entrypoints: [join(import.meta.dir, "main.ts")], target: "bun" });
const [output] = bundle.outputs;
if (!bundle.success || !output) throw new Error(`bundling the fake tools failed: ${bundle.logs}`);
const source = await output.text();
// Three folders below the repository, like this folder, so that paths relative to
// import.meta.dir (argocd.ts reads gitops/apps) still hold.
const root = join(import.meta.dir, "..", "..", "..");
const main = join(root, ".cache", "fake-tools", Bun.hash(source).toString(16), "main.js");
if (!existsSync(main)) {
  mkdirSync(dirname(main), { recursive: true });
  // Written whole under a temporary name, then renamed: a shim never runs half a file.
  const partial = `${main}.${process.pid}`;
  writeFileSync(partial, source);
  renameSync(partial, main);
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
