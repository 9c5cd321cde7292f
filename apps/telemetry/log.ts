// One log call → an OTel log record (trace/span ids come from the active context) and the same
// record as a JSON line on stdout for `kubectl logs`. Works unchanged when the SDK is disabled.
import { type Attributes, isSpanContextValid, trace } from "@opentelemetry/api";
import { type AnyValueMap, logs, SeverityNumber } from "@opentelemetry/api-logs";
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

// A write to stdout is a system call, several microseconds each: under load the per-request
// lines are joined and written together at most `flushDelayMs` later (or once `maxPendingChars`
// are waiting). Errors, and whatever is pending when the process exits, are written at once.
const flushDelayMs = 10;
const maxPendingChars = 32 * 1024;
let pending = "";
let flushTimer: ReturnType<typeof setTimeout> | undefined;

/** Writes the lines waiting to go to stdout. */
export function flushLines(): void {
  if (flushTimer !== undefined) {
    clearTimeout(flushTimer);
    flushTimer = undefined;
  }
  if (!pending) return;
  const lines = pending;
  pending = "";
  process.stdout.write(lines);
}
process.on("exit", flushLines);

function writeLine(line: string, now: boolean): void {
  pending += line;
  if (now || pending.length >= maxPendingChars) flushLines();
  else if (flushTimer === undefined) {
    flushTimer = setTimeout(flushLines, flushDelayMs);
    flushTimer.unref();
  }
}

// Many lines share a millisecond under load; format the timestamp once per millisecond.
let isoMs = 0;
let isoText = "";
function isoNow(): string {
  const ms = Date.now();
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}

/** Writes one JSON object per line; the only place that touches stdout. */
export function writeJsonLine(record: Record<string, unknown>): void {
  writeLine(`${JSON.stringify({ time: isoNow(), ...record })}\n`, record.level === "error");
}

const noAttributes: LogAttributes = Object.freeze({});

export function createLog(service: ServiceIdentity): Log {
  // The same instrumentation scope (name and version) as the service's tracer and meter.
  const logger = logs.getLogger(service.name, service.version);
  const emit =
    (level: Level) =>
    (message: string, attributes: LogAttributes = noAttributes) => {
      const spanContext = trace.getActiveSpan()?.spanContext();
      const line: Attributes =
        spanContext && isSpanContextValid(spanContext)
          ? {
              time: isoNow(),
              level,
              service: service.name,
              msg: message,
              trace_id: spanContext.traceId,
              span_id: spanContext.spanId,
            }
          : { time: isoNow(), level, service: service.name, msg: message };
      for (const key in attributes) line[key] = attributes[key];
      writeLine(`${JSON.stringify(line)}\n`, level === "error");
      logger.emit({
        severityNumber: severity[level],
        severityText: severityText[level],
        body: message,
        attributes: attributes as AnyValueMap,
      });
    };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}
