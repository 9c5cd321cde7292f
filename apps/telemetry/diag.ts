// The SDK reports export failures through the diag logger. With the collector down that is a
// message per batch per signal: for error, warn and info, print the first one, then at most one
// per interval with a count, each level on its own (so the SDK's info note that it stopped
// retrying never hides the error that says why). Debug and verbose, which only OTEL_LOG_LEVEL
// turns on, are printed as they come: whoever asks for them wants every line.
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

// The SDK passes errors, strings and plain objects (a detected resource's attributes).
const detail = (arg: unknown) => {
  if (arg instanceof Error) return arg.message;
  if (typeof arg !== "object" || arg === null) return String(arg);
  try {
    return JSON.stringify(arg);
  } catch {
    return String(arg);
  }
};

export function createRateLimitedDiagLogger(
  serviceName: string,
  intervalMs = 60_000,
  write: (record: Record<string, unknown>) => void = writeJsonLine,
): DiagLogger {
  const line = (level: string, message: string, args: unknown[]) => ({
    level,
    service: serviceName,
    msg: `telemetry: ${[withoutStack(message), ...args.map(detail)].join(" ")}`.slice(0, 500),
  });
  const rateLimited = (level: "error" | "warn" | "info") => {
    let windowStart = Number.NEGATIVE_INFINITY;
    let suppressed = 0;
    return (message: string, ...args: unknown[]) => {
      const now = performance.now();
      if (now - windowStart < intervalMs) {
        suppressed++;
        return;
      }
      write({
        ...line(level, message, args),
        ...(suppressed ? { suppressed_since_last: suppressed } : {}),
      });
      windowStart = now;
      suppressed = 0;
    };
  };
  // The JSON lines have no verbose level: debug is the nearest.
  const everyLine = (message: string, ...args: unknown[]) => write(line("debug", message, args));
  return {
    error: rateLimited("error"),
    warn: rateLimited("warn"),
    info: rateLimited("info"),
    debug: everyLine,
    verbose: everyLine,
  };
}

/** `level` is OTEL_LOG_LEVEL's (readTelemetryConfig): the API drops what is below it. */
export function installDiagLogger(serviceName: string, level: keyof typeof DiagLogLevel): void {
  diag.setLogger(createRateLimitedDiagLogger(serviceName), {
    logLevel: DiagLogLevel[level],
    suppressOverrideMessage: true,
  });
}
