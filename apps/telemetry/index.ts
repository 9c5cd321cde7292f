// The services' OpenTelemetry setup: hand-built tracer, meter and logger providers exporting
// OTLP/protobuf, configured by the standard OTEL_* variables. Call startTelemetry() before
// building the Elysia app; wrap the app's fetch with instrumentFetch() for server spans.
import { type Meter, metrics, type Tracer, trace } from "@opentelemetry/api";
import { logs } from "@opentelemetry/api-logs";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { BatchLogRecordProcessor, LoggerProvider } from "@opentelemetry/sdk-logs";
import { MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { buildResource, readTelemetryConfig, type ServiceIdentity } from "./config.ts";
import { installDiagLogger } from "./diag.ts";
import { type Fetch, instrumentFetch } from "./http-server.ts";
import { createLog, type Log } from "./log.ts";
import { otlpLogExporter, otlpSpanExporter } from "./otlp-exporters.ts";
import { requestMetrics } from "./request-metrics.ts";

export { httpDurationBuckets, routeRecorder } from "./http-server.ts";
export { type Level, type Log, type LogAttributes, writeJsonLine } from "./log.ts";

export interface Telemetry {
  enabled: boolean;
  tracer: Tracer;
  meter: Meter;
  log: Log;
  /** Adds server spans and http.server.request.duration; the identity when disabled. */
  instrumentFetch(fetch: Fetch): Fetch;
  /** Flushes and stops all three providers, giving up after `timeoutMs`. */
  shutdown(timeoutMs?: number): Promise<void>;
}

/** Probes stay out of traces and request metrics. */
export const untracedPaths = new Set(["/healthz", "/readyz"]);

export function startTelemetry(
  service: ServiceIdentity,
  env: Record<string, string | undefined> = process.env,
): Telemetry {
  const config = readTelemetryConfig(env);
  // From the global API: real once the providers below are registered, no-ops otherwise.
  const instruments = () => ({
    tracer: trace.getTracer(service.name, service.version),
    meter: metrics.getMeter(service.name, service.version),
    log: createLog(service.name),
  });
  if (config.disabled) {
    // Nothing registered: the API hands out no-op tracers, meters and loggers.
    return {
      enabled: false,
      ...instruments(),
      instrumentFetch: (fetch) => fetch,
      shutdown: async () => {},
    };
  }

  installDiagLogger(service.name);
  const resource = buildResource(service, env);
  // Queues are bounded (OTEL_BSP_MAX_QUEUE_SIZE / OTEL_BLRP_MAX_QUEUE_SIZE, default 2048) and
  // exports run off the request path, so a dead collector costs dropped telemetry, not latency.
  const tracerProvider = new NodeTracerProvider({
    resource,
    spanProcessors: [
      new BatchSpanProcessor(otlpSpanExporter(), {
        maxExportBatchSize: config.spanMaxExportBatchSize,
      }),
    ],
  });
  tracerProvider.register();
  // Counters and histograms are counted by our own cheap instruments (request-metrics.ts) and
  // collected with the SDK's; gauges and everything else are the SDK's.
  const counted = requestMetrics({ name: service.name, version: service.version }, resource);
  const meterProvider = new MeterProvider({
    resource,
    readers: [
      new PeriodicExportingMetricReader({
        metricProducers: [counted.producer],
        exporter: new OTLPMetricExporter(),
        exportIntervalMillis: config.metricExportIntervalMs,
        exportTimeoutMillis: config.metricExportTimeoutMs,
      }),
    ],
  });
  metrics.setGlobalMeterProvider(meterProvider);
  // Exported every interval, traffic or not: the SDK skips empty exports, so without it an idle
  // service would vanish from Prometheus (target_info) and look like one that stopped sending.
  meterProvider
    .getMeter(service.name, service.version)
    .createObservableGauge("process.uptime", {
      description: "The time the process has been running.",
      unit: "s",
    })
    .addCallback((result) => result.observe(process.uptime()));
  const loggerProvider = new LoggerProvider({
    resource,
    processors: [
      new BatchLogRecordProcessor({
        exporter: otlpLogExporter(),
        scheduledDelayMillis: config.logScheduleDelayMs,
        maxQueueSize: config.logMaxQueueSize,
        maxExportBatchSize: config.logMaxExportBatchSize,
        exportTimeoutMillis: config.logExportTimeoutMs,
      }),
    ],
  });
  logs.setGlobalLoggerProvider(loggerProvider);

  const { tracer, meter: sdkMeter, log } = instruments();
  const meter = counted.meter(sdkMeter);
  const protocol = env.OTEL_EXPORTER_OTLP_PROTOCOL?.trim();
  if (protocol && protocol !== "http/protobuf")
    log.warn("telemetry: only OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf is supported", {
      protocol,
    });

  return {
    enabled: true,
    tracer,
    meter,
    log,
    instrumentFetch: (fetch) => instrumentFetch(fetch, { tracer, meter, untracedPaths }),
    async shutdown(timeoutMs = 3000) {
      const flushed = Promise.allSettled([
        tracerProvider.shutdown(),
        meterProvider.shutdown(),
        loggerProvider.shutdown(),
      ]);
      await Promise.race([flushed, Bun.sleep(timeoutMs)]);
    },
  };
}
