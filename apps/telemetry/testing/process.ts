// Runs a service as a real process for tests: PORT=0 lets the OS pick a free port, which the
// service reports in its "listening" JSON line; every stdout JSON line is kept for assertions.
import type { Subprocess } from "bun";

export type JsonLine = Record<string, unknown>;

export interface ServiceProcess {
  url: string;
  /** Parsed JSON lines from stdout, in order. */
  lines: JsonLine[];
  /** Everything the process printed, for failure messages. */
  output(): string;
  waitForLine(match: (line: JsonLine) => boolean, timeoutMs?: number): Promise<JsonLine>;
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number>;
  process: Subprocess;
}

// The test runner's own OTEL_* settings must not leak into the services under test.
const baseEnv = () =>
  Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("OTEL_")));

export async function startService(
  entry: string,
  env: Record<string, string>,
  timeoutMs = 10_000,
): Promise<ServiceProcess> {
  const child = Bun.spawn([process.execPath, entry], {
    env: { ...baseEnv(), PORT: "0", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const lines: JsonLine[] = [];
  let raw = "";
  const collect = async (stream: ReadableStream<Uint8Array>, parse: boolean) => {
    let pending = "";
    const decoder = new TextDecoder();
    for await (const bytes of stream) {
      const chunk = decoder.decode(bytes, { stream: true });
      raw += chunk;
      if (!parse) continue;
      pending += chunk;
      const complete = pending.split("\n");
      pending = complete.pop() ?? "";
      for (const line of complete) {
        try {
          lines.push(JSON.parse(line));
        } catch {
          // not a JSON line: kept in raw output only
        }
      }
    }
  };
  void collect(child.stdout, true);
  void collect(child.stderr, false);

  const waitForLine = async (match: (line: JsonLine) => boolean, waitMs = 5000) => {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const found = lines.find(match);
      if (found) return found;
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`${entry}: expected line not seen; output:\n${raw}`);
      await Bun.sleep(10);
    }
  };
  const listening = await waitForLine((line) => line.msg === "listening", timeoutMs);
  return {
    url: `http://127.0.0.1:${listening.port}`,
    lines,
    output: () => raw,
    waitForLine,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null) child.kill(signal);
      return child.exited;
    },
    process: child,
  };
}

/** For tests and hooks that start processes: slow on a loaded two-core CI machine. */
export const processTimeoutMs = 20_000;

/** A port nothing listens on (the OS picked it free, and it was closed again): a dead endpoint. */
export async function freePort(): Promise<number> {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = server.port as number;
  await server.stop(true);
  return port;
}
