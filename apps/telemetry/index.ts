// The services' OpenTelemetry set-up, in one place: the resource, context propagation, then the
// tracer, meter and logger providers of the official SDK with the official OTLP/protobuf
// exporters, then shutdown.
// Configured by the standard OTEL_* variables. Call startTelemetry() before building the Elysia
// app; serve the app's fetch through instrumentFetch() for server spans (http-server.ts).
import { context, type Meter, metrics, propagation, type Tracer, trace } from "@opentelemetry/api";
import { logs } from "@opentelemetry/api-logs";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from "@opentelemetry/core";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-proto";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import {
  BatchLogRecordProcessor,
  ConsoleLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
} from "@opentelemetry/sdk-logs";
import {
  ConsoleMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import {
  BatchSpanProcessor,
  type BufferConfig,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { buildResource, readTelemetryConfig, type ServiceIdentity } from "./config.ts";
import { installDiagLogger } from "./diag.ts";
import { type Fetch, instrumentFetch } from "./http-server.ts";
import { createLog, type Log } from "./log.ts";

export { activeTraceId, type Fetch, httpDurationBuckets, routeRecorder } from "./http-server.ts";
export { type Level, type Log, type LogAttributes, writeJsonLine } from "./log.ts";

export interface Telemetry {
  enabled: boolean;
  tracer: Tracer;
  meter: Meter;
  log: Log;
  /** Adds server spans and http.server.request.duration; the identity when disabled. */
  instrumentFetch(fetch: Fetch): Fetch;
  /** Flushes and stops the providers, giving up after `timeoutMs`. */
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
  const tracer = () => trace.getTracer(service.name, service.version);
  const meter = () => metrics.getMeter(service.name, service.version);
  if (config.disabled) {
    // OTEL_SDK_DISABLED: nothing registered, nothing instrumented; JSON log lines stay.
    return {
      enabled: false,
      tracer: tracer(),
      meter: meter(),
      log: createLog(service),
      instrumentFetch: (fetch) => fetch,
      shutdown: async () => {},
    };
  }
  installDiagLogger(service.name, config.logLevel);

  // Resource: who is sending, on every span, metric point and log record.
  const resource = buildResource(service, env);

  // Context and propagation, whatever the exporters say: with traces off the services still pass
  // the caller's traceparent on and log its trace id. NodeSDK.start() does the same, and registers
  // no tracer provider when no trace exporter is set (sdk-node 0.223.0, src/sdk.ts and
  // src/utils.ts setupContextManager/setupPropagator), so the API's non-recording spans carry the
  // caller's context. NodeTracerProvider.register() would do both, but only with a provider.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const propagators = { tracecontext: W3CTraceContextPropagator, baggage: W3CBaggagePropagator };
  if (config.propagators.length)
    propagation.setGlobalPropagator(
      new CompositePropagator({
        propagators: config.propagators.map((name) => new propagators[name]()),
      }),
    );

  // Metrics. The periodic reader does not read OTEL_METRIC_EXPORT_*: config.ts does, and keeps
  // the exporter's timeout within the reader's so a failed export says why.
  const meterProvider = new MeterProvider({
    resource,
    readers: config.exporters.metrics.map(
      (name) =>
        new PeriodicExportingMetricReader({
          exporter:
            name === "console"
              ? new ConsoleMetricExporter()
              : new OTLPMetricExporter({ timeoutMillis: config.metricExporterTimeoutMs }),
          exportIntervalMillis: config.metricExportIntervalMs,
          exportTimeoutMillis: config.metricExportTimeoutMs,
        }),
    ),
  });
  if (config.exporters.metrics.length) {
    metrics.setGlobalMeterProvider(meterProvider);
    // Exported every interval, traffic or not: the SDK skips empty exports, so without it an idle
    // service would vanish from Prometheus (target_info) and look like one that stopped sending.
    meter()
      .createObservableGauge("process.uptime", {
        description: "The time the process has been running.",
        unit: "s",
      })
      .addCallback((result) => result.observe(process.uptime()));
  }

  // The SDK's own metrics (otel.sdk.*), where metrics are exported: per batch processor, spans
  // and log records exported, dropped on a full queue (error.type=queue_full) or lost in a failed
  // export (the error's name), and queue size and capacity; log records created. Counted per batch
  // or per loss, they cost next to nothing. The tracer provider's otel.sdk.span.started/live stay
  // off: three counter updates per span, about 5 µs, which doubled the CPU of recording a span.
  const sdkMetrics = config.exporters.metrics.length ? meterProvider : undefined;
  // sdk-trace-base 2.12.1's BatchSpanProcessor forwards its config to sdk-trace's, which reads
  // selfObsMeterProvider; the shim's BufferConfig type does not list that option.
  const spanProcessorOptions: BufferConfig & { selfObsMeterProvider?: MeterProvider } = {
    selfObsMeterProvider: sdkMetrics,
  };

  // Traces. Span queues are bounded (OTEL_BSP_MAX_QUEUE_SIZE, default 2048) and exported off the
  // request path, so a dead collector costs dropped spans, not latency or memory. Console output
  // is for a terminal: printed as each span ends, as NodeSDK does.
  const tracerProvider = new NodeTracerProvider({
    resource,
    // sdk-trace-base 2.x processors take the exporter itself; sdk-logs (below) and 3.x take
    // { exporter }.
    spanProcessors: config.exporters.traces.map((name) =>
      name === "console"
        ? new SimpleSpanProcessor(new ConsoleSpanExporter())
        : new BatchSpanProcessor(new OTLPTraceExporter(), spanProcessorOptions),
    ),
  });
  if (config.exporters.traces.length) trace.setGlobalTracerProvider(tracerProvider);

  // Logs. The batch processor does not read OTEL_BLRP_*: config.ts does. Queue bounded as above.
  const loggerProvider = new LoggerProvider({
    resource,
    meterProvider: sdkMetrics,
    processors: config.exporters.logs.map((name) =>
      name === "console"
        ? new SimpleLogRecordProcessor({ exporter: new ConsoleLogRecordExporter() })
        : new BatchLogRecordProcessor({
            exporter: new OTLPLogExporter(),
            scheduledDelayMillis: config.logScheduleDelayMs,
            maxQueueSize: config.logMaxQueueSize,
            maxExportBatchSize: config.logMaxExportBatchSize,
            exportTimeoutMillis: config.logExportTimeoutMs,
            selfObsMeterProvider: sdkMetrics,
          }),
    ),
  });
  if (config.exporters.logs.length) logs.setGlobalLoggerProvider(loggerProvider);

  const log = createLog(service);
  for (const warning of config.warnings) log.warn(`telemetry: ${warning}`);

  // Shutdown: flush what is queued, but never hold up the exit for a collector that is gone.
  const shutdown = async (timeoutMs = 3000) => {
    const flushed = Promise.allSettled([
      tracerProvider.shutdown(),
      meterProvider.shutdown(),
      loggerProvider.shutdown(),
    ]);
    await Promise.race([flushed, Bun.sleep(timeoutMs)]);
  };

  const instruments = { tracer: tracer(), meter: meter(), untracedPaths };
  return {
    enabled: true,
    tracer: instruments.tracer,
    meter: instruments.meter,
    log,
    instrumentFetch: (fetch) => instrumentFetch(fetch, instruments),
    shutdown,
  };
}
