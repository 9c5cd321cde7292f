// OTLP/HTTP export requests (protobuf) as flat records: each span, metric data point and log
// record with its resource and instrumentation scope. Decoded with the official generated
// decoders (@opentelemetry/otlp-transformer 0.200.0, aliased otlp-decoders). Used by dev's
// receiver (apps/dev-receiver.ts) and the tests' receiver (apps/telemetry/testing/otlp-receiver.ts).
import generatedRoot from "otlp-decoders/build/src/generated/root.js";

type Attributes = Record<string, unknown>;

export interface Scope {
  name: string;
  version: string;
}

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: string;
  attributes: Attributes;
  status: { code: string; message?: string };
  /** Nanoseconds since the epoch, as decimal strings (64-bit). */
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  resource: Attributes;
  scope: Scope;
}

const metricTypes = ["histogram", "sum", "gauge", "exponentialHistogram", "summary"] as const;

export interface ReceivedDataPoint {
  metric: string;
  unit: string;
  type: (typeof metricTypes)[number];
  /** Whether a sum only grows (false for other types). */
  monotonic: boolean;
  /** e.g. AGGREGATION_TEMPORALITY_CUMULATIVE; empty for gauges and summaries. */
  temporality: string;
  scope: Scope;
  attributes: Attributes;
  resource: Attributes;
  value?: number;
  count?: number;
  sum?: number;
  /** Histogram boundaries (the implicit +Inf bucket is not listed). */
  explicitBounds?: number[];
  /** When the point was collected: nanoseconds since the epoch, as a decimal string. */
  timeUnixNano?: string;
}

export interface ReceivedLog {
  severityText: string;
  severityNumber: string;
  body: unknown;
  attributes: Attributes;
  traceId: string;
  spanId: string;
  resource: Attributes;
  scope: Scope;
}

interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue;
}
interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values?: OtlpAnyValue[] };
  kvlistValue?: { values?: OtlpKeyValue[] };
  bytesValue?: string;
}

// biome-ignore lint/suspicious/noExplicitAny: decoded protobuf objects are untyped here
type Decoded = any;
interface MessageType {
  decode(bytes: Uint8Array): unknown;
  toObject(message: unknown, options: object): Decoded;
}
// The generated module is typed only as a protobufjs Root.
const collector = (
  generatedRoot as unknown as {
    opentelemetry: { proto: { collector: Record<string, { v1: Record<string, MessageType> }> } };
  }
).opentelemetry.proto.collector;
const requestType = (signal: string, name: string): MessageType => {
  const type = collector[signal]?.v1[name];
  if (!type) throw new Error(`otlp-decoders: no ${signal} ${name}`);
  return type;
};
const decoders = {
  "/v1/traces": requestType("trace", "ExportTraceServiceRequest"),
  "/v1/metrics": requestType("metrics", "ExportMetricsServiceRequest"),
  "/v1/logs": requestType("logs", "ExportLogsServiceRequest"),
};
const toObjectOptions = { longs: String, enums: String, bytes: String, arrays: true };

/** An OTLP export request body as a plain object (64-bit integers as strings, bytes as base64). */
export function decodeExportRequest(path: keyof typeof decoders, body: Uint8Array) {
  const decoder = decoders[path];
  return decoder.toObject(decoder.decode(body), toObjectOptions);
}

const hex = (base64?: string) => (base64 ? Buffer.from(base64, "base64").toString("hex") : "");

function anyValue(value: OtlpAnyValue | undefined): unknown {
  if (!value) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(anyValue);
  if (value.kvlistValue) return attributes(value.kvlistValue.values);
  return value.bytesValue;
}

function attributes(list: OtlpKeyValue[] | undefined): Attributes {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, anyValue(kv.value)]));
}

/** The instrumentation scope (tracer, meter or logger name and version) of a scope* entry. */
const scopeOf = (entry: Decoded): Scope => ({
  name: entry.scope?.name ?? "",
  version: entry.scope?.version ?? "",
});

function flattenTraces(request: Decoded): ReceivedSpan[] {
  return (request.resourceSpans ?? []).flatMap((rs: Decoded) =>
    (rs.scopeSpans ?? []).flatMap((ss: Decoded) =>
      (ss.spans ?? []).map(
        (span: Decoded): ReceivedSpan => ({
          traceId: hex(span.traceId),
          spanId: hex(span.spanId),
          parentSpanId: hex(span.parentSpanId),
          name: span.name,
          // Fields left at their protobuf default are absent from the decoded object.
          kind: span.kind ?? "SPAN_KIND_UNSPECIFIED",
          attributes: attributes(span.attributes),
          status: { code: "STATUS_CODE_UNSET", ...span.status },
          startTimeUnixNano: span.startTimeUnixNano ?? "0",
          endTimeUnixNano: span.endTimeUnixNano ?? "0",
          resource: attributes(rs.resource?.attributes),
          scope: scopeOf(ss),
        }),
      ),
    ),
  );
}

function flattenMetrics(request: Decoded): ReceivedDataPoint[] {
  return (request.resourceMetrics ?? []).flatMap((rm: Decoded) =>
    (rm.scopeMetrics ?? []).flatMap((sm: Decoded) =>
      (sm.metrics ?? []).flatMap((metric: Decoded) => {
        const type = metricTypes.find((t) => metric[t]);
        if (!type) return [];
        const data = metric[type];
        const base = {
          metric: metric.name,
          unit: metric.unit ?? "",
          type,
          monotonic: Boolean(data.isMonotonic),
          temporality: data.aggregationTemporality ?? "",
          scope: scopeOf(sm),
          resource: attributes(rm.resource?.attributes),
        };
        return (data.dataPoints ?? []).map(
          (p: Decoded): ReceivedDataPoint => ({
            ...base,
            attributes: attributes(p.attributes),
            timeUnixNano: p.timeUnixNano ?? "0",
            ...(type === "sum" || type === "gauge"
              ? { value: p.asDouble ?? Number(p.asInt) }
              : { count: Number(p.count), sum: p.sum, explicitBounds: p.explicitBounds }),
          }),
        );
      }),
    ),
  );
}

function flattenLogs(request: Decoded): ReceivedLog[] {
  return (request.resourceLogs ?? []).flatMap((rl: Decoded) =>
    (rl.scopeLogs ?? []).flatMap((sl: Decoded) =>
      (sl.logRecords ?? []).map(
        (record: Decoded): ReceivedLog => ({
          severityText: record.severityText ?? "",
          severityNumber: record.severityNumber ?? "",
          body: anyValue(record.body),
          attributes: attributes(record.attributes),
          traceId: hex(record.traceId),
          spanId: hex(record.spanId),
          resource: attributes(rl.resource?.attributes),
          scope: scopeOf(sl),
        }),
      ),
    ),
  );
}

/** The records of one export request (one signal: the other two lists are empty). */
export interface ReceivedExport {
  spans: ReceivedSpan[];
  dataPoints: ReceivedDataPoint[];
  logs: ReceivedLog[];
}

export type OtlpPath = keyof typeof decoders;
export const isOtlpPath = (path: string): path is OtlpPath => Object.hasOwn(decoders, path);

/** The records of one export request, by its path. */
export function receivedExport(path: OtlpPath, body: Uint8Array): ReceivedExport {
  const decoded = decodeExportRequest(path, body);
  return {
    spans: path === "/v1/traces" ? flattenTraces(decoded) : [],
    dataPoints: path === "/v1/metrics" ? flattenMetrics(decoded) : [],
    logs: path === "/v1/logs" ? flattenLogs(decoded) : [],
  };
}
