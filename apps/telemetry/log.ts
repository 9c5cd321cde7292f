// One log call → an OTel log record (trace/span ids come from the active context) and the same
// record as a JSON line on stdout for `kubectl logs`. Works unchanged when the SDK is disabled.
import { isSpanContextValid, trace } from "@opentelemetry/api";
import { logs, SeverityNumber } from "@opentelemetry/api-logs";
import type { ServiceIdentity } from "./config.ts";

export type Level = "debug" | "info" | "warn" | "error";
export type LogAttributes = Record<string, string | number | boolean>;
export type Log = Record<Level, (message: string, attributes?: LogAttributes) => void>;

const severity: Record<Level, SeverityNumber> = {
  debug: SeverityNumber.DEBUG,
  info: SeverityNumber.INFO,
  warn: SeverityNumber.WARN,
  error: SeverityNumber.ERROR,
};
const severityText: Record<Level, string> = {
  debug: "DEBUG",
  info: "INFO",
  warn: "WARN",
  error: "ERROR",
};

// Project addition: lines are joined and written together at most `flushDelayMs` later (or once
// `maxPendingChars` wait). Saves 0.65 µs (file) to 0.9 µs (pipe) per line, as measured: 1–2% of
// a request's CPU (docs/performance.md). Errors, and what waits when the process exits, go at once.
const flushDelayMs = 10;
const maxPendingChars = 32 * 1024;
let pending = "";
let flushTimer: ReturnType<typeof setTimeout> | undefined;

/** Writes the lines waiting to go to stdout. */
export function flushLines(): void {
  clearTimeout(flushTimer);
  flushTimer = undefined;
  if (!pending) return;
  const lines = pending;
  pending = "";
  process.stdout.write(lines);
}
process.on("exit", flushLines);

/** Writes one JSON object per line; the only place that touches stdout. */
export function writeJsonLine(record: Record<string, unknown>): void {
  pending += `${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`;
  if (record.level === "error" || pending.length >= maxPendingChars) flushLines();
  else flushTimer ??= setTimeout(flushLines, flushDelayMs).unref();
}

export function createLog(service: ServiceIdentity): Log {
  // The same instrumentation scope (name and version) as the service's tracer and meter.
  const logger = logs.getLogger(service.name, service.version);
  const emit =
    (level: Level) =>
    (message: string, attributes: LogAttributes = {}) => {
      // The log record gets the trace context from the active context by itself; the JSON line
      // gets it under the field names the specification gives for non-OTLP formats
      // (specification/compatibility/logging_trace_context.md).
      const spanContext = trace.getActiveSpan()?.spanContext();
      const traceContext =
        spanContext && isSpanContextValid(spanContext)
          ? {
              trace_id: spanContext.traceId,
              span_id: spanContext.spanId,
              trace_flags: spanContext.traceFlags.toString(16).padStart(2, "0"), // W3C: "01"
            }
          : {};
      writeJsonLine({ level, service: service.name, msg: message, ...traceContext, ...attributes });
      logger.emit({
        severityNumber: severity[level],
        severityText: severityText[level],
        body: message,
        attributes,
      });
    };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}
