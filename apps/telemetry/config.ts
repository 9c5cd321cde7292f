// Reads the standard OTEL_* variables that hand-built providers ignore (the SDK reads the
// exporter endpoints/timeouts and the other OTEL_BSP_* itself), and builds the service's resource.
import {
  detectResources,
  envDetector,
  type Resource,
  resourceFromAttributes,
  serviceInstanceIdDetector,
} from "@opentelemetry/resources";

type Env = Record<string, string | undefined>;

export interface TelemetryConfig {
  disabled: boolean;
  metricExportIntervalMs: number;
  metricExportTimeoutMs: number;
  logScheduleDelayMs: number;
  logMaxQueueSize: number;
  logMaxExportBatchSize: number;
  spanMaxExportBatchSize: number;
  logExportTimeoutMs: number;
}

function positiveNumber(env: Env, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

export function readTelemetryConfig(env: Env = process.env): TelemetryConfig {
  const metricExportIntervalMs = positiveNumber(env, "OTEL_METRIC_EXPORT_INTERVAL", 60_000);
  return {
    disabled: env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true",
    metricExportIntervalMs,
    // The SDK rejects a timeout longer than the interval.
    metricExportTimeoutMs: Math.min(
      positiveNumber(env, "OTEL_METRIC_EXPORT_TIMEOUT", 30_000),
      metricExportIntervalMs,
    ),
    logScheduleDelayMs: positiveNumber(env, "OTEL_BLRP_SCHEDULE_DELAY", 1000),
    logMaxQueueSize: positiveNumber(env, "OTEL_BLRP_MAX_QUEUE_SIZE", 2048),
    // Smaller batches than the specification's 512: serializing a batch blocks the event loop,
    // and at 128 the p99 under load roughly halves at no measurable throughput cost (see
    // README, Performance).
    logMaxExportBatchSize: positiveNumber(env, "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", 128),
    spanMaxExportBatchSize: positiveNumber(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 128),
    logExportTimeoutMs: positiveNumber(env, "OTEL_BLRP_EXPORT_TIMEOUT", 30_000),
  };
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
