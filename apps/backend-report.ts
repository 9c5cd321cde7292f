// One request's telemetry in every backend's terms: for the spans, log records and metric points
// of one trace, what the services emitted and what Prometheus, Loki and Tempo (and Tempo's
// metrics-generator) hold of it after the Collector as gitops/values configures it, each with a
// ready query and a Grafana Explore link. Every name comes from the pipeline model
// (model/backends.ts `backends`), never from a table here. `bun run explain` prints it
// (apps/explain.ts); `bun run dev` prints a short form (apps/dev-view.ts).
import { TARGETS } from "../bootstrap/open.ts";
import { backends } from "../model/backends.ts";
import type { Attributes, LogRecord, MetricPoint, Span } from "../model/collected.ts";
import { collectorModel, type Pod } from "../model/collector.ts";
import { labelName, type PromSeries } from "../model/prometheus-otlp.ts";
import { loadYaml } from "../model/yaml.ts";

/** One trace's telemetry, as dev's receiver keeps it (GET /dev/traces/<id>). */
export interface TraceTelemetry {
  traceId: string;
  spans: Span[];
  logs: LogRecord[];
  /** The metric points the request fed (cumulative, from the exports after it). */
  metrics: MetricPoint[];
}

export type Language = "PromQL" | "LogQL" | "TraceQL";

export interface Query {
  language: Language;
  text: string;
  /** Grafana Explore with this query in the data source gitops/values provisions for it. */
  explore: string;
}

/** Series of one family: a histogram's _bucket, _sum and _count are one entry. */
export interface SeriesFamily {
  /** The series name, or a histogram's name without _bucket/_sum/_count. */
  name: string;
  /** ["bucket", "sum", "count"] for a histogram, [] for a single series. */
  suffixes: string[];
  /** The labels of its series (without `le`). */
  labels: Record<string, string>;
  query: Query;
}

export interface SpanReport {
  service: string;
  name: string;
  kind: string;
  status: string;
  durationMs: number;
  /** What the service emitted on the span. */
  attributes: Attributes;
  /** What Tempo holds: the resource after the Collector, and the span's own attributes. */
  tempo: { resource: Attributes; span: Attributes };
  /** Spans like this one (its service, name and status), in TraceQL. */
  query: Query;
}

export interface LogReport {
  service: string;
  severity: string;
  body: string;
  attributes: Attributes;
  /** What Loki holds: the stream's (index) labels, and structured metadata. */
  loki: { labels: Record<string, string>; metadata: Record<string, string> };
}

export interface PointReport {
  service: string;
  metric: string;
  type: string;
  unit: string;
  monotonic: boolean;
  attributes: Attributes;
  /** The Prometheus series this point becomes (OTLP receiver translation). */
  prometheus: SeriesFamily[];
}

export interface Report {
  traceId: string;
  traces: {
    spans: SpanReport[];
    /** The whole trace in Tempo. */
    query: Query;
    /** What Tempo's metrics-generator remote-writes to Prometheus for these spans. */
    spanMetrics: SeriesFamily[];
    serviceGraph: SeriesFamily[];
  };
  logs: {
    records: LogReport[];
    /** One per stream, with the LogQL that finds this trace's lines in it. */
    streams: { labels: Record<string, string>; query: Query }[];
  };
  metrics: {
    points: PointReport[];
    /** One per service: the resource attributes that are not labels of every series. */
    targetInfo: SeriesFamily[];
  };
}

// --- Grafana Explore ------------------------------------------------------------------------

export interface Grafana {
  url: string;
  /** Data source uid per query language. */
  datasources: Record<Language, { type: string; uid: string }>;
}

const kubePrometheusStackValues = "gitops/values/kube-prometheus-stack.yaml";
const languageOf: Record<string, Language> = {
  prometheus: "PromQL",
  loki: "LogQL",
  tempo: "TraceQL",
};

/**
 * The Grafana of the laptop stack: the URL `bun bootstrap/open.ts grafana` prints (the laptop
 * profile maps the same port), and the data sources gitops/values provisions.
 */
