// The telemetry names our services emit (OpenTelemetry) and the names they get in Prometheus.
// Dashboards, alert rules and bootstrap/verify.ts query these, so they are derived here once
// with the translation Prometheus's OTLP receiver applies (model/prometheus-otlp.ts),
// instead of being retyped in each query. gitops/pipeline/pipeline.test.ts checks every query
// against the series the services really produce.

import { SERVICES, type Service } from "../../bootstrap/lib/names.ts";
import { labelName, metricName } from "../../model/prometheus-otlp.ts";

/** An up-down counter is an OTLP non-monotonic sum: a gauge in Prometheus, named without _ratio. */
export type InstrumentType = "histogram" | "counter" | "updowncounter" | "gauge";

export interface OtelMetric {
  name: string;
  unit: string;
  type: InstrumentType;
  attributes: string[];
}

/** Prometheus metric family name for an OTLP metric (histograms add _bucket/_sum/_count). */
export function prometheusMetricName(metric: Pick<OtelMetric, "name" | "unit" | "type">): string {
  return metricName(
    metric.name,
    metric.unit,
    metric.type === "updowncounter" ? "non-monotonic-counter" : metric.type,
  );
}

/** Prometheus label name for an OTLP attribute. */
export const prometheusLabelName = labelName;

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
  attributes: [
    "http.request.method",
    "url.scheme",
    "http.route",
    "http.response.status_code",
    "error.type",
  ],
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
  unit: "{lookup}",
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

// The SDK's own metrics (apps/telemetry turns them on), per batch processor: the items whose
// processing ended, exported or lost (error.type: queue_full when dropped on a full queue, the
// exporter error's name when an export failed), and how full its queue is.
const processor = (signal: "span" | "log", unit: string) => {
  const component = ["otel.component.type", "otel.component.name"];
  const metric = (name: string, type: InstrumentType, attributes: string[]): OtelMetric => ({
    name: `otel.sdk.processor.${signal}.${name}`,
    unit,
    type,
    attributes,
  });
  return {
    processed: metric("processed", "counter", [...component, "error.type"]),
    queueSize: metric("queue.size", "updowncounter", component),
    queueCapacity: metric("queue.capacity", "updowncounter", component),
  };
};
export const spanProcessor = processor("span", "{span}");
export const logProcessor = processor("log", "{log_record}");

export const emittedMetrics = [
  serverDuration,
  clientDuration,
  userLookups,
  processUptime,
  ...Object.values(spanProcessor),
  ...Object.values(logProcessor),
];

// service.name of each service: the project's one list of services.
export const services = SERVICES;
export type ServiceName = Service;

// Handy constants for queries.
export const SERVER = prometheusMetricName(serverDuration);
export const CLIENT = prometheusMetricName(clientDuration);
export const LOOKUPS = prometheusMetricName(userLookups);
export const ROUTE = prometheusLabelName("http.route");
export const STATUS = prometheusLabelName("http.response.status_code");
export const ERROR_TYPE = prometheusLabelName("error.type");
export const SDK = {
  spans: {
    processed: prometheusMetricName(spanProcessor.processed),
    queueSize: prometheusMetricName(spanProcessor.queueSize),
    queueCapacity: prometheusMetricName(spanProcessor.queueCapacity),
  },
  logs: {
    processed: prometheusMetricName(logProcessor.processed),
    queueSize: prometheusMetricName(logProcessor.queueSize),
    queueCapacity: prometheusMetricName(logProcessor.queueCapacity),
  },
};
