// Tempo's metrics-generator: the span-metrics and service-graph series it remote-writes to
// Prometheus, from the spans (with resources as the Collector delivers them) and
// gitops/values/tempo.yaml. Followed upstream (grafana/tempo v2.10.8, chart tempo 2.2.4):
// - modules/generator/processor/spanmetrics: spanmetrics.go `aggregateMetricsForSpan` (labels
//   service, span_name, span_kind, status_code from the OTLP enums, e.g. SPAN_KIND_SERVER and
//   STATUS_CODE_ERROR, then each configured dimension, found on the resource or the span, with
//   its name sanitised; job and instance only with enable_target_info, off by default, so
//   service.namespace never reaches these series); config.go defaults (those four intrinsic
//   dimensions; latency, count and size subprocessors).
// - modules/generator/processor/servicegraphs/servicegraphs.go: `consume` keys an edge by trace
//   and span id: a CLIENT (or PRODUCER, connection_type messaging_system) span by its own id, a
//   SERVER (or CONSUMER) span by its parent's; the edge is complete, and counted, once it has a
//   client and a server service. `upsertDatabaseRequest`: a CLIENT span with one of
//   database_name_attributes (config.go default: db.namespace, db.name, db.system) is a
//   connection_type "database" edge on its own, its server the span's peer.service,
//   server.address, network.peer.address[:network.peer.port] or else that attribute's value.
//   `onExpire` (an edge left incomplete): a root SERVER span's edge gets client "user" (or its
//   peer attribute: peer.service, db.name, db.system), a CLIENT span with a peer attribute gets
//   that as its server, both connection_type "virtual_node"; other halves are dropped.
//   `onComplete` labels client, server, connection_type ("" for plain requests, so absent in
//   Prometheus) and each dimension under its own sanitised name (enable_client_server_prefix
//   is off by default; gitops/values/tempo.yaml sets no database or peer attributes).
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
        service_graphs?: {
          dimensions?: string[];
          enable_client_server_prefix?: boolean;
          peer_attributes?: string[];
          database_name_attributes?: string[];
          enable_virtual_node_label?: boolean;
        };
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

// servicegraphs.go defaultPeerAttributes and config.go DatabaseNameAttributes (semconv v1.25.0
// names, db.namespace from v1.34.0).
const defaultPeerAttributes = ["peer.service", "db.name", "db.system"];
const defaultDatabaseNameAttributes = ["db.namespace", "db.name", "db.system"];

/** One service-graph edge as `onComplete` labels it. */
export interface ServiceGraphEdge {
  client: string;
  server: string;
  /** "", "messaging_system", "database" or "virtual_node" (store/edge.go ConnectionType). */
  connectionType: string;
  dimensions: Record<string, string>;
  failed: boolean;
}

interface EdgeConfig {
  dimensions: string[];
  peerAttributes: string[];
  databaseNameAttributes: string[];
}

interface PendingEdge extends ServiceGraphEdge {
  /** The parent span id the edge is keyed by, "" for a root SERVER span. */
  parentSpanId?: string;
  peerNode: string;
}

