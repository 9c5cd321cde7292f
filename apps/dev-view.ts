// What `bun run dev` prints of the services' telemetry (docs/services.md#run-them-locally). The
// services export OTLP to a receiver inside dev (apps/dev-receiver.ts), as
// they would to the Collector; this view groups spans by trace and prints each finished trace as
// a tree with its log records under their spans, then what Tempo, Loki and Prometheus make of it,
// computed with the project's pipeline model (model/), not written by hand. Every 10 s a table
// shows the metric streams that changed, instead of printing every point.

import { type Attributes, collected, type LogRecord } from "../model/collected.ts";
import type { Pod } from "../model/collector.ts";
import { collectorModel, enrich, type Signal } from "../model/collector.ts";
import { translateLogs } from "../model/loki-otlp.ts";
import {
  prometheusOtlpSettings,
  resourceLabels,
  translateMetrics,
} from "../model/prometheus-otlp.ts";
import { pointsOfSpans, seriesFamilies } from "./backend-report.ts";
import { keptTraces } from "./dev-receiver.ts";
import type {
  ReceivedDataPoint,
  ReceivedExport,
  ReceivedLog,
  ReceivedSpan,
} from "./otlp-records.ts";

export interface ViewOptions {
  write: (text: string) => void;
  /** A trace is printed once its root span is in and nothing of it arrived for this long. */
  quietMs?: number;
  /** At most this many trees per `windowMs`; the other traces are only counted. */
  treesPerWindow?: number;
  windowMs?: number;
}

interface PendingTrace {
  spans: ReceivedSpan[];
  logs: ReceivedLog[];
  firstSeen: number;
  lastSeen: number;
}

// A metrics table longer than this is cut (and says how many more changed).
const maxTableRows = 16;
// A trace whose root never arrives (its parent is outside, or lost) is printed after this.
const orphanAfterMs = 3000;

const durationMs = (span: Pick<ReceivedSpan, "startTimeUnixNano" | "endTimeUnixNano">) =>
  Number(BigInt(span.endTimeUnixNano) - BigInt(span.startTimeUnixNano)) / 1e6;
const shortEnum = (value: string, prefix: string) => value.replace(prefix, "");
const service = (resource: Record<string, unknown>) => String(resource["service.name"] ?? "?");
// A long value (an instance UUID) shortened for the eye; ids in queries stay whole.
const brief = (value: string) => (value.length > 24 ? `${value.slice(0, 8)}…` : value);
const labelText = (labels: Record<string, string>) =>
  `{${Object.entries(labels)
    .map(([k, v]) => `${k}="${brief(v)}"`)
    .join(", ")}}`;

/** Items joined with `separator` and wrapped to `width`, at most `maxLines` (the rest counted). */
export function wrap(items: string[], width: number, maxLines: number, separator = " "): string[] {
  const lines: string[] = [];
  let i = 0;
  while (i < items.length && lines.length < maxLines) {
    let line = items[i++] as string;
    while (
      i < items.length &&
      line.length + separator.length + (items[i] as string).length <= width
    )
      line += `${separator}${items[i++]}`;
    lines.push(line);
  }
  if (i < items.length) lines[lines.length - 1] += ` … +${items.length - i} more`;
  // A line that goes on ends with the separator's mark ("," of ", ").
  return lines.map((line, n) => (n < lines.length - 1 ? line + separator.trimEnd() : line));
}

