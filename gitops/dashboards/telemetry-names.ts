// The telemetry names our services emit (OpenTelemetry) and the names they get in Prometheus.
// Dashboards, alert rules and bootstrap/verify.ts query these, so they are derived here once
// with the translation Prometheus's OTLP receiver applies (translation strategy
// UnderscoreEscapingWithSuffixes, the default), instead of being retyped in each query.

import { SERVICES, type Service } from "../../bootstrap/lib/names.ts";

export type InstrumentType = "histogram" | "counter" | "gauge";

export interface OtelMetric {
  name: string;
  unit: string;
  type: InstrumentType;
  attributes: string[];
}

// UCUM units Prometheus spells out as a name suffix (subset relevant to this project).
const unitSuffixes: Record<string, string> = {
  s: "seconds",
  ms: "milliseconds",
  By: "bytes",
  "%": "percent",
};

// Anything outside [a-zA-Z0-9_] becomes "_"; runs of "_" collapse; a leading digit gets "_".
function escapeName(name: string): string {
  const escaped = name.replace(/[^a-zA-Z0-9_:]/g, "_").replace(/__+/g, "_");
  return /^[0-9]/.test(escaped) ? `_${escaped}` : escaped;
}

/** Prometheus metric family name for an OTLP metric (histograms add _bucket/_sum/_count). */
export function prometheusMetricName(metric: Pick<OtelMetric, "name" | "unit" | "type">): string {
  let name = escapeName(metric.name);
  // Annotation units such as "{request}" say nothing Prometheus can use and are dropped;
  // "1" becomes "_ratio" on gauges only.
  const unit = metric.unit.replace(/\{[^}]*\}/g, "");
  const suffix =
    unit === "1"
      ? metric.type === "gauge"
        ? "ratio"
        : ""
      : (unitSuffixes[unit] ?? escapeName(unit));
  if (suffix && !name.endsWith(`_${suffix}`)) name = `${name}_${suffix}`;
  if (metric.type === "counter" && !name.endsWith("_total")) name = `${name}_total`;
  return name;
}

/** Prometheus label name for an OTLP attribute. */
export function prometheusLabelName(attribute: string): string {
  const escaped = attribute.replace(/[^a-zA-Z0-9_]/g, "_");
  return /^[0-9]/.test(escaped) ? `key_${escaped}` : escaped;
}

/** The series names Prometheus stores for a metric family. */
export function prometheusSeriesNames(metric: OtelMetric): string[] {
  const family = prometheusMetricName(metric);
  return metric.type === "histogram"
    ? [`${family}_bucket`, `${family}_sum`, `${family}_count`]
    : [family];
}

// What the services emit (see the contract in apps/telemetry).
export const serverDuration: OtelMetric = {
  name: "http.server.request.duration",
  unit: "s",
  type: "histogram",
  attributes: ["http.request.method", "http.route", "http.response.status_code", "error.type"],
};

export const clientDuration: OtelMetric = {
  name: "http.client.request.duration",
  unit: "s",
  type: "histogram",
  attributes: [
    "http.request.method",
    "server.address",
    "server.port",
    "http.response.status_code",
    "error.type",
  ],
};

export const userLookups: OtelMetric = {
  name: "user.lookups",
  unit: "",
  type: "counter",
  attributes: ["outcome"],
};

// Exported every interval even with no traffic, so an idle service keeps its target_info.
export const processUptime: OtelMetric = {
  name: "process.uptime",
  unit: "s",
  type: "gauge",
  attributes: [],
};

export const emittedMetrics = [serverDuration, clientDuration, userLookups, processUptime];

// service.name of each service: the project's one list of services.
export const services = SERVICES;
export type ServiceName = Service;

// Labels the OTLP receiver adds to every series: job = service.namespace/service.name (we set
// no namespace, so job = service.name), instance = service.instance.id, and the resource
// attributes promoted in gitops/values/kube-prometheus-stack.yaml (otlp.promoteResourceAttributes).
export const promotedResourceAttributes = [
  "deployment.environment.name",
  "k8s.namespace.name",
  "k8s.pod.name",
];
export const receiverLabels = [
  "job",
  "instance",
  ...promotedResourceAttributes.map(prometheusLabelName),
];

// Series produced by Tempo's metrics-generator (service graphs and span metrics), remote-written
// into Prometheus. Their names are Tempo's, not a translation of ours.
export const tempoGeneratedSeries: Record<string, string[]> = {
  traces_service_graph_request_total: ["client", "server", "connection_type"],
  traces_service_graph_request_failed_total: ["client", "server", "connection_type"],
  traces_spanmetrics_latency_bucket: ["service", "span_name", "span_kind", "status_code", "le"],
  traces_spanmetrics_calls_total: ["service", "span_name", "span_kind", "status_code"],
};

// Series the OTLP receiver adds: target_info carries each resource's attributes (one series per
// service instance while it sends metrics).
export const receiverSeries: Record<string, string[]> = {
  target_info: [...receiverLabels, "service_version"],
};

// Labels each Prometheus series has: the translated attributes plus the receiver's labels.
export function knownSeries(): Map<string, Set<string>> {
  const known = new Map<string, Set<string>>();
  for (const metric of emittedMetrics) {
    const labels = [...metric.attributes.map(prometheusLabelName), ...receiverLabels];
    for (const series of prometheusSeriesNames(metric)) {
      known.set(series, new Set(series.endsWith("_bucket") ? [...labels, "le"] : labels));
    }
  }
  for (const [series, labels] of Object.entries({
    ...tempoGeneratedSeries,
    ...receiverSeries,
  })) {
    known.set(series, new Set(labels));
  }
  return known;
}

// Handy constants for queries.
export const SERVER = prometheusMetricName(serverDuration);
export const CLIENT = prometheusMetricName(clientDuration);
export const LOOKUPS = prometheusMetricName(userLookups);
export const ROUTE = prometheusLabelName("http.route");
export const STATUS = prometheusLabelName("http.response.status_code");
