// A `kubectl port-forward` to a Service on a local port kubectl picks, for commands that need an
// API the cluster does not publish on the host (Loki and Tempo: docs/cluster.md#what-is-protected).
import { BootstrapError } from "./run.ts";

export interface ForwardTarget {
  namespace: string;
  service: string;
  servicePort: number;
}

export interface Forward {
  /** http://127.0.0.1:<local port> */
  url: string;
  stop(): void;
}

export const forwardArgv = (t: ForwardTarget, context: string | undefined) => [
  "kubectl",
  ...(context ? ["--context", context] : []),
  "port-forward",
  `svc/${t.service}`,
  // No local port: kubectl picks a free one and prints it.
  `:${t.servicePort}`,
  "--address",
  "127.0.0.1",
  "--namespace",
  t.namespace,
];

/**
 * Starts the forward and resolves once kubectl says where it listens ("Forwarding from
 * 127.0.0.1:<port> -> <servicePort>"); rejects with kubectl's reason when it exits first.
 * `context` undefined: kubectl's current context.
 */
export async function portForward(
  t: ForwardTarget,
  context: string | undefined,
  options: { cwd: string; fix: string; timeoutMs?: number },
): Promise<Forward> {
  const where = `${t.namespace}/${t.service}${context ? ` on ${context}` : ""}`;
  let process: ReturnType<typeof Bun.spawn>;
  try {
    process = Bun.spawn(forwardArgv(t, context), {
      cwd: options.cwd,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
  } catch {
    throw new BootstrapError(
      `cannot port-forward to ${where}: kubectl is not installed`,
      `install kubectl, or ${options.fix}`,
    );
  }
  const stdout = process.stdout as ReadableStream<Uint8Array>;
  const stderr = new Response(process.stderr as ReadableStream<Uint8Array>).text();
  const stop = () => process.kill("SIGTERM");
  const timeoutMs = options.timeoutMs ?? 15_000;
  const port = await new Promise<number | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), timeoutMs);
    void (async () => {
      let out: string | undefined = "";
      for await (const chunk of stdout) {
        // Read to the end: kubectl logs every connection, and a full pipe would stall it.
        if (out === undefined) continue;
        out += new TextDecoder().decode(chunk);
        const match = out.match(/Forwarding from 127\.0\.0\.1:(\d+) ->/);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
          out = undefined;
        }
      }
      clearTimeout(timer);
      resolve(undefined); // kubectl exited without forwarding
    })();
  });
  if (port === undefined) {
    stop();
    const why =
      (await stderr).trim().split("\n").at(-1)?.trim() || `no answer in ${timeoutMs / 1000} s`;
    throw new BootstrapError(`cannot port-forward to ${where}: ${why}`, options.fix);
  }
  return { url: `http://127.0.0.1:${port}`, stop };
}
