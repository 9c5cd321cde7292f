// Running external tools (docker, kind, kubectl, helm, git): the one boundary bootstrap has.
// Tools are looked up on PATH at call time, so tests can put stand-ins first on PATH.

import { formatDuration, shellWord } from "../../cli/errors.ts";

export interface Command {
  argv: string[];
  /** Fed to the tool's stdin (manifests for `kubectl apply -f -`). */
  stdin?: string;
  /** What to print instead of argv when argv would leak a secret or a long manifest. */
  display?: string;
  /** Environment variables for this command, over the process's own. */
  env?: Record<string, string>;
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
  /** The tool was stopped at its timeout (code 124). */
  timedOut?: boolean;
}

export interface ExecOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Default DEFAULT_TIMEOUT_MS: no tool call may hang bootstrap forever. */
  timeoutMs?: number;
  /** Called with each line of output (stdout and stderr) as it arrives; still captured. */
  onLine?: (line: string) => void;
}

/** For the quick, read-only questions; long steps pass their own, generous timeout. */
export const DEFAULT_TIMEOUT_MS = 60_000;

/** Runs a tool to completion and captures its output; a missing tool answers code 127. */
export async function exec(command: Command, options: ExecOptions = {}): Promise<Result> {
  const [tool, ...args] = command.argv;
  if (!tool) throw new Error("exec: empty command");
  const env = { ...process.env, ...command.env, ...options.env };
  const path = Bun.which(tool, { PATH: env.PATH ?? "" });
  if (!path) return { code: 127, stdout: "", stderr: `${tool}: command not found` };
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const child = Bun.spawn([path, ...args], {
    cwd: options.cwd,
    env,
    stdin: command.stdin === undefined ? "ignore" : new TextEncoder().encode(command.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  let timedOut = false;
  let expired: () => void = () => {};
  const expiry = new Promise<void>((resolve) => {
    expired = resolve;
  });
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGTERM");
    expired();
  }, timeoutMs);
  const out = collect(child.stdout, options.onLine);
  const err = collect(child.stderr, options.onLine);
  const finished = Promise.all([out.done, err.done, child.exited]);
  // A killed tool's own children may hold its output open: give them a moment, then stop reading.
  await Promise.race([finished, expiry.then(() => Bun.sleep(500))]);
  clearTimeout(timer);
  if (timedOut) {
    out.stop();
    err.stop();
    return {
      code: 124,
      stdout: out.text(),
      stderr: `${err.text()}\n${tool}: timed out after ${formatDuration(timeoutMs)}`,
      timedOut: true,
    };
  }
  return { code: await child.exited, stdout: out.text(), stderr: err.text() };
}

/** Reads a stream to the end, handing out complete lines on the way when asked to. */
function collect(stream: ReadableStream<Uint8Array>, onLine?: (line: string) => void) {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let pending = "";
  const done = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done || !value) break;
      const part = decoder.decode(value, { stream: true });
      text += part;
      if (!onLine) continue;
      // Progress bars redraw with \r: each redraw counts as a line.
      const lines = (pending + part).split(/\r?\n|\r/);
      pending = lines.pop() ?? "";
      for (const line of lines) if (line.trim()) onLine(line);
    }
    if (onLine && pending.trim()) onLine(pending);
  })();
  return { done, text: () => text, stop: () => void reader.cancel().catch(() => {}) };
}

/**
 * The line of a tool's error output worth showing: the last. kubectl logs its failed API
 * discovery (several klog lines) before its own one-line message when the server does not answer.
 */
export function lastLine(text: string): string {
  return text.trim().split("\n").at(-1)?.trim() ?? "";
}

/** Shell-style rendering of a command for plans and error messages. */
export function show(command: Command): string {
  if (command.display) return command.display;
  return command.argv.map(shellWord).join(" ");
}
