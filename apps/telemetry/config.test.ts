import { afterEach, describe, expect, test } from "bun:test";
import { buildResource, readTelemetryConfig } from "./config.ts";

describe("readTelemetryConfig", () => {
  test("defaults follow the specification", () => {
    expect(readTelemetryConfig({})).toEqual({
      disabled: false,
      exporters: { traces: ["otlp"], metrics: ["otlp"], logs: ["otlp"] },
      metricExportIntervalMs: 60_000,
      metricExportTimeoutMs: 30_000,
      logScheduleDelayMs: 1000,
      logMaxQueueSize: 2048,
      logMaxExportBatchSize: 512,
      logExportTimeoutMs: 30_000,
      warnings: [],
    });
  });

  test("honours the variables hand-built providers ignore", () => {
    const config = readTelemetryConfig({
      OTEL_SDK_DISABLED: " TRUE ",
      OTEL_METRIC_EXPORT_INTERVAL: "5000",
      OTEL_METRIC_EXPORT_TIMEOUT: "2000",
      OTEL_BLRP_SCHEDULE_DELAY: "250",
      OTEL_BLRP_MAX_QUEUE_SIZE: "100",
      OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: "50",
      OTEL_BLRP_EXPORT_TIMEOUT: "3000",
    });
    expect(config).toMatchObject({
      disabled: true,
      metricExportIntervalMs: 5000,
      metricExportTimeoutMs: 2000,
      logScheduleDelayMs: 250,
      logMaxQueueSize: 100,
      logMaxExportBatchSize: 50,
      logExportTimeoutMs: 3000,
      warnings: [],
    });
  });

  test("the metric export timeout never exceeds the interval (the SDK would throw)", () => {
    expect(readTelemetryConfig({ OTEL_METRIC_EXPORT_INTERVAL: "200" }).metricExportTimeoutMs).toBe(
      200,
    );
  });

  test("malformed values fall back to the defaults, each with a warning", () => {
    const config = readTelemetryConfig({
      OTEL_SDK_DISABLED: "yes",
      OTEL_METRIC_EXPORT_INTERVAL: "soon",
      OTEL_BLRP_SCHEDULE_DELAY: "-5",
    });
    expect(config.disabled).toBe(false);
    expect(config.metricExportIntervalMs).toBe(60_000);
    expect(config.logScheduleDelayMs).toBe(1000);
    expect(config.warnings).toEqual([
      'OTEL_METRIC_EXPORT_INTERVAL="soon" is not a positive number; using 60000',
      'OTEL_SDK_DISABLED="yes" is neither true nor false; telemetry stays ON (set OTEL_SDK_DISABLED=true to turn it off)',
      'OTEL_BLRP_SCHEDULE_DELAY="-5" is not a positive number; using 1000',
    ]);
    expect(readTelemetryConfig({ OTEL_SDK_DISABLED: "False" }).warnings).toEqual([]);
  });
});

describe("OTEL_{TRACES,METRICS,LOGS}_EXPORTER", () => {
  const exporters = (env: Record<string, string>) => readTelemetryConfig(env).exporters;

  test("otlp when unset or empty", () => {
    expect(exporters({ OTEL_TRACES_EXPORTER: " " })).toEqual({
      traces: ["otlp"],
      metrics: ["otlp"],
      logs: ["otlp"],
    });
  });

  test("each signal reads its own variable, as a comma-separated list", () => {
    expect(
      exporters({
        OTEL_TRACES_EXPORTER: "console",
        OTEL_METRICS_EXPORTER: " OTLP , console,otlp",
        OTEL_LOGS_EXPORTER: "none",
      }),
    ).toEqual({ traces: ["console"], metrics: ["otlp", "console"], logs: [] });
  });

  test('"none" switches the signal off even beside others, with a warning', () => {
    const config = readTelemetryConfig({ OTEL_TRACES_EXPORTER: "otlp,none" });
    expect(config.exporters.traces).toEqual([]);
    expect(config.warnings).toEqual([
      'OTEL_TRACES_EXPORTER lists "none" with others; traces are off',
    ]);
  });

  test("unsupported exporters are named in a warning and ignored", () => {
    const config = readTelemetryConfig({
      OTEL_TRACES_EXPORTER: "zipkin,console",
      OTEL_LOGS_EXPORTER: "jaeger",
    });
    expect(config.exporters).toEqual({ traces: ["console"], metrics: ["otlp"], logs: [] });
    expect(config.warnings).toEqual([
      'OTEL_TRACES_EXPORTER: unsupported exporter "zipkin" ignored (use otlp, console or none)',
      'OTEL_LOGS_EXPORTER: unsupported exporter "jaeger" ignored (use otlp, console or none)',
    ]);
  });
});

describe("buildResource", () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env.OTEL_SERVICE_NAME = saved.OTEL_SERVICE_NAME;
    process.env.OTEL_RESOURCE_ATTRIBUTES = saved.OTEL_RESOURCE_ATTRIBUTES;
    if (saved.OTEL_SERVICE_NAME === undefined) delete process.env.OTEL_SERVICE_NAME;
    if (saved.OTEL_RESOURCE_ATTRIBUTES === undefined) delete process.env.OTEL_RESOURCE_ATTRIBUTES;
  });
  const service = { name: "api-gateway", version: "1.2.3" };

  test("service identity, a local environment and the pod's downward-API variables", () => {
    delete process.env.OTEL_SERVICE_NAME;
    delete process.env.OTEL_RESOURCE_ATTRIBUTES;
    const { attributes } = buildResource(service, {
      POD_NAME: "api-gateway-7d9c",
      POD_NAMESPACE: "apps",
      NODE_NAME: "kind-control-plane",
    });
    expect(attributes).toMatchObject({
      "service.name": "api-gateway",
      "service.version": "1.2.3",
      "deployment.environment.name": "local",
      "k8s.pod.name": "api-gateway-7d9c",
      "k8s.namespace.name": "apps",
      "k8s.node.name": "kind-control-plane",
    });
    expect(attributes["service.instance.id"]).toBeString();
  });

  test("OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win", () => {
    process.env.OTEL_SERVICE_NAME = "renamed";
    process.env.OTEL_RESOURCE_ATTRIBUTES =
      "deployment.environment.name=kind,k8s.pod.name=from-otel-env,team=sandbox";
    const { attributes } = buildResource(service, { POD_NAME: "from-pod-env" });
    expect(attributes).toMatchObject({
      "service.name": "renamed",
      "deployment.environment.name": "kind",
      "k8s.pod.name": "from-otel-env",
      team: "sandbox",
    });
  });
});
