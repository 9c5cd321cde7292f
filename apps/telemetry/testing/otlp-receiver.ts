// An OTLP/HTTP receiver for tests and for `bun run dev` (apps/dev.ts): accepts protobuf exports
// on /v1/traces, /v1/metrics and /v1/logs, decodes them with the official generated decoders,
// and keeps flat, easy-to-assert records plus the raw request bytes (to search for leaked
// credentials), or hands each export's records to a listener instead.
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

export interface OtlpReceiver {
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT, e.g. http://127.0.0.1:43181 */
  url: string;
  spans: ReceivedSpan[];
  dataPoints: ReceivedDataPoint[];
  logs: ReceivedLog[];
  /** Every request body as received, for byte-level searches. */
  rawBodies: Uint8Array[];
  waitForSpans(match: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<void>;
  waitForDataPoints(
    match: (points: ReceivedDataPoint[]) => boolean,
    timeoutMs?: number,
  ): Promise<void>;
  waitForLogs(match: (logs: ReceivedLog[]) => boolean, timeoutMs?: number): Promise<void>;
  /**
   * A collector in trouble: trace and log exports go unanswered until the returned function
   * answers them HTTP 500 (and what follows normally again). Metrics still go through, so the
   * services' SDK metrics report what was dropped and what failed. The function first waits until
   * `held` trace exports and as many log exports are held (one per sending service: a batch
   * processor exports one batch at a time), so an export still on its way is not let through.
   */
  stallTracesAndLogs(): (held?: number) => Promise<void>;
  stop(): Promise<void>;
}

async function waitUntil(what: string, ready: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`OTLP receiver: timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/** The records of one export request (one signal: the other two lists are empty). */
export interface ReceivedExport {
  spans: ReceivedSpan[];
  dataPoints: ReceivedDataPoint[];
  logs: ReceivedLog[];
}

/**
 * Starts the receiver on a free port of 127.0.0.1. With `onReceive`, each export's records go to
 * it and nothing is kept (the lists stay empty, so a long `bun run dev` does not grow).
 */
export function startOtlpReceiver(
  options: { onReceive?: (received: ReceivedExport) => void } = {},
): OtlpReceiver {
  const spans: ReceivedSpan[] = [];
  const dataPoints: ReceivedDataPoint[] = [];
  const logs: ReceivedLog[] = [];
  const rawBodies: Uint8Array[] = [];
  let stalled: Promise<void> | undefined;
  let release = () => {};
  const held = new Map<string, number>();

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const path = new URL(request.url).pathname;
      if (request.method !== "POST" || !Object.hasOwn(decoders, path))
        return new Response("not found", { status: 404 });
      const body = new Uint8Array(await request.arrayBuffer());
      if (stalled && path !== "/v1/metrics") {
        held.set(path, (held.get(path) ?? 0) + 1);
        await stalled;
        return new Response("stalled, then refused", { status: 500 });
      }
      const decoded = decodeExportRequest(path as keyof typeof decoders, body);
      const received: ReceivedExport = {
        spans: path === "/v1/traces" ? flattenTraces(decoded) : [],
        dataPoints: path === "/v1/metrics" ? flattenMetrics(decoded) : [],
        logs: path === "/v1/logs" ? flattenLogs(decoded) : [],
      };
      if (options.onReceive) options.onReceive(received);
      else {
        rawBodies.push(body);
        spans.push(...received.spans);
        dataPoints.push(...received.dataPoints);
        logs.push(...received.logs);
      }
      // An empty ExportServiceResponse is a zero-length protobuf message.
      return new Response(new Uint8Array(), {
        headers: { "content-type": "application/x-protobuf" },
      });
    },
  });

  return {
    url: `http://127.0.0.1:${server.port}`,
    spans,
    dataPoints,
    logs,
    rawBodies,
    waitForSpans: (match, timeoutMs = 5000) => waitUntil("spans", () => match(spans), timeoutMs),
    waitForDataPoints: (match, timeoutMs = 5000) =>
      waitUntil("metric data points", () => match(dataPoints), timeoutMs),
    waitForLogs: (match, timeoutMs = 5000) =>
      waitUntil("log records", () => match(logs), timeoutMs),
    stallTracesAndLogs() {
      held.clear();
      stalled ??= new Promise((resolve) => {
        release = () => {
          stalled = undefined;
          resolve();
        };
      });
      return async (count = 1) => {
        await waitUntil(
          `${count} stalled trace and log export(s)`,
          () => (held.get("/v1/traces") ?? 0) >= count && (held.get("/v1/logs") ?? 0) >= count,
          5000,
        );
        release();
      };
    },
    stop: () => {
      release(); // nothing left hanging
      return server.stop(true);
    },
  };
}