export function laptopGrafana(valuesFile = kubePrometheusStackValues): Grafana {
  const values = loadYaml<{
    grafana?: { additionalDataSources?: { type: string; uid: string }[] };
  }>(valuesFile);
  const datasources: Partial<Grafana["datasources"]> = {};
  for (const { type, uid } of values.grafana?.additionalDataSources ?? []) {
    const language = languageOf[type];
    if (language) datasources[language] ??= { type, uid };
  }
  for (const language of Object.values(languageOf))
    if (!datasources[language])
      throw new Error(`${valuesFile}: no Grafana data source for ${language}`);
  return {
    url: `http://localhost:${TARGETS.grafana?.localPort}`,
    datasources: datasources as Grafana["datasources"],
  };
}

/**
 * An Explore link: `/explore?schemaVersion=1&panes=<JSON>&orgId=1`, one pane with one query, as
 * Grafana writes its own URLs (grafana/grafana public/app/features/explore/hooks/useStateSync,
 * the pane state of `getUrlStateFromPaneState`: datasource, queries, range). Prometheus and Loki
 * read the query from `expr`, Tempo from `query` with queryType "traceql".
 */
export function exploreLink(grafana: Grafana, language: Language, text: string): string {
  const datasource = grafana.datasources[language];
  const query =
    language === "TraceQL"
      ? { refId: "A", datasource, queryType: "traceql", query: text }
      : { refId: "A", datasource, expr: text };
  const panes = {
    explain: { datasource: datasource.uid, queries: [query], range: { from: "now-1h", to: "now" } },
  };
  const params = new URLSearchParams({
    schemaVersion: "1",
    panes: JSON.stringify(panes),
    orgId: "1",
  });
  return `${grafana.url}/explore?${params}`;
}

// --- the report -----------------------------------------------------------------------------

const serviceOf = (resource: Attributes) => resource["service.name"] ?? "";
const durationMs = (span: Span) =>
  Number(BigInt(span.endTimeUnixNano) - BigInt(span.startTimeUnixNano)) / 1e6;
// PromQL, LogQL and TraceQL string literals all take a JSON string (double quotes, \ escapes).
const quoted = (value: string) => JSON.stringify(value);
const matchers = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([name, value]) => `${name}=${quoted(value)}`)
    .join(", ");

/** A histogram's _bucket/_sum/_count series as one family; other series as they are. */
export function seriesFamilies(series: PromSeries[]): Omit<SeriesFamily, "query">[] {
  const histograms = new Set(
    series.flatMap((s) => (s.name.endsWith("_bucket") ? [s.name.slice(0, -"_bucket".length)] : [])),
  );
  const families = new Map<string, Omit<SeriesFamily, "query">>();
  for (const s of series) {
    const { le: _, ...labels } = s.labels;
    const [, base = "", suffix = ""] = s.name.match(/^(.*)_(bucket|sum|count)$/) ?? [];
    const histogram = histograms.has(base);
    const name = histogram ? base : s.name;
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    const family = families.get(key) ?? { name, suffixes: [], labels };
    if (histogram && !family.suffixes.includes(suffix)) family.suffixes.push(suffix);
    families.set(key, family);
  }
  return [...families.values()];
}

/**
 * The points a request's spans fed: a point of the span's service whose every attribute the span
 * carries (a request metric keyed by route and status, not the process's own gauges).
 */
export function pointsOfSpans(spans: Span[], points: MetricPoint[]): MetricPoint[] {
  return points.filter((point) =>
    spans.some(
      (span) =>
        Object.keys(point.attributes).length > 0 &&
        serviceOf(span.resource.attributes) === serviceOf(point.resource.attributes) &&
        Object.entries(point.attributes).every(([k, v]) => span.attributes[k] === v),
    ),
  );
}