/** The edges the service-graphs processor counts for these spans, once every edge expired. */
export function serviceGraphEdges(spans: Span[], config: EdgeConfig): ServiceGraphEdge[] {
  const pending = new Map<string, PendingEdge>();
  const edges: ServiceGraphEdge[] = [];
  const complete = ({ client, server, connectionType, dimensions, failed }: PendingEdge) =>
    edges.push({ client, server, connectionType, dimensions, failed });
  const spanAttribute = (span: Span, key: string) => span.attributes[key];
  for (const span of spans) {
    const service = span.resource.attributes["service.name"];
    if (service === undefined) continue;
    const isClient = span.kind === "SPAN_KIND_CLIENT" || span.kind === "SPAN_KIND_PRODUCER";
    const isServer = span.kind === "SPAN_KIND_SERVER" || span.kind === "SPAN_KIND_CONSUMER";
    if (!isClient && !isServer) continue;
    const key = `${span.traceId}-${isClient ? span.spanId : span.parentSpanId}`;
    const edge: PendingEdge = pending.get(key) ?? {
      client: "",
      server: "",
      connectionType: "",
      dimensions: {},
      failed: false,
      peerNode: "",
    };
    edge.connectionType =
      span.kind === "SPAN_KIND_PRODUCER" || span.kind === "SPAN_KIND_CONSUMER"
        ? "messaging_system"
        : "";
    if (isClient) edge.client = service;
    else {
      edge.server = service;
      edge.parentSpanId = span.parentSpanId;
    }
    edge.failed ||= span.status.code === "STATUS_CODE_ERROR";
    for (const d of config.dimensions) {
      const value = find(d, span);
      if (value !== undefined) edge.dimensions[d] = value;
    }
    const peer = config.peerAttributes.find((key) => spanAttribute(span, key) !== undefined);
    if (peer) edge.peerNode = spanAttribute(span, peer) as string;
    if (isClient) {
      const database = config.databaseNameAttributes.find((key) => find(key, span) !== undefined);
      if (database) {
        edge.connectionType = "database";
        const host = find("network.peer.address", span);
        const port = find("network.peer.port", span);
        edge.server =
          find("peer.service", span) ??
          find("server.address", span) ??
          (host !== undefined && port !== undefined ? `${host}:${port}` : host) ??
          (find(database, span) as string);
      }
    }
    if (edge.client && edge.server) {
      complete(edge);
      pending.delete(key);
    } else pending.set(key, edge);
  }
  for (const edge of pending.values()) {
    edge.connectionType = "virtual_node";
    if (!edge.client) {
      if (edge.parentSpanId !== "") continue;
      edge.client = edge.peerNode || "user";
      complete(edge);
    } else if (!edge.server && edge.peerNode) {
      edge.server = edge.peerNode;
      complete(edge);
    }
  }
  return edges;
}

/** The series Tempo's metrics-generator writes into Prometheus for these spans. */
export function generatorSeries(spans: Span[], valuesFile = tempoValues): PromSeries[] {
  const values = loadYaml<GeneratorValues>(valuesFile).tempo;
  const generator = values?.metricsGenerator;
  const enabled = values?.overrides?.defaults?.metrics_generator?.processors ?? [];
  if (!generator?.enabled) return [];
  const external = generator.registry?.external_labels ?? {};
  const spanMetrics = generator.processor?.span_metrics ?? {};
  const serviceGraphs = generator.processor?.service_graphs ?? {};
  if (
    spanMetrics.enable_target_info ||
    serviceGraphs.enable_client_server_prefix ||
    serviceGraphs.enable_virtual_node_label
  )
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
    const config = {
      dimensions: serviceGraphs.dimensions ?? [],
      peerAttributes: serviceGraphs.peer_attributes ?? defaultPeerAttributes,
      databaseNameAttributes:
        serviceGraphs.database_name_attributes ?? defaultDatabaseNameAttributes,
    };
    for (const edge of serviceGraphEdges(spans, config)) {
      const labels: Record<string, string> = {
        client: edge.client,
        server: edge.server,
        connection_type: edge.connectionType,
      };
      for (const d of config.dimensions) labels[sanitize(d)] = edge.dimensions[d] ?? "";
      add("traces_service_graph_request_total", labels, edge.client);
      if (edge.failed) add("traces_service_graph_request_failed_total", labels, edge.client);
      for (const side of ["server", "client"]) {
        for (const le of ["0.1", "0.2", "0.4", "0.8", "1.6", "3.2", "6.4", "12.8", "+Inf"])
          add(
            `traces_service_graph_request_${side}_seconds_bucket`,
            { ...labels, le },
            edge.client,
          );
        add(`traces_service_graph_request_${side}_seconds_count`, labels, edge.client);
        add(`traces_service_graph_request_${side}_seconds_sum`, labels, edge.client);
      }
    }
  }
  return [...series.values()];
}
