// A `kubectl port-forward` to a Service, for the UIs open.ts shows on their laptop ports and for
// the APIs the cluster does not publish on the host, which verify.ts forwards to a port kubectl
// picks (Loki and Tempo: docs/cluster.md#what-is-protected).
import { CliError } from "../../cli/errors.ts";
import { lastLine } from "./run.ts";

export interface ForwardTarget {
  namespace: string;
  service: string;
  servicePort: number;
  /** Omitted: kubectl picks a free one. */
  localPort?: number;
}

export interface Forward {
  /** http://127.0.0.1:<local port> */
  url: string;
  stop(): void;
  /** Settles when kubectl exits (the pod went, the connection dropped), with its last error line. */
  ended: Promise<string>;
}

export const forwardArgv = (t: ForwardTarget, context: string | undefined) => [
  "kubectl",
  ...(context ? ["--context", context] : []),
  "port-forward",
  `svc/${t.service}`,
  `${t.localPort ?? ""}:${t.servicePort}`,
  // A port kubectl picks is read off its "Forwarding from 127.0.0.1:<port>" line: one address.
  ...(t.localPort ? [] : ["--address", "127.0.0.1"]),
  "--namespace",
  t.namespace,
];

/**
 * Starts the forward and resolves once kubectl says where it listens ("Forwarding from
 * 127.0.0.1:<port> -> <servicePort>"); rejects with kubectl's reason when it exits first.
 * `context` undefined: kubectl's current context. `fix` may depend on what kubectl said.
 */
export async function portForward(
  t: ForwardTarget,
  context: string | undefined,
  options: { cwd: string; fix: string | ((kubectlError: string) => string); timeoutMs?: number },
): Promise<Forward> {
  const where = `${t.namespace}/${t.service}${context ? ` on ${context}` : ""}`;
  const fix = (kubectlError: string) =>
    typeof options.fix === "string" ? options.fix : options.fix(kubectlError);
  let process: ReturnType<typeof Bun.spawn>;
  try {
    process = Bun.spawn(forwardArgv(t, context), {
      cwd: options.cwd,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
  } catch {
    throw new CliError(
      `cannot port-forward to ${where}: kubectl is not installed`,
      `install kubectl, or ${fix("")}`,
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
    const said = await stderr;
    const why = /address already in use/.test(said)
      ? `local port ${t.localPort}: address already in use`
      : lastLine(said) || `no answer in ${timeoutMs / 1000} s`;
    throw new CliError(`cannot port-forward to ${where}: ${why}`, fix(said));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    stop,
    ended: process.exited.then(async () => lastLine(await stderr)),
  };
}
