// The standard OTEL_* variables that hand-built providers ignore (NodeSDK would read them; the
// exporters read OTEL_EXPORTER_OTLP_* and the batch span processor OTEL_BSP_* themselves), and the
// service's resource. The defaults are the specification's. Malformed values are reported and ignored, as the specification asks.
import {
  detectResources,
  envDetector,
  type Resource,
  resourceFromAttributes,
  serviceInstanceIdDetector,
} from "@opentelemetry/resources";

type Env = Record<string, string | undefined>;

export type Signal = "traces" | "metrics" | "logs";
export type ExporterName = "otlp" | "console";

export interface TelemetryConfig {
  disabled: boolean;
  /** Per signal, from OTEL_{TRACES,METRICS,LOGS}_EXPORTER; empty means the signal is off. */
  exporters: Record<Signal, ExporterName[]>;
  metricExportIntervalMs: number;
  metricExportTimeoutMs: number;
  logScheduleDelayMs: number;
  logMaxQueueSize: number;
  logMaxExportBatchSize: number;
  logExportTimeoutMs: number;
  /** What was wrong with the environment, one sentence each, for the log once it exists. */
  warnings: string[];
}

export function readTelemetryConfig(env: Env = process.env): TelemetryConfig {
  const warnings: string[] = [];
  const positiveNumber = (name: string, fallback: number): number => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const value = Number(raw);
    if (Number.isFinite(value) && value > 0) return value;
    warnings.push(`${name}=${JSON.stringify(raw)} is not a positive number; using ${fallback}`);
    return fallback;
  };
  const exporters = (signal: Signal): ExporterName[] => {
    const name = `OTEL_${signal.toUpperCase()}_EXPORTER`;
    // The specification's list syntax: comma-separated, "none" alone switches the signal off.
    const listed = (env[name] ?? "")
      .split(",")
      .map((value) => value.trim().toLowerCase())
      .filter(Boolean);
    if (listed.length === 0) return ["otlp"];
    if (listed.includes("none")) {
      if (listed.length > 1) warnings.push(`${name} lists "none" with others; ${signal} are off`);
      return [];
    }
    const known = listed.filter((value) => value === "otlp" || value === "console");
    for (const value of listed)
      if (!known.includes(value as ExporterName))
        warnings.push(
          `${name}: unsupported exporter "${value}" ignored (use otlp, console or none)`,
        );
    return [...new Set(known)] as ExporterName[];
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

  const metricExportIntervalMs = positiveNumber("OTEL_METRIC_EXPORT_INTERVAL", 60_000);
  const config: TelemetryConfig = {
    disabled: sdkDisabled(),
    exporters: {
      traces: exporters("traces"),
      metrics: exporters("metrics"),
      logs: exporters("logs"),
    },
    metricExportIntervalMs,
    // The SDK rejects a timeout longer than the interval.
    metricExportTimeoutMs: Math.min(
      positiveNumber("OTEL_METRIC_EXPORT_TIMEOUT", 30_000),
      metricExportIntervalMs,
    ),
    logScheduleDelayMs: positiveNumber("OTEL_BLRP_SCHEDULE_DELAY", 1000),
    logMaxQueueSize: positiveNumber("OTEL_BLRP_MAX_QUEUE_SIZE", 2048),
    logMaxExportBatchSize: positiveNumber("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", 512),
    logExportTimeoutMs: positiveNumber("OTEL_BLRP_EXPORT_TIMEOUT", 30_000),
    warnings,
  };
  return config;
}

export interface ServiceIdentity {
  name: string;
  version: string;
}

/**
 * Our defaults, then what the pod's downward-API variables in `env` tell, then OTEL_SERVICE_NAME
 * and OTEL_RESOURCE_ATTRIBUTES, which win. Those two are read by the SDK's envDetector, which
 * only looks at process.env: they cannot be passed in `env`.
 */
export function buildResource(service: ServiceIdentity, env: Env = process.env): Resource {
  const k8s = Object.fromEntries(
    (
      [
        ["k8s.pod.name", env.POD_NAME],
        ["k8s.namespace.name", env.POD_NAMESPACE],
        ["k8s.node.name", env.NODE_NAME],
      ] as const
    ).filter(([, value]) => value),
  );
  return resourceFromAttributes({
    "service.name": service.name,
    "service.version": service.version,
    "deployment.environment.name": "local",
    ...k8s,
  }).merge(detectResources({ detectors: [serviceInstanceIdDetector, envDetector] }));
}