/** Spans depth-first from the root, each after its parent (start times tie at milliseconds). */
export function treeOrder(spans: Span[]): Span[] {
  const ids = new Set(spans.map((s) => s.spanId));
  const byStart = (a: Span, b: Span) =>
    Number(BigInt(a.startTimeUnixNano) - BigInt(b.startTimeUnixNano));
  const under = (parent: (s: Span) => boolean): Span[] =>
    spans
      .filter(parent)
      .toSorted(byStart)
      .flatMap((span) => [span, ...under((s) => s.parentSpanId === span.spanId)]);
  return under((s) => !ids.has(s.parentSpanId));
}

/**
 * The resource attributes the Collector's k8s_attributes (as gitops/values configures it) adds
 * from the pods, which this trace's telemetry does not carry itself.
 */
export function podAttributes(trace: TraceTelemetry): string[] {
  const { processors, pipelines } = collectorModel();
  const added = new Set<string>();
  for (const name of new Set(Object.values(pipelines).flat())) {
    if (!/^k8s_?attributes(\/|$)/.test(name)) continue;
    const extract = (processors[name]?.extract ?? {}) as {
      metadata?: string[];
      otel_annotations?: boolean;
    };
    for (const key of extract.metadata ?? []) added.add(key);
    if (extract.otel_annotations) added.add("the pods' resource.opentelemetry.io/* annotations");
  }
  const resources = [...trace.spans, ...trace.logs, ...trace.metrics].map(
    (item) => item.resource.attributes,
  );
  return [...added].filter((key) => resources.some((attributes) => !(key in attributes)));
}

/**
 * What the backends hold of one trace's telemetry. `pods` are the pods the services run in on the
 * cluster, which the Collector's k8s_attributes processor looks up (capture.ts `renderPod`);
 * undefined where they cannot be rendered: then the resources lack what k8s_attributes adds.
 */
