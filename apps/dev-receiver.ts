// `bun run dev`'s OTLP/HTTP receiver: the services export to it as they would to the Collector
// (/v1/traces, /v1/metrics, /v1/logs, protobuf). It keeps the last traces with their log records
// and the metric points each request touched, and answers questions about them in JSON
// (docs/services.md#the-dev-receiver): `bun run trace`, `bun run explain` and the labs read it.
import { collected, type LogRecord, type MetricPoint, type Span } from "../model/collected.ts";
import {
  isOtlpPath,
  type ReceivedDataPoint,
  type ReceivedExport,
  type ReceivedLog,
  type ReceivedSpan,
  receivedExport,
} from "./otlp-records.ts";

/** The default port: OTLP/HTTP's own (4318), on 127.0.0.1 only. */
export const defaultDevReceiverPort = 4318;
/** How many traces dev keeps; the oldest goes first. */
export const keptTraces = 300;
/** A trace is complete once its spans are all in and nothing of it arrived for this long. */
export const quietMs = 300;
// Metric exports kept per service, to find the first one after a trace whose spans came late.
const keptMetricExports = 20;

export interface TraceSummary {
  traceId: string;
  /** "<service> <span name>" of the root span. */
  root: string;
  /** The root span's http.response.status_code, or null. */
  status: number | null;
  durationMs: number;
  complete: boolean;
}

export interface TraceDetail {
  traceId: string;
  complete: boolean;
  spans: Span[];
  logs: LogRecord[];
  /** The points of the first metric export after the request, of the streams it touched. */
  metrics: MetricPoint[];
}

export interface DevStatus {
  gateway: string;
  userService: string;
  traces: number;
}

interface KeptTrace {
  spans: ReceivedSpan[];
  logs: ReceivedLog[];
  lastSeen: number;
  /** Per service: the touched points of its first metric export after its spans ended. */
  metrics: Map<string, ReceivedDataPoint[]>;
}

/** A metric export of one service: when its points were collected, and the streams that changed. */
interface MetricExport {
  collectedAtNano: bigint;
  changed: ReceivedDataPoint[];
}

const serviceOf = (resource: Record<string, unknown>) => String(resource["service.name"] ?? "");
const streamKey = (point: ReceivedDataPoint) =>
  `${serviceOf(point.resource)}|${point.metric}|${JSON.stringify(point.attributes)}`;
// What a cumulative point has counted so far: a histogram's count, a sum's value.
const counted = (point: ReceivedDataPoint) => point.count ?? point.value ?? 0;
// Gauges (process.uptime) change on every export, and the SDK's own metrics (otel.sdk.*) count the
// export pipeline's work, not a request's: neither is something a request touched.
const countsRequests = (point: ReceivedDataPoint) =>
  (point.type === "sum" || point.type === "histogram") && !point.metric.startsWith("otel.sdk.");

export const isTraceId = (id: string) => /^[0-9a-f]{32}$/.test(id) && !/^0+$/.test(id);

