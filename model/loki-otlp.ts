// Loki's OTLP ingestion: which stream (index) labels and which structured metadata an OTLP log
// record gets. Loki 3.7.6 (chart loki 18.11.0) with no limits_config.otlp_config in our values.
// Followed upstream (grafana/loki v3.7.6):
// - pkg/loghttp/push/otlp_config.go: `GlobalOTLPConfig.RegisterFlags` lists the resource
//   attributes that become index labels by default; every other resource attribute, every scope
//   and log attribute is structured metadata.
// - pkg/loghttp/push/otlp.go `otlpToLokiPushRequest`: label names via otlptranslator's
//   LabelNamer (dots to underscores, as for Prometheus); service_name "unknown_service" when a
//   resource has no service.name; trace_id, span_id, severity_text and severity_number of a
//   record are structured metadata.

import type { Attributes, LogRecord } from "./collected.ts";
import { labelName } from "./prometheus-otlp.ts";
import { loadYaml } from "./yaml.ts";

export const lokiValues = "gitops/values/loki.yaml";

// otlp_config.go, default_resource_attributes_as_index_labels.
export const defaultIndexAttributes = [
  "service.name",
  "service.namespace",
  "service.instance.id",
  "deployment.environment",
  "deployment.environment.name",
  "cloud.region",
  "cloud.availability_zone",
  "k8s.cluster.name",
  "k8s.namespace.name",
  "k8s.pod.name",
  "k8s.container.name",
  "container.name",
  "k8s.replicaset.name",
  "k8s.deployment.name",
  "k8s.statefulset.name",
  "k8s.daemonset.name",
  "k8s.cronjob.name",
  "k8s.job.name",
];

export interface LokiEntry {
  /** Stream labels: what a `{...}` selector matches. */
  labels: Record<string, string>;
  /** Structured metadata: matched by a label filter after the selector, e.g. `| trace_id="…"`. */
  metadata: Record<string, string>;
}

function assertDefaults(valuesFile: string) {
  const values = loadYaml<{ loki?: { limits_config?: Record<string, unknown> } }>(valuesFile);
  const limits = values.loki?.limits_config ?? {};
  if ("otlp_config" in limits || "discover_service_name" in limits)
    throw new Error(
      `pipeline model: ${valuesFile} changes Loki's OTLP mapping; model it in loki-otlp.ts`,
    );
  if (limits.allow_structured_metadata === false)
    throw new Error(`${valuesFile}: OTLP ingestion needs allow_structured_metadata`);
}

const asLabels = (attributes: Attributes) =>
  Object.fromEntries(Object.entries(attributes).map(([k, v]) => [labelName(k), v]));

/** The Loki entries for OTLP log records (resources as the Collector delivers them). */
export function translateLogs(records: LogRecord[], valuesFile = lokiValues): LokiEntry[] {
  assertDefaults(valuesFile);
  return records.map((record) => {
    const resource = record.resource.attributes;
    const index = Object.fromEntries(
      Object.entries(resource).filter(([k]) => defaultIndexAttributes.includes(k)),
    );
    const rest = Object.fromEntries(
      Object.entries(resource).filter(([k]) => !defaultIndexAttributes.includes(k)),
    );
    const labels = asLabels(index);
    if (!resource["service.name"]) labels.service_name = "unknown_service";
    const metadata: Record<string, string> = { ...asLabels(rest), ...asLabels(record.attributes) };
    if (record.traceId) metadata.trace_id = record.traceId;
    if (record.spanId) metadata.span_id = record.spanId;
    if (record.severityText) metadata.severity_text = record.severityText;
    return { labels, metadata };
  });
}
