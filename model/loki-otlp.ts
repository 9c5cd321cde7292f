// Loki's OTLP ingestion: which stream (index) labels and which structured metadata an OTLP log
// record gets. Loki 3.7.6 (chart loki 18.11.0) with no limits_config.otlp_config in our values.
// Followed upstream (grafana/loki v3.7.6):
// - pkg/loghttp/push/otlp_config.go: `GlobalOTLPConfig.RegisterFlags` lists the resource
//   attributes that become index labels by default; every other resource attribute, every scope
//   and log attribute is structured metadata.
// - pkg/loghttp/push/otlp.go `otlpToLokiPushRequest`: label names via `otlptranslator.LabelNamer{}`
//   (all options off, unlike Prometheus's defaults: runs of "_" collapse, no "key" prefix for a
//   leading "_"); service_name "unknown_service" when a resource has no service.name; the
//   scope's name and version as scope_name and scope_version; `otlpLogToPushEntry`: a record's
//   severity_number (as a number, when not UNSPECIFIED), severity_text, trace_id and span_id.
// - pkg/distributor/field_detection.go `extractLogLevel` (run by distributor.go when
//   `discover_log_levels`, default true in pkg/validation/limits.go, and structured metadata are
//   on): detected_level from the first of DefaultAllowedLevelFields among the stream labels,
//   then among the structured metadata (severity_text is one), normalised (`normalizeLogLevel`);
//   else from severity_number (`detectLogLevelFromLogEntry`); else from the log line.

import type { Attributes, LogRecord } from "./collected.ts";
import { labelName, plainLabelNamer } from "./prometheus-otlp.ts";
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

/**
 * The structured metadata Loki takes from a record's own fields and its scope, and the level it
 * detects (otlp.go; observed_timestamp, flags and dropped_attributes_count are not modelled:
 * the receiver's records do not carry them).
 */
export const recordFields = [
  "severity_number",
  "severity_text",
  "trace_id",
  "span_id",
  "scope_name",
  "scope_version",
  "detected_level",
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
  const changed = [
    "otlp_config",
    "discover_service_name",
    "discover_log_levels",
    "log_level_fields",
  ];
  if (changed.some((key) => key in limits))
    throw new Error(
      `pipeline model: ${valuesFile} changes Loki's OTLP mapping; model it in loki-otlp.ts`,
    );
  if (limits.allow_structured_metadata === false)
    throw new Error(`${valuesFile}: OTLP ingestion needs allow_structured_metadata`);
}

const asLabels = (attributes: Attributes) =>
  Object.fromEntries(
    Object.entries(attributes).map(([k, v]) => [labelName(k, plainLabelNamer), v]),
  );

// OTLP's SeverityNumber enum (logs/v1/logs.proto): names as the receiver decodes them.
const severityLevels = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
const severityNumbers: Record<string, number> = Object.fromEntries([
  ["SEVERITY_NUMBER_UNSPECIFIED", 0],
  ...severityLevels.flatMap((level, i) =>
    ["", "2", "3", "4"].map((n, j) => [`SEVERITY_NUMBER_${level}${n}`, i * 4 + j + 1]),
  ),
]);

/** The OTLP severity number of a record's `severityNumber` (enum name or number). */
export function severityNumber(value: string): number {
  const number = severityNumbers[value] ?? (/^\d+$/.test(value) ? Number(value) : undefined);
  if (number === undefined) throw new Error(`pipeline model: unknown severity number ${value}`);
  return number;
}

// validation/limits.go DefaultAllowedLevelFields, in the order extractLogLevel tries them.
const levelFields = [
  "level",
  "LEVEL",
  "Level",
  "log.level",
  "severity",
  "SEVERITY",
  "Severity",
  "SeverityText",
  "lvl",
  "LVL",
  "Lvl",
  "severity_text",
  "Severity_Text",
  "SEVERITY_TEXT",
];

// field_detection.go normalizeLogLevel: known spellings to Loki's level names, others unchanged.
const levelSpellings: Record<string, string> = {
  trace: "trace",
  trc: "trace",
  debug: "debug",
  dbg: "debug",
  info: "info",
  inf: "info",
  information: "info",
  warn: "warn",
  wrn: "warn",
  warning: "warn",
  error: "error",
  err: "error",
  critical: "critical",
  fatal: "fatal",
};
const normalizeLevel = (level: string) => levelSpellings[level.toLowerCase()] ?? level;

// field_detection.go detectLogLevelFromLogEntry: severity-number ranges of the OTLP data model.
function levelOfSeverityNumber(number: number): string {
  if (number === 0) return "unknown";
  const level = ["trace", "debug", "info", "warn", "error", "fatal"][Math.ceil(number / 4) - 1];
  return level ?? "unknown";
}

/** Loki's detected_level for an entry (field_detection.go extractLogLevel). */
export function detectedLevel(
  labels: Record<string, string>,
  metadata: Record<string, string>,
): string | undefined {
  if (metadata.detected_level !== undefined) return undefined;
  const field = (from: Record<string, string>) => levelFields.find((name) => name in from);
  const fromLabel = field(labels);
  if (fromLabel) return normalizeLevel(labels[fromLabel] as string);
  const fromMetadata = field(metadata);
  if (fromMetadata) return normalizeLevel(metadata[fromMetadata] as string);
  if (metadata.severity_number !== undefined) {
    const number = Number.parseInt(metadata.severity_number, 10);
    return Number.isNaN(number) ? "info" : levelOfSeverityNumber(number);
  }
  // The log line's own level (JSON, logfmt or keywords) is not modelled: OTLP records here
  // always carry a severity.
  throw new Error("pipeline model: a log record without severity; its level is not modelled");
}

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
    // The record's own fields, then the resource's and the scope's (otlp.go appends them so).
    const metadata: Record<string, string> = asLabels(record.attributes);
    const severity = record.severityNumber ? severityNumber(record.severityNumber) : 0;
    if (severity !== 0) metadata.severity_number = String(severity);
    if (record.severityText) metadata.severity_text = record.severityText;
    if (record.traceId) metadata.trace_id = record.traceId;
    if (record.spanId) metadata.span_id = record.spanId;
    Object.assign(metadata, asLabels(rest));
    if (record.scope.name) metadata.scope_name = record.scope.name;
    if (record.scope.version) metadata.scope_version = record.scope.version;
    const level = detectedLevel(labels, metadata);
    if (level !== undefined) metadata.detected_level = level;
    return { labels, metadata };
  });
}
