// One log call → an OTel log record (trace/span ids come from the active context) and the same
// record as a JSON line on stdout for `kubectl logs`. Works unchanged when the SDK is disabled.
import { isSpanContextValid, trace } from "@opentelemetry/api";
import { type AnyValueMap, logs, SeverityNumber } from "@opentelemetry/api-logs";

export type Level = "debug" | "info" | "warn" | "error";
export type LogAttributes = Record<string, string | number | boolean>;
export type Log = Record<Level, (message: string, attributes?: LogAttributes) => void>;

const severity: Record<Level, SeverityNumber> = {
  debug: SeverityNumber.DEBUG,
  info: SeverityNumber.INFO,
  warn: SeverityNumber.WARN,
  error: SeverityNumber.ERROR,
};

/** Writes one JSON object per line; the only place that touches stdout. */
export function writeJsonLine(record: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`);
}

export function createLog(serviceName: string): Log {
  const logger = logs.getLogger(serviceName);
  const emit =
    (level: Level) =>
    (message: string, attributes: LogAttributes = {}) => {
      const spanContext = trace.getActiveSpan()?.spanContext();
      const ids =
        spanContext && isSpanContextValid(spanContext)
          ? { trace_id: spanContext.traceId, span_id: spanContext.spanId }
          : {};
      writeJsonLine({ level, service: serviceName, msg: message, ...ids, ...attributes });
      logger.emit({
        severityNumber: severity[level],
        severityText: level.toUpperCase(),
        body: message,
        attributes: attributes as AnyValueMap,
      });
    };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}
