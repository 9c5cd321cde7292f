// The standard OTEL_* variables that hand-built providers ignore (NodeSDK would read them; the
// exporters read OTEL_EXPORTER_OTLP_* and the batch span processor OTEL_BSP_* themselves), and the
// service's resource. The defaults are the specification's. A value that cannot be parsed or is
// not recognised is reported and ignored, i.e. treated as not set, as the specification asks
// (opentelemetry-specification v1.60.0, specification/configuration/sdk-environment-variables.md,
// "Numeric" and "Enum").
import { DiagLogLevel } from "@opentelemetry/api";
import {
  defaultResource,
  detectResources,
  envDetector,
  type Resource,
  resourceFromAttributes,
  serviceInstanceIdDetector,
} from "@opentelemetry/resources";
import {
  ATTR_DEPLOYMENT_ENVIRONMENT_NAME,
  ATTR_K8S_NAMESPACE_NAME,
  ATTR_K8S_NODE_NAME,
  ATTR_K8S_POD_NAME,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
} from "@opentelemetry/semantic-conventions";

type Env = Record<string, string | undefined>;

export type Signal = "traces" | "metrics" | "logs";
export type ExporterName = "otlp" | "console";
export type PropagatorName = "tracecontext" | "baggage";
export type LogLevelName = keyof typeof DiagLogLevel;

export interface TelemetryConfig {
  disabled: boolean;
  /** Per signal, from OTEL_{TRACES,METRICS,LOGS}_EXPORTER; empty means the signal is off. */
  exporters: Record<Signal, ExporterName[]>;
  /** From OTEL_PROPAGATORS; empty means nothing is injected or extracted. */
  propagators: PropagatorName[];
  /** OTEL_LOG_LEVEL: what the SDK's diagnostic logger prints. */
  logLevel: LogLevelName;
  metricExportIntervalMs: number;
  metricExportTimeoutMs: number;
  /** Set when the OTLP metric exporter's own timeout must be shortened (see below). */
  metricExporterTimeoutMs?: number;
  logScheduleDelayMs: number;
  logMaxQueueSize: number;
  logMaxExportBatchSize: number;
  logExportTimeoutMs: number;
  /** What was wrong with the environment, one sentence each, for the log once it exists. */
  warnings: string[];
}

/** The specification's comma-separated list: trimmed, lower-cased, empty items dropped, deduplicated. */
function listOf(value: string | undefined): string[] {
  const items = (value ?? "").split(",").map((item) => item.trim().toLowerCase());
  return [...new Set(items.filter(Boolean))];
}