/** The store behind the API: feed it exports; ask it for traces. Time is passed in for tests. */
export function createTraceStore(now: () => number = Date.now) {
  const traces = new Map<string, KeptTrace>();
  const metricExports = new Map<string, MetricExport[]>();
  const lastCounted = new Map<string, number>();

  const keep = (traceId: string) => {
    let kept = traces.get(traceId);
    if (!kept) {
      kept = { spans: [], logs: [], lastSeen: now(), metrics: new Map() };
      traces.set(traceId, kept);
      if (traces.size > keptTraces) traces.delete(traces.keys().next().value as string);
    }
    kept.lastSeen = now();
    return kept;
  };

  /**
   * The points of a service's first metric export collected after its spans in the trace ended,
   * of the streams that changed in it and whose attributes agree with those spans': a key some
   * span has must have the point's value on one of them (user.lookups' `outcome` is on no span,
   * so it agrees). Under concurrent traffic another request may have changed such a stream in the
   * same interval: it is listed too.
   */
  const attachMetrics = (kept: KeptTrace) => {
    const services = new Set(kept.spans.map((span) => serviceOf(span.resource)));
    for (const service of services) {
      if (kept.metrics.has(service)) continue;
      const spans = kept.spans.filter((span) => serviceOf(span.resource) === service);
      const endedAt = spans.reduce((max, s) => {
        const end = BigInt(s.endTimeUnixNano);
        return end > max ? end : max;
      }, 0n);
      const after = metricExports.get(service)?.find((e) => e.collectedAtNano > endedAt);
      if (!after) continue;
      const agrees = (point: ReceivedDataPoint) =>
        Object.entries(point.attributes).every(
          ([key, value]) =>
            spans.every((span) => !(key in span.attributes)) ||
            spans.some((span) => span.attributes[key] === value),
        );
      kept.metrics.set(service, after.changed.filter(agrees));
    }
  };

  function receive({ spans, logs, dataPoints }: ReceivedExport) {
    for (const span of spans) keep(span.traceId).spans.push(span);
    for (const log of logs) if (log.traceId) keep(log.traceId).logs.push(log);
    if (dataPoints.length) {
      const byService = Map.groupBy(dataPoints, (point) => serviceOf(point.resource));
      for (const [service, points] of byService) {
        const changed = points.filter(countsRequests).filter((point) => {
          const before = lastCounted.get(streamKey(point));
          lastCounted.set(streamKey(point), counted(point));
          return before === undefined ? counted(point) > 0 : counted(point) !== before;
        });
        const collectedAtNano = points.reduce((min, p) => {
          const at = BigInt(p.timeUnixNano ?? "0");
          return min === 0n || at < min ? at : min;
        }, 0n);
        const history = metricExports.get(service) ?? [];
        history.push({ collectedAtNano, changed });
        metricExports.set(service, history.slice(-keptMetricExports));
      }
    }
    // Spans that came after an export that already holds their points find it in the history.
    for (const kept of traces.values()) if (kept.spans.length) attachMetrics(kept);
  }

  const isComplete = (kept: KeptTrace) => {
    const ids = new Set(kept.spans.map((span) => span.spanId));
    return (
      kept.spans.some((span) => !span.parentSpanId) &&
      kept.spans.every((span) => !span.parentSpanId || ids.has(span.parentSpanId)) &&
      now() - kept.lastSeen >= quietMs
    );
  };

  /** The span the trace starts with: one without a parent, else one whose parent is elsewhere. */
  const rootOf = (kept: KeptTrace) => {
    const ids = new Set(kept.spans.map((span) => span.spanId));
    const roots = kept.spans.filter((span) => !ids.has(span.parentSpanId));
    return roots.toSorted((a, b) =>
      Number(BigInt(a.startTimeUnixNano) - BigInt(b.startTimeUnixNano)),
    )[0];
  };

  return {
    receive,
    /** How many traces are kept (with spans: log records alone make no trace here). */
    get size() {
      return [...traces.values()].filter((kept) => kept.spans.length).length;
    },
    /** Newest first; a trace of log records only (its spans went elsewhere) is not listed. */
    list(): TraceSummary[] {
      return [...traces].reverse().flatMap(([traceId, kept]) => {
        const root = rootOf(kept);
        if (!root) return [];
        const status = root.attributes["http.response.status_code"];
        return [
          {
            traceId,
            root: `${serviceOf(root.resource)} ${root.name}`,
            status: typeof status === "number" ? status : null,
            durationMs: Number(BigInt(root.endTimeUnixNano) - BigInt(root.startTimeUnixNano)) / 1e6,
            complete: isComplete(kept),
          },
        ];
      });
    },
    get(traceId: string): TraceDetail | undefined {
      const kept = traces.get(traceId);
      if (!kept?.spans.length) return undefined;
      return {
        traceId,
        complete: isComplete(kept),
        spans: kept.spans.map(collected),
        logs: kept.logs.map(collected),
        metrics: [...kept.metrics.values()].flat().map(collected),
      };
    },
  };
}

export type TraceStore = ReturnType<typeof createTraceStore>;

export interface DevReceiver {
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT and the query API, e.g. http://127.0.0.1:4318 */
  url: string;
  store: TraceStore;
  stop(): Promise<void>;
}

const json = (body: unknown, status = 200) => Response.json(body, { status });

/**
 * Listens on 127.0.0.1:`port`; throws Bun's EADDRINUSE error when the port is taken. Each export's
 * records also go to `onReceive` (dev's terminal view).
 */
export function startDevReceiver(options: {
  port: number;
  gateway: string;
  userService: string;
  onReceive?: (received: ReceivedExport) => void;
}): DevReceiver {
  const store = createTraceStore();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: options.port,
    async fetch(request) {
      const path = new URL(request.url).pathname;
      if (request.method === "POST" && isOtlpPath(path)) {
        const received = receivedExport(path, new Uint8Array(await request.arrayBuffer()));
        store.receive(received);
        options.onReceive?.(received);
        // An empty ExportServiceResponse is a zero-length protobuf message.
        return new Response(new Uint8Array(), {
          headers: { "content-type": "application/x-protobuf" },
        });
      }
      if (request.method !== "GET") return json({ error: "method not allowed" }, 405);
      if (path === "/dev/status")
        return json({
          gateway: options.gateway,
          userService: options.userService,
          traces: store.size,
        } satisfies DevStatus);
      if (path === "/dev/traces") return json(store.list());
      const id = path.match(/^\/dev\/traces\/([^/]*)$/)?.[1]?.toLowerCase();
      if (id === undefined) return json({ error: `no ${path} here` }, 404);
      if (!isTraceId(id))
        return json({ error: `${JSON.stringify(id)} is not a trace id (32 hex digits)` }, 400);
      const trace = store.get(id);
      if (!trace)
        return json({ error: `trace ${id} is not among the ${store.size} traces dev keeps` }, 404);
      return json(trace);
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    store,
    stop: () => server.stop(true),
  };
}
