// The SDK reports export failures through the diag logger. With the collector down that is a
// message per batch per signal: print the first one, then at most one per interval with a count.
import { type DiagLogger, DiagLogLevel, diag } from "@opentelemetry/api";
import { writeJsonLine } from "./log.ts";

/**
 * The SDK's global error handler hands over an exception flattened to JSON, stack included:
 * keep its message and code (a stack trace is no log line for an operator).
 */
function withoutStack(message: string): string {
  if (!message.startsWith("{")) return message;
  try {
    const error = JSON.parse(message) as { message?: unknown; code?: unknown };
    if (typeof error.message !== "string") return message;
    return typeof error.code === "string" && !error.message.includes(error.code)
      ? `${error.message} (${error.code})`
      : error.message;
  } catch {
    return message;
  }
}

export function createRateLimitedDiagLogger(
  serviceName: string,
  intervalMs = 60_000,
  write: (record: Record<string, unknown>) => void = writeJsonLine,
): DiagLogger {
  let windowStart = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  const report =
    (level: "warn" | "error") =>
    (message: string, ...args: unknown[]) => {
      const now = performance.now();
      if (now - windowStart < intervalMs) {
        suppressed++;
        return;
      }
      const detail = args.map((arg) => (arg instanceof Error ? arg.message : String(arg)));
      write({
        level,
        service: serviceName,
        msg: `telemetry: ${[withoutStack(message), ...detail].join(" ")}`.slice(0, 500),
        ...(suppressed ? { suppressed_since_last: suppressed } : {}),
      });
      windowStart = now;
      suppressed = 0;
    };
  const ignore = () => {};
  return {
    error: report("error"),
    warn: report("warn"),
    info: ignore,
    debug: ignore,
    verbose: ignore,
  };
}

export function installDiagLogger(serviceName: string): void {
  diag.setLogger(createRateLimitedDiagLogger(serviceName), {
    logLevel: DiagLogLevel.WARN,
    suppressOverrideMessage: true,
  });
}