export function readTelemetryConfig(env: Env = process.env): TelemetryConfig {
  const warnings: string[] = [];
  const numberOrUndefined = (name: string): number | undefined => {
    const value = Number(env[name]?.trim() || Number.NaN);
    return Number.isFinite(value) && value > 0 ? value : undefined;
  };
  const positiveNumber = (name: string, fallback: number): number => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const value = numberOrUndefined(name);
    if (value !== undefined) return value;
    warnings.push(`${name}=${JSON.stringify(raw)} is not a positive number; using ${fallback}`);
    return fallback;
  };

  // A list variable with "none" (off), known values and a default. An unknown value is ignored,
  // and if nothing known is left the variable counts as unset (the specification's "gracefully
  // ignore the setting"); the warning says what the setting does now.
  const chooseFrom = <T extends string>(
    name: string,
    known: readonly T[],
    fallback: T[],
    now: (chosen: T[] | "off") => string,
  ): T[] => {
    const listed = listOf(env[name]);
    if (listed.includes("none")) {
      if (listed.length > 1) warnings.push(`${name} lists "none" with others; ${now("off")}`);
      return [];
    }
    const chosen = listed.filter((value): value is T => known.includes(value as T));
    const unknown = listed.filter((value) => !known.includes(value as T));
    const result = chosen.length ? chosen : fallback;
    if (unknown.length)
      warnings.push(
        `${name}: unsupported ${unknown.map((value) => JSON.stringify(value)).join(", ")} ignored (use ${known.join(", ")} or none); ${now(result)}`,
      );
    return result;
  };

  // Unset means otlp. (NodeSDK 0.223.0 switches a signal whose list holds nothing known off
  // instead, which the specification does not allow.)
  const exporters = (signal: Signal): ExporterName[] =>
    chooseFrom(`OTEL_${signal.toUpperCase()}_EXPORTER`, ["otlp", "console"], ["otlp"], (chosen) =>
      chosen === "off" ? `${signal}: off` : `${signal}: exporting with ${chosen.join(", ")}`,
    );

  // As NodeSDK 0.223.0 reads it (sdk-node src/utils.ts, getPropagatorFromEnv): unset means
  // tracecontext,baggage; "none" anywhere means no propagator. The other known values (b3,
  // b3multi, jaeger, xray, ottrace) need propagator packages this project does not ship: they
  // are ignored with a warning (NodeSDK would register no propagator at all).
  const propagators = (): PropagatorName[] =>
    chooseFrom(
      "OTEL_PROPAGATORS",
      ["tracecontext", "baggage"],
      ["tracecontext", "baggage"],
      (chosen) => `propagation: ${chosen === "off" ? "off" : chosen.join(", ")}`,
    );

  // The specification's levels are the API's DiagLogLevel names; its default is info.
  const logLevel = (): LogLevelName => {
    const raw = env.OTEL_LOG_LEVEL?.trim() ?? "";
    const level = raw.toUpperCase();
    if (level in DiagLogLevel && Number.isNaN(Number(level))) return level as LogLevelName;
    if (raw)
      warnings.push(
        `OTEL_LOG_LEVEL=${JSON.stringify(raw)} is not one of none, error, warn, info, debug, verbose, all; using info`,
      );
    return "INFO";
  };

  // Only "true" switches telemetry off (the specification's rule); anything but true/false is a
  // likely typo that would otherwise leave it on unnoticed.
  const sdkDisabled = (): boolean => {
    const value = env.OTEL_SDK_DISABLED?.trim().toLowerCase() ?? "";
    if (value !== "" && value !== "true" && value !== "false")
      warnings.push(
        `OTEL_SDK_DISABLED=${JSON.stringify(env.OTEL_SDK_DISABLED)} is neither true nor false; telemetry stays ON (set OTEL_SDK_DISABLED=true to turn it off)`,
      );
    return value === "true";
  };

  // The exporters are the OTLP/protobuf ones, which read no protocol variable: say so when one
  // asks for another.
  for (const name of ["", "TRACES_", "METRICS_", "LOGS_"].map(
    (s) => `OTEL_EXPORTER_OTLP_${s}PROTOCOL`,
  )) {
    const protocol = env[name]?.trim();
    if (protocol && protocol.toLowerCase() !== "http/protobuf")
      warnings.push(
        `${name}=${JSON.stringify(protocol)} is not supported; exporting with http/protobuf`,
      );
  }

  const metricExportIntervalMs = positiveNumber("OTEL_METRIC_EXPORT_INTERVAL", 60_000);
  // The SDK rejects a timeout longer than the interval.
  const metricExportTimeoutMs = Math.min(
    positiveNumber("OTEL_METRIC_EXPORT_TIMEOUT", 30_000),
    metricExportIntervalMs,
  );
  // The reader abandons an export after its timeout and reports only "metrics export timed out";
  // an exporter that gives up first reports why (ECONNREFUSED, a 503). So the OTLP exporter's own
  // timeout, which it reads from these variables (otlp-exporter-base 0.223.1,
  // shared-env-configuration.js; default 10 s), is capped at the reader's. Malformed values are
  // left to the exporter, which warns about them itself.
  const otlpMetricsTimeoutMs =
    numberOrUndefined("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT") ??
    numberOrUndefined("OTEL_EXPORTER_OTLP_TIMEOUT") ??
    10_000;
  return {
    disabled: sdkDisabled(),
    exporters: {
      traces: exporters("traces"),
      metrics: exporters("metrics"),
      logs: exporters("logs"),
    },
    propagators: propagators(),
    logLevel: logLevel(),
    metricExportIntervalMs,
    metricExportTimeoutMs,
    ...(otlpMetricsTimeoutMs > metricExportTimeoutMs
      ? { metricExporterTimeoutMs: metricExportTimeoutMs }
      : {}),
    logScheduleDelayMs: positiveNumber("OTEL_BLRP_SCHEDULE_DELAY", 1000),
    logMaxQueueSize: positiveNumber("OTEL_BLRP_MAX_QUEUE_SIZE", 2048),
    logMaxExportBatchSize: positiveNumber("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", 512),
    logExportTimeoutMs: positiveNumber("OTEL_BLRP_EXPORT_TIMEOUT", 30_000),
    warnings,
  };
}

export interface ServiceIdentity {
  name: string;
  version: string;
}

/**
 * The SDK's defaultResource() (telemetry.sdk.language, .name, .version), then our defaults, then
 * what the pod's downward-API variables in `env` tell, then OTEL_SERVICE_NAME and
 * OTEL_RESOURCE_ATTRIBUTES, which win. A provider given a resource does not add the default one:
 * it is merged here, as in the OpenTelemetry JS docs' manual set-up. The last two variables are
 * read by the SDK's envDetector, which only looks at process.env: they cannot be passed in `env`.
 */
export function buildResource(service: ServiceIdentity, env: Env = process.env): Resource {
  const k8s = Object.fromEntries(
    (
      [
        [ATTR_K8S_POD_NAME, env.POD_NAME],
        [ATTR_K8S_NAMESPACE_NAME, env.POD_NAMESPACE],
        [ATTR_K8S_NODE_NAME, env.NODE_NAME],
      ] as const
    ).filter(([, value]) => value),
  );
  return defaultResource()
    .merge(
      resourceFromAttributes({
        [ATTR_SERVICE_NAME]: service.name,
        [ATTR_SERVICE_VERSION]: service.version,
        [ATTR_DEPLOYMENT_ENVIRONMENT_NAME]: "local",
        ...k8s,
      }),
    )
    .merge(detectResources({ detectors: [serviceInstanceIdDetector, envDetector] }));
}