const pairs = (attributes: Record<string, unknown>) =>
  Object.entries(attributes).map(
    ([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`,
  );

// A stand-in for the pod the Collector's k8s_attributes processor would look up: only which
// attributes it adds matters here, not their values.
const somePod: Pod = {
  namespace: "ns",
  name: "pod",
  uid: "uid",
  node: "node",
  deployment: "deployment",
  replicaset: "replicaset",
  container: "container",
  image: "image:tag",
  annotations: {},
};

/** A span or log record as received, or as the dev receiver's API gives it (values as strings). */
type TreeSpan = Omit<ReceivedSpan, "attributes" | "resource"> & {
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
};
type TreeLog = Pick<ReceivedLog, "spanId" | "severityText" | "body"> & {
  attributes: Record<string, unknown>;
};

/**
 * A trace as a tree: a heading line, then each span under its parent (name, kind, duration,
 * status, service, attributes) with its log records under it. `drawn` is the spans in tree order.
 * Shared by the view and `bun run trace`.
 */
export function traceTree<S extends TreeSpan>(
  traceId: string,
  spans: S[],
  logs: TreeLog[],
): { lines: string[]; drawn: S[] } {
  const ids = new Set(spans.map((s) => s.spanId));
  const byStart = (a: S, b: S) => Number(BigInt(a.startTimeUnixNano) - BigInt(b.startTimeUnixNano));
  const children = (parent: string) => spans.filter((s) => s.parentSpanId === parent).sort(byStart);
  // Roots: spans whose parent is not in the trace (none for a request that came with its own
  // traceparent and whose caller exported nowhere).
  const roots = spans.filter((s) => !ids.has(s.parentSpanId)).sort(byStart);
  const root = roots[0] as S;
  const status = root.attributes["http.response.status_code"] ?? "";
  const lines = [`── trace ${traceId}  ${root.name}  ${status}  ${durationMs(root).toFixed(1)} ms`];
  const drawn: S[] = [];
  const draw = (span: S, depth: number) => {
    drawn.push(span);
    const indent = "  ".repeat(depth + 1);
    const code = shortEnum(span.status.code, "STATUS_CODE_").toLowerCase();
    const message = span.status.message ? ` "${span.status.message}"` : "";
    lines.push(
      `${indent}${span.name}  ${shortEnum(span.kind, "SPAN_KIND_")}  ${durationMs(span).toFixed(1)} ms  ${code}${message}  [${service(span.resource)}]`,
    );
    for (const line of wrap(pairs(span.attributes), 110, 3)) lines.push(`${indent}    ${line}`);
    for (const log of logs.filter((l) => l.spanId === span.spanId)) {
      const [attributes = ""] = wrap(pairs(log.attributes), 80, 1);
      lines.push(`${indent}    log ${log.severityText} "${log.body}"  ${attributes}`.trimEnd());
    }
    for (const child of children(span.spanId)) draw(child, depth + 1);
  };
  for (const span of roots) draw(span, 0);
  return { lines, drawn };
}

export type DevView = ReturnType<typeof createDevView>;

/** The view: feed it the receiver's exports; it writes trees and summaries as they are due. */
export function createDevView(options: ViewOptions) {
  const { write, quietMs = 300, treesPerWindow = 3, windowMs = 10_000 } = options;
  const traces = new Map<string, PendingTrace>();
  // Latest cumulative point per service, metric and attributes; and what the last summary saw.
  const latest = new Map<string, ReceivedDataPoint>();
  const lastMetricAt = new Map<string, number>();
  let summarised = new Map<string, { count: number; sum: number }>();
  let treesInWindow = 0;
  let notDrawn = 0;
  const drawnAtMost = `trees: at most ${treesPerWindow} per ${windowMs / 1000} s`;
  const prometheus = prometheusOtlpSettings();
  const collector = collectorModel();

  /** Labels the Collector adds in the cluster (k8s_attributes), as `names` would name them. */
  const clusterOnly = (
    signal: Signal,
    resource: Attributes,
    names: (resource: Attributes) => Record<string, string>,
  ) => {
    const local = names(resource);
    const cluster = names(enrich(collector, signal, resource, somePod));
    return Object.keys(cluster).filter((k) => !(k in local));
  };
  const promLabels = (resource: Attributes) => resourceLabels(resource, prometheus);

  function receive({ spans, logs, dataPoints }: ReceivedExport) {
    const now = Date.now();
    const pending = (traceId: string) => {
      let trace = traces.get(traceId);
      if (!trace) {
        trace = { spans: [], logs: [], firstSeen: now, lastSeen: now };
        traces.set(traceId, trace);
      }
      trace.lastSeen = now;
      return trace;
    };
    for (const span of spans) pending(span.traceId).spans.push(span);
    for (const log of logs) if (log.traceId) pending(log.traceId).logs.push(log);
    for (const point of dataPoints) {
      latest.set(
        `${service(point.resource)}|${point.metric}|${JSON.stringify(point.attributes)}`,
        point,
      );
      lastMetricAt.set(service(point.resource), now);
    }
  }

  /** Prints the traces that are complete (or, with `all`, every trace still waiting). */
  function printDue(all = false) {
    const now = Date.now();
    for (const [traceId, trace] of traces) {
      const hasRoot = trace.spans.some((span) => !span.parentSpanId);
      const quiet = now - trace.lastSeen >= quietMs;
      // The request's metric points are exported on their own interval: wait for the next export
      // of each service in the trace (bounded), so the Prometheus line shows this request.
      const metricsIn = trace.spans.every(
        (span) => (lastMetricAt.get(service(span.resource)) ?? 0) >= trace.lastSeen,
      );
      const due =
        all ||
        (trace.spans.length > 0 &&
          hasRoot &&
          quiet &&
          (metricsIn || now - trace.firstSeen > 2000)) ||
        now - trace.firstSeen > orphanAfterMs;
      if (!due) continue;
      traces.delete(traceId);
      if (trace.spans.length === 0) continue; // log records of a trace whose spans went elsewhere
      if (treesInWindow >= treesPerWindow) notDrawn++;
      else {
        treesInWindow++;
        write(`${renderTrace(traceId, trace).join("\n")}\n\n`);
      }
    }
  }

  function renderTrace(traceId: string, trace: PendingTrace): string[] {
    const { lines, drawn } = traceTree(traceId, trace.spans, trace.logs);
    lines.push(...backendLines(traceId, drawn, trace.logs));
    return lines;
  }

  function backendLines(traceId: string, spans: ReceivedSpan[], logs: ReceivedLog[]): string[] {
    const perService = new Map<string, number>();
    for (const span of spans)
      perService.set(service(span.resource), (perService.get(service(span.resource)) ?? 0) + 1);
    const lines = [
      `  Tempo       { trace:id = "${traceId}" }  ${spans.length} spans: ${[...perService].map(([name, n]) => `resource.service.name="${name}" ${n}`).join(", ")}`,
    ];
    // Loki: one stream per set of index labels (here: per service); the rest of the resource
    // and the record's own fields are structured metadata.
    const order = (log: ReceivedLog) => spans.findIndex((span) => span.spanId === log.spanId);
    const records = logs.toSorted((a, b) => order(a) - order(b)).map(collected);
    const streams = new Map<string, { record: LogRecord; metadata: Set<string> }>();
    translateLogs(records).forEach((entry, i) => {
      const key = JSON.stringify(entry.labels);
      const stream = streams.get(key) ?? { record: records[i] as LogRecord, metadata: new Set() };
      for (const k of Object.keys(entry.metadata)) stream.metadata.add(k);
      streams.set(key, stream);
    });
    const lokiLabels = (record: LogRecord) => (resource: Attributes) =>
      translateLogs([{ ...record, resource: { attributes: resource } }])[0]?.labels ?? {};
    for (const [key, { record, metadata }] of streams) {
      // The query names the stream by service_name alone, so it can be copied as it is (the
      // instance id is shortened on the stream line below, for the eye).
      const labels: Record<string, string> = JSON.parse(key);
      lines.push(
        `  Loki        {service_name="${labels.service_name}"} | trace_id="${traceId}"`,
        `                stream   ${labelText(labels)}`,
      );
      const [first = "", ...more] = wrap([...metadata], 100, 2, ", ");
      lines.push(
        `                metadata ${first}`,
        ...more.map((l) => `                         ${l}`),
      );
      const extra = clusterOnly("logs", record.resource.attributes, lokiLabels(record));
      if (extra.length)
        lines.push(`                in the cluster also labels ${extra.join(", ")}`);
    }
    // Prometheus: the points this request's spans fed, in tree order, as Prometheus's OTLP
    // receiver names them (apps/backend-report.ts, shared with `bun run explain`).
    const points = pointsOfSpans(spans.map(collected), [...latest.values()].map(collected));
    const families = seriesFamilies(
      translateMetrics(points, prometheus).filter((series) => series.name !== "target_info"),
    );
    for (const { name, labels, suffixes } of families)
      lines.push(
        `  Prometheus  ${suffixes.length ? `${name}_{${suffixes.join(",")}}` : name}${labelText(labels)}`,
      );
    if (families.length === 0)
      lines.push("  Prometheus  (no metric point of this request exported yet)");
    const extra = clusterOnly(
      "metrics",
      collected(spans[0] as ReceivedSpan).resource.attributes,
      promLabels,
    );
    if (extra.length)
      lines.push(`                in the cluster every series also gets ${extra.join(", ")}`);
    return lines;
  }

  /**
   * The metric streams that changed since the last table, one line each: counters and histograms
   * by how much they grew (histograms with their mean), up-down counters by their value now.
   * Gauges (process.uptime) change on every export and are left out. Then how many traces were
   * sampled into trees. Nothing when idle.
   */
  function summary(seconds: number): string[] {
    const rows: string[][] = [];
    const now = new Map<string, { count: number; sum: number }>();
    for (const [key, point] of latest) {
      if (point.type !== "sum" && point.type !== "histogram") continue;
      // The SDK's own metrics only when they count a loss (error.type: queue_full, an export error).
      if (point.metric.startsWith("otel.sdk.") && !("error.type" in point.attributes)) continue;
      const count = point.count ?? point.value ?? 0;
      now.set(key, { count, sum: point.sum ?? 0 });
      const before = summarised.get(key) ?? { count: 0, sum: 0 };
      const grew = count - before.count;
      // An up-down counter seen for the first time did not change (a queue's capacity).
      if (grew === 0 || (!point.monotonic && point.type === "sum" && !summarised.has(key)))
        continue;
      const unit = point.unit === "1" || point.unit === "" ? "" : ` ${point.unit}`;
      let change = point.monotonic ? `+${grew}${unit}` : `now ${count}${unit}`;
      if (point.type === "histogram") {
        const mean = ((point.sum ?? 0) - before.sum) / grew;
        const meanText =
          point.unit === "s"
            ? `${(mean * 1000).toFixed(1)} ms`
            : `${Number(mean.toPrecision(3))}${unit}`;
        change = `+${grew}  ${(grew / seconds).toFixed(1)}/s  mean ${meanText}`;
      }
      const attributes = pairs(point.attributes).join(" ");
      rows.push([service(point.resource), point.metric, change, attributes]);
    }
    summarised = now;
    const lines: string[] = [];
    if (rows.length) {
      // By service, metric and attributes: a stream keeps its place from one table to the next.
      const order = (row: string[]) => `${row[0]} ${row[1]} ${row[3]}`;
      rows.sort((a, b) => order(a).localeCompare(order(b)));
      const widths = [0, 1, 2].map((c) =>
        Math.max(...rows.map((row) => (row[c] as string).length)),
      );
      const shown = rows
        .slice(0, maxTableRows)
        .map((row) =>
          `  ${row.map((cell, c) => (c < 3 ? cell.padEnd(widths[c] as number) : cell)).join("  ")}`.trimEnd(),
        );
      lines.push(`── metric streams that changed, last ${seconds} s (${rows.length})`, ...shown);
      if (rows.length > maxTableRows) lines.push(`  … +${rows.length - maxTableRows} more streams`);
    }
    if (notDrawn)
      lines.push(
        `── sampled: ${treesInWindow} of ${treesInWindow + notDrawn} traces drawn (${drawnAtMost}); \`bun run trace <id>\` prints any of the last ${keptTraces}`,
      );
    notDrawn = 0;
    return lines;
  }

  let windowStart = Date.now();
  const printSummary = () => {
    const lines = summary(Math.max(1, Math.round((Date.now() - windowStart) / 1000)));
    if (lines.length) write(`${lines.join("\n")}\n\n`);
    windowStart = Date.now();
    treesInWindow = 0;
  };
  const timer = setInterval(() => {
    printDue();
    if (Date.now() - windowStart >= windowMs) printSummary();
  }, 100);

  return {
    /** What dev says first about its telemetry. */
    firstLine: `each request prints as a trace tree and what Prometheus, Loki and Tempo make of it (${drawnAtMost}: beyond that sampled, and counted), and every ${windowMs / 1000} s the metric streams that changed`,
    receive,
    /** Prints every trace still waiting and the summary; for shutdown, once the services exported. */
    flush() {
      clearInterval(timer);
      printDue(true);
      printSummary();
    },
  };
}
