// The process the shims on PATH run (`bun main.js <tool> <args...>`, this file bundled): records the call,
// answers it from the state file and writes back what it changed. Hundreds of these run per
// test file, so it loads only Bun's own APIs: importing node:fs alone costs a call ~2 ms.
import { docker } from "./docker.ts";
import { helm } from "./helm.ts";
import { kind } from "./kind.ts";
import { kubectl } from "./kubectl.ts";
import type { Answer, FakeState } from "./state.ts";

const [tool = "", ...args] = Bun.argv.slice(2);
// File descriptor 3 is FAKE_LOG, opened for appending by the shim: one line per call, whole,
// however many calls run at once.
await Bun.write(Bun.file(3), `${JSON.stringify([tool, ...args])}\n`);
const statePath = process.env.FAKE_STATE ?? "";
const before = await Bun.file(statePath).text();
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
if (after !== JSON.stringify(JSON.parse(before), null, 2)) await Bun.write(statePath, after);
// Bun.write, not process.stdout: a Node stream costs each call ~10 ms to set up.
if (answer.out) await Bun.write(Bun.stdout, answer.out);
if (answer.err) await Bun.write(Bun.stderr, answer.err);
if (answer.hold) {
  // Like kubectl port-forward: serve until interrupted, then exit quietly.
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(0));
  setInterval(() => {}, 60_000);
} else process.exit(answer.code ?? 0);
