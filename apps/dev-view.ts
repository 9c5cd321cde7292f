// What `bun run dev` prints of the services' telemetry (docs/services.md#run-them-locally). The
// services export OTLP to a receiver inside dev (apps/telemetry/testing/otlp-receiver.ts), as
// they would to the Collector; this view groups spans by trace and prints each finished trace as
// a tree with its log records under their spans, then what Tempo, Loki and Prometheus make of it,
// computed with the project's pipeline model (model/), not written by hand. Request
// metrics are summed up every 10 s instead of printing every point.

import { type Attributes, collected, type LogRecord } from "../model/collected.ts";
import type { Pod } from "../model/collector.ts";
import { collectorModel, enrich, type Signal } from "../model/collector.ts";
import { translateLogs } from "../model/loki-otlp.ts";
import {
  prometheusOtlpSettings,
  resourceLabels,
  translateMetrics,
} from "../model/prometheus-otlp.ts";
import type {
  ReceivedDataPoint,
  ReceivedExport,
  ReceivedLog,
  ReceivedSpan,
} from "./telemetry/testing/otlp-receiver.ts";

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

// The request metric of the HTTP semantic conventions, which both services record.
const requestDuration = "http.server.request.duration";
// A trace whose root never arrives (its parent is outside, or lost) is printed after this.
const orphanAfterMs = 3000;

const durationMs = (span: ReceivedSpan) =>
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
function wrap(items: string[], width: number, maxLines: number, separator = " "): string[] {
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
    const ids = new Set(trace.spans.map((s) => s.spanId));
    const byStart = (a: ReceivedSpan, b: ReceivedSpan) =>
      Number(BigInt(a.startTimeUnixNano) - BigInt(b.startTimeUnixNano));
    const children = (parent: string) =>
      trace.spans.filter((s) => s.parentSpanId === parent).sort(byStart);
    // Roots: spans whose parent is not in the trace (none for a request that came with its own
    // traceparent and whose caller exported nowhere).
    const roots = trace.spans.filter((s) => !ids.has(s.parentSpanId)).sort(byStart);
    const root = roots[0] as ReceivedSpan;
    const status = root.attributes["http.response.status_code"] ?? "";
    const lines = [
      `── trace ${traceId}  ${root.name}  ${status}  ${durationMs(root).toFixed(1)} ms`,
    ];
    const drawn: ReceivedSpan[] = [];
    const draw = (span: ReceivedSpan, depth: number) => {
      drawn.push(span);
      const indent = "  ".repeat(depth + 1);
      const code = shortEnum(span.status.code, "STATUS_CODE_").toLowerCase();
      const message = span.status.message ? ` "${span.status.message}"` : "";
      lines.push(
        `${indent}${span.name}  ${shortEnum(span.kind, "SPAN_KIND_")}  ${durationMs(span).toFixed(1)} ms  ${code}${message}  [${service(span.resource)}]`,
      );
      for (const line of wrap(pairs(span.attributes), 110, 3)) lines.push(`${indent}    ${line}`);
      for (const log of trace.logs.filter((l) => l.spanId === span.spanId)) {
        const [attributes = ""] = wrap(pairs(log.attributes), 80, 1);
        lines.push(`${indent}    log ${log.severityText} "${log.body}"  ${attributes}`.trimEnd());
      }
      for (const child of children(span.spanId)) draw(child, depth + 1);
    };
    for (const span of roots) draw(span, 0);
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
      lines.push(`  Loki        ${labelText(JSON.parse(key))} | trace_id="${traceId}"`);
      const [first = "", ...more] = wrap([...metadata], 100, 2, ", ");
      lines.push(
        `                metadata ${first}`,
        ...more.map((l) => `                         ${l}`),
      );
      const extra = clusterOnly("logs", record.resource.attributes, lokiLabels(record));
      if (extra.length)
        lines.push(`                in the cluster also labels ${extra.join(", ")}`);
    }
    // Prometheus: the points this request's spans fed (a point whose every attribute is on the
    // span, in the span's service), in tree order, as Prometheus's OTLP receiver names them.
    const points = spans.flatMap((span) =>
      [...latest.values()].filter(
        (point) =>
          Object.keys(point.attributes).length > 0 &&
          service(span.resource) === service(point.resource) &&
          Object.entries(point.attributes).every(([k, v]) => span.attributes[k] === v),
      ),
    );
    const families = new Map<
      string,
      { name: string; labels: Record<string, string>; suffixes: string[] }
    >();
    for (const series of translateMetrics(points.map(collected), prometheus)) {
      if (series.name === "target_info") continue;
      const { le: _, ...labels } = series.labels;
      const [, name = series.name, suffix] = series.name.match(/^(.*)_(bucket|sum|count)$/) ?? [];
      const key = `${name}${JSON.stringify(labels)}`;
      const family = families.get(key) ?? { name, labels, suffixes: [] };
      if (suffix && !family.suffixes.includes(suffix)) family.suffixes.push(suffix);
      families.set(key, family);
    }
    for (const { name, labels, suffixes } of families.values())
      lines.push(
        `  Prometheus  ${suffixes.length ? `${name}_{${suffixes.join(",")}}` : name}${labelText(labels)}`,
      );
    if (families.size === 0)
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

  /** Request counts per service, route and status since the last summary; nothing when idle. */
  function summary(seconds: number): string[] {
    const now = new Map<string, { count: number; sum: number }>();
    const lines: string[] = [];
    for (const point of latest.values()) {
      if (point.metric !== requestDuration) continue;
      const a = point.attributes;
      const key = `${service(point.resource)}  ${a["http.request.method"]} ${a["http.route"] ?? "(no route)"} ${a["http.response.status_code"]}`;
      now.set(key, { count: point.count ?? 0, sum: point.sum ?? 0 });
      const before = summarised.get(key) ?? { count: 0, sum: 0 };
      const count = (point.count ?? 0) - before.count;
      if (count <= 0) continue;
      const meanMs = (((point.sum ?? 0) - before.sum) / count) * 1000;
      lines.push(
        `  ${key}  ${count} req  ${(count / seconds).toFixed(1)}/s  mean ${meanMs.toFixed(1)} ms`,
      );
    }
    summarised = now;
    lines.sort();
    if (notDrawn) lines.push(`  ${notDrawn} more traces not drawn (${drawnAtMost})`);
    notDrawn = 0;
    return lines.length ? [`── ${requestDuration}, last ${seconds} s`, ...lines] : [];
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
    firstLine: `each request prints as a trace tree and what Prometheus, Loki and Tempo make of it (${drawnAtMost}, the others counted), request metrics every ${windowMs / 1000} s`,
    receive,
    /** Prints every trace still waiting and the summary; for shutdown, once the services exported. */
    flush() {
      clearInterval(timer);
      printDue(true);
      printSummary();
    },
  };
}