export function explainTrace(
  trace: TraceTelemetry,
  pods: Record<string, Pod> | undefined,
  grafana: Grafana,
): Report {
  const query = (language: Language, text: string): Query => ({
    language,
    text,
    explore: exploreLink(grafana, language, text),
  });
  const held = (telemetry: Partial<Pick<TraceTelemetry, "spans" | "logs" | "metrics">>) =>
    backends({ spans: [], logs: [], metrics: [], ...telemetry, pods });

  // Traces: Tempo keeps each span with its resource as the Collector delivers it.
  const inTempo = held({ spans: treeOrder(trace.spans) });
  const spans = inTempo.tempo.map((span): SpanReport => {
    const service = serviceOf(span.resource.attributes);
    const emitted = trace.spans.find((s) => s.spanId === span.spanId) ?? span;
    const status = span.status.code.replace("STATUS_CODE_", "").toLowerCase();
    return {
      service,
      name: span.name,
      kind: span.kind.replace("SPAN_KIND_", "").toLowerCase(),
      status,
      durationMs: durationMs(span),
      attributes: emitted.attributes,
      tempo: { resource: span.resource.attributes, span: span.attributes },
      query: query(
        "TraceQL",
        `{ resource.service.name = ${quoted(service)} && name = ${quoted(span.name)} && status = ${status} }`,
      ),
    };
  });
  const generated = (prefix: string, identity: string[]) =>
    seriesFamilies(inTempo.prometheus.filter((s) => s.name.startsWith(prefix))).map((family) => {
      const selected = Object.fromEntries(
        identity.flatMap((label) =>
          family.labels[label] === undefined ? [] : [[label, family.labels[label]]],
        ),
      );
      const series = family.suffixes.length ? `${family.name}_count` : family.name;
      return { ...family, query: query("PromQL", `rate(${series}{${matchers(selected)}}[5m])`) };
    });

  // Logs: one Loki entry per record, in the order given.
  const inLoki = held({ logs: trace.logs }).loki;
  const records = trace.logs.map(
    (record, i): LogReport => ({
      service: serviceOf(record.resource.attributes),
      severity: record.severityText,
      body: typeof record.body === "string" ? record.body : JSON.stringify(record.body),
      attributes: record.attributes,
      loki: inLoki[i] ?? { labels: {}, metadata: {} },
    }),
  );
  const streams = new Map<string, { labels: Record<string, string>; query: Query }>();
  for (const { loki } of records) {
    const key = JSON.stringify(loki.labels);
    if (streams.has(key)) continue;
    // service_name is the stream label that says the same in every cluster; the pod's labels
    // change with each rollout.
    const selector = `{service_name=${quoted(loki.labels.service_name ?? "")}}`;
    streams.set(key, {
      labels: loki.labels,
      query: query("LogQL", `${selector} | trace_id=${quoted(trace.traceId)}`),
    });
  }

  // Metrics: each point's series, as Prometheus's OTLP receiver names them; target_info apart.
  const targetInfo = new Map<string, SeriesFamily>();
  // A stream exported more than once (cumulative) is reported once, as last exported.
  const streamsOfPoints = new Map<string, MetricPoint>();
  for (const point of trace.metrics)
    streamsOfPoints.set(
      JSON.stringify([point.resource.attributes, point.metric, point.attributes]),
      point,
    );
  const points = [...streamsOfPoints.values()].map((point): PointReport => {
    const series = held({ metrics: [point] }).prometheus;
    for (const info of seriesFamilies(series.filter((s) => s.name === "target_info"))) {
      const job = info.labels.job ?? "";
      if (!targetInfo.has(job))
        targetInfo.set(job, { ...info, query: query("PromQL", `target_info{job=${quoted(job)}}`) });
    }
    const ownLabels = new Set(Object.keys(point.attributes).map((key) => labelName(key)));
    return {
      service: serviceOf(point.resource.attributes),
      metric: point.metric,
      type: point.type,
      unit: point.unit,
      monotonic: point.monotonic,
      attributes: point.attributes,
      prometheus: seriesFamilies(series.filter((s) => s.name !== "target_info")).map((family) => {
        // Selected by job and the point's own labels: instance and the pod's labels change with
        // every restart.
        const selected = Object.fromEntries(
          Object.entries(family.labels).filter(([k]) => k === "job" || ownLabels.has(k)),
        );
        const counted = family.suffixes.length
          ? `${family.name}_count`
          : point.type === "sum" && point.monotonic
            ? family.name
            : undefined;
        const text = counted
          ? `rate(${counted}{${matchers(selected)}}[5m])`
          : `${family.name}{${matchers(selected)}}`;
        return { ...family, query: query("PromQL", text) };
      }),
    };
  });

  return {
    traceId: trace.traceId,
    traces: {
      spans,
      query: query("TraceQL", `{ trace:id = ${quoted(trace.traceId)} }`),
      spanMetrics: generated("traces_spanmetrics_", [
        "service",
        "span_name",
        "span_kind",
        "status_code",
      ]),
      serviceGraph: generated("traces_service_graph_", ["client", "server"]),
    },
    logs: { records, streams: [...streams.values()] },
    metrics: { points, targetInfo: [...targetInfo.values()] },
  };
}

// --- as text --------------------------------------------------------------------------------

