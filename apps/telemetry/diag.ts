// The SDK reports export failures through the diag logger. With the collector down that is a
// message per batch per signal: print the first one, then at most one per interval with a count.
import { type DiagLogger, DiagLogLevel, diag } from "@opentelemetry/api";
import { writeJsonLine } from "./log.ts";

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
        msg: `telemetry: ${[message, ...detail].join(" ")}`.slice(0, 500),
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
