// Tempo's metrics-generator: the span-metrics and service-graph series it remote-writes to
// Prometheus, from the spans (with resources as the Collector delivers them) and
// gitops/values/tempo.yaml. Followed upstream (grafana/tempo v2.10.8, chart tempo 2.2.4):
// - modules/generator/processor/spanmetrics: spanmetrics.go `aggregateMetricsForSpan` (labels
//   service, span_name, span_kind, status_code from the OTLP enums, e.g. SPAN_KIND_SERVER and
//   STATUS_CODE_ERROR, then each configured dimension, found on the resource or the span, with
//   its name sanitised; job and instance only with enable_target_info, off by default, so
//   service.namespace never reaches these series); config.go defaults (those four intrinsic
//   dimensions; latency, count and size subprocessors).
// - modules/generator/processor/servicegraphs/servicegraphs.go: an edge is a CLIENT span and the
//   SERVER span whose parent it is; `onComplete` labels client, server, connection_type ("" for
//   plain requests, so absent in Prometheus) and each dimension under its own sanitised name
//   (enable_client_server_prefix is off by default).
// - modules/generator/registry: external_labels are added to every series; histogram.go puts
//   the trace id on exemplars under the label traceID.

import type { Span } from "./collected.ts";
import type { PromSeries } from "./prometheus-otlp.ts";
import { loadYaml } from "./yaml.ts";

export const tempoValues = "gitops/values/tempo.yaml";

/** The label holding the trace id on the generator's exemplars (registry/histogram.go). */
export const exemplarTraceIdLabel = "traceID";

interface GeneratorValues {
  tempo?: {
    metricsGenerator?: {
      enabled?: boolean;
      registry?: { external_labels?: Record<string, string> };
      processor?: {
        service_graphs?: { dimensions?: string[]; enable_client_server_prefix?: boolean };
        span_metrics?: { dimensions?: string[]; enable_target_info?: boolean };
      };
    };
    overrides?: { defaults?: { metrics_generator?: { processors?: string[] } } };
  };
}

// prometheus/util/strutil SanitizeLabelName, which Tempo's validation package uses.
const sanitize = (name: string) => name.replace(/[^a-zA-Z0-9_]/g, "_");

// Latency histograms: exponential buckets 0.002 s × 2^n, n < 14 (spanmetrics config.go).
const latencyBuckets = [...Array.from({ length: 14 }, (_, n) => String(0.002 * 2 ** n)), "+Inf"];

const find = (key: string, span: Span) => span.resource.attributes[key] ?? span.attributes[key];
const withoutEmpty = (labels: Record<string, string>) =>
  Object.fromEntries(Object.entries(labels).filter(([, v]) => v !== ""));

/** The series Tempo's metrics-generator writes into Prometheus for these spans. */
export function generatorSeries(spans: Span[], valuesFile = tempoValues): PromSeries[] {
  const values = loadYaml<GeneratorValues>(valuesFile).tempo;
  const generator = values?.metricsGenerator;
  const enabled = values?.overrides?.defaults?.metrics_generator?.processors ?? [];
  if (!generator?.enabled) return [];
  const external = generator.registry?.external_labels ?? {};
  const spanMetrics = generator.processor?.span_metrics ?? {};
  const serviceGraphs = generator.processor?.service_graphs ?? {};
  if (spanMetrics.enable_target_info || serviceGraphs.enable_client_server_prefix)
    throw new Error(`pipeline model: ${valuesFile} sets a generator option that is not modelled`);

  const series = new Map<string, PromSeries>();
  const add = (name: string, labels: Record<string, string>, service: string) => {
    const clean = withoutEmpty({ ...labels, ...external });
    series.set(`${name}${JSON.stringify(Object.entries(clean).sort())}`, {
      name,
      labels: clean,
      service,
    });
  };

  if (enabled.includes("span-metrics")) {
    for (const span of spans) {
      const service = span.resource.attributes["service.name"] ?? "";
      const labels: Record<string, string> = {
        service,
        span_name: span.name,
        span_kind: span.kind,
        status_code: span.status.code,
      };
      for (const d of spanMetrics.dimensions ?? []) labels[sanitize(d)] = find(d, span) ?? "";
      add("traces_spanmetrics_calls_total", labels, service);
      add("traces_spanmetrics_size_total", labels, service);
      for (const le of latencyBuckets)
        add("traces_spanmetrics_latency_bucket", { ...labels, le }, service);
      add("traces_spanmetrics_latency_sum", labels, service);
      add("traces_spanmetrics_latency_count", labels, service);
    }
  }

  if (enabled.includes("service-graphs")) {
    for (const client of spans.filter((s) => s.kind === "SPAN_KIND_CLIENT")) {
      const server = spans.find(
        (s) =>
          s.kind === "SPAN_KIND_SERVER" &&
          s.traceId === client.traceId &&
          s.parentSpanId === client.spanId,
      );
      if (!server) continue;
      const clientService = client.resource.attributes["service.name"] ?? "";
      const labels: Record<string, string> = {
        client: clientService,
        server: server.resource.attributes["service.name"] ?? "",
        connection_type: "",
      };
      for (const d of serviceGraphs.dimensions ?? [])
        labels[sanitize(d)] = find(d, server) ?? find(d, client) ?? "";
      add("traces_service_graph_request_total", labels, clientService);
      if (client.status.code === "STATUS_CODE_ERROR" || server.status.code === "STATUS_CODE_ERROR")
        add("traces_service_graph_request_failed_total", labels, clientService);
      for (const side of ["server", "client"]) {
        for (const le of ["0.1", "0.2", "0.4", "0.8", "1.6", "3.2", "6.4", "12.8", "+Inf"])
          add(
            `traces_service_graph_request_${side}_seconds_bucket`,
            { ...labels, le },
            clientService,
          );
        add(`traces_service_graph_request_${side}_seconds_count`, labels, clientService);
        add(`traces_service_graph_request_${side}_seconds_sum`, labels, clientService);
      }
    }
  }
  return [...series.values()];
}