const width = 100;
const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`;
const pairs = (attributes: Record<string, string>, prefix = "") =>
  Object.entries(attributes).map(([k, v]) => `${prefix}${k}=${quoted(v)}`);

/** Items on lines of at most `width` characters, each line after the first indented. */
function wrapped(label: string, items: string[], indent: string): string[] {
  const lines: string[] = [];
  let line = `${indent}${label.padEnd(10)}`;
  const start = line.length;
  for (const item of items) {
    if (line.length > start && line.length + 1 + item.length > width) {
      lines.push(line);
      line = " ".repeat(start);
    }
    line += line.length > start ? ` ${item}` : item;
  }
  if (items.length === 0) line += "(none)";
  lines.push(line);
  return lines;
}

const queryLines = (q: Query, indent: string) => [
  `${indent}${q.language.padEnd(10)}${q.text}`,
  `${indent}${"Explore".padEnd(10)}${q.explore}`,
];
const familyName = (f: Omit<SeriesFamily, "query">) =>
  f.suffixes.length ? `${f.name}_{${f.suffixes.join(",")}}` : f.name;

/** Families with the same labels on one entry: names, labels, the first family's query. */
function generatorLines(families: SeriesFamily[]): string[] {
  const byLabels = new Map<string, SeriesFamily[]>();
  for (const f of families) {
    const key = JSON.stringify(f.labels);
    byLabels.set(key, [...(byLabels.get(key) ?? []), f]);
  }
  return [...byLabels.values()].flatMap((group) => {
    const first = group[0] as SeriesFamily;
    return [
      ...wrapped("series", group.map(familyName), "  "),
      ...wrapped("labels", pairs(first.labels), "  "),
      ...queryLines(first.query, "  "),
      "",
    ];
  });
}

/** The report for a terminal: per signal, what was emitted and what each backend holds. */
export function formatReport(report: Report): string {
  const { traces, logs, metrics } = report;
  const out: string[] = [];
  const indent = "      ";
  out.push(`── Traces: ${count(traces.spans.length, "span")}, kept by Tempo as they came`);
  for (const service of new Set(traces.spans.map((span) => span.service))) {
    const spans = traces.spans.filter((span) => span.service === service);
    out.push(
      `  ${service}: its resource after the Collector`,
      ...wrapped("resource", pairs(spans[0]?.tempo.resource ?? {}, "resource."), indent),
    );
    for (const span of spans)
      out.push(
        `    ${span.name}  ${span.kind}  status ${span.status}  ${span.durationMs.toFixed(1)} ms`,
        ...wrapped("span", pairs(span.tempo.span, "span."), indent),
        ...queryLines(span.query, indent),
      );
  }
  out.push("  the whole trace", ...queryLines(traces.query, indent), "");

  out.push("── Span metrics: Tempo's metrics-generator writes these to Prometheus, per span");
  out.push(...generatorLines(traces.spanMetrics));
  out.push("── Service graph: the generator's series per edge (client → server)");
  if (traces.serviceGraph.length === 0) out.push("  (no edge in this trace)", "");
  out.push(...generatorLines(traces.serviceGraph));

  out.push(
    `── Logs: ${count(logs.records.length, "record")}; Loki indexes stream labels, keeps the rest as structured metadata`,
  );
  for (const stream of logs.streams) {
    const key = JSON.stringify(stream.labels);
    out.push(
      "  a stream",
      ...wrapped("labels", pairs(stream.labels), indent),
      ...queryLines(stream.query, indent),
    );
    for (const record of logs.records.filter((r) => JSON.stringify(r.loki.labels) === key))
      out.push(
        `    ${record.severity} ${quoted(record.body)}  ${pairs(record.attributes).join(" ")}`.trimEnd(),
        ...wrapped("metadata", pairs(record.loki.metadata), indent),
      );
  }
  if (logs.records.length === 0) out.push("  (no log record in this trace)");
  out.push("");

  out.push(
    `── Metrics: ${count(metrics.points.length, "stream")} this request fed, as Prometheus's OTLP receiver names them`,
  );
  if (metrics.points.length === 0) out.push("  (no metric point of this request arrived)");
  for (const point of metrics.points) {
    const kind =
      point.type === "sum" ? (point.monotonic ? "counter" : "up-down counter") : point.type;
    out.push(
      `  ${point.service}  ${point.metric}  ${kind}  unit ${quoted(point.unit)}  ${pairs(point.attributes).join(" ")}`.trimEnd(),
    );
    for (const family of point.prometheus)
      out.push(
        `    ${familyName(family)}`,
        ...wrapped("labels", pairs(family.labels), indent),
        ...queryLines(family.query, indent),
      );
  }
  out.push("  target_info: the rest of each resource, joined on (job, instance)");
  for (const info of metrics.targetInfo)
    out.push(...wrapped("labels", pairs(info.labels), indent), ...queryLines(info.query, indent));
  return `${out.join("\n")}\n`;
}
