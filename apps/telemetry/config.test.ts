import { afterEach, describe, expect, test } from "bun:test";
import { buildResource, readTelemetryConfig } from "./config.ts";

describe("readTelemetryConfig", () => {
  test("defaults follow the specification, except smaller export batches", () => {
    expect(readTelemetryConfig({})).toEqual({
      disabled: false,
      metricExportIntervalMs: 60_000,
      metricExportTimeoutMs: 30_000,
      logScheduleDelayMs: 1000,
      logMaxQueueSize: 2048,
      logMaxExportBatchSize: 128,
      spanMaxExportBatchSize: 128,
      logExportTimeoutMs: 30_000,
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
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "64",
      OTEL_BLRP_EXPORT_TIMEOUT: "3000",
    });
    expect(config).toEqual({
      disabled: true,
      metricExportIntervalMs: 5000,
      metricExportTimeoutMs: 2000,
      logScheduleDelayMs: 250,
      logMaxQueueSize: 100,
      logMaxExportBatchSize: 50,
      spanMaxExportBatchSize: 64,
      logExportTimeoutMs: 3000,
    });
  });

  test("the metric export timeout never exceeds the interval (the SDK would throw)", () => {
    expect(readTelemetryConfig({ OTEL_METRIC_EXPORT_INTERVAL: "200" }).metricExportTimeoutMs).toBe(
      200,
    );
  });

  test("malformed values fall back to the defaults instead of breaking start-up, each named in a warning", () => {
    const warnings: string[] = [];
    const config = readTelemetryConfig(
      {
        OTEL_SDK_DISABLED: "maybe",
        OTEL_METRIC_EXPORT_INTERVAL: "soon",
        OTEL_BLRP_SCHEDULE_DELAY: "-5",
      },
      (w) => warnings.push(w),
    );
    expect(config.disabled).toBe(false);
    expect(config.metricExportIntervalMs).toBe(60_000);
    expect(config.logScheduleDelayMs).toBe(1000);
    expect(warnings.sort()).toEqual([
      'OTEL_BLRP_SCHEDULE_DELAY="-5" is not a positive number; using 1000',
      'OTEL_METRIC_EXPORT_INTERVAL="soon" is not a positive number; using 60000',
      'OTEL_SDK_DISABLED="maybe" is neither true nor false; telemetry stays ON (set OTEL_SDK_DISABLED=true to turn it off)',
    ]);
    const quiet: string[] = [];
    readTelemetryConfig({ OTEL_SDK_DISABLED: "False" }, (w) => quiet.push(w));
    expect(quiet).toEqual([]);
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
