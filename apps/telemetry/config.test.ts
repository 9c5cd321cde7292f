import { afterEach, describe, expect, test } from "bun:test";
import { buildResource, readTelemetryConfig } from "./config.ts";

describe("readTelemetryConfig", () => {
  test("defaults follow the specification", () => {
    expect(readTelemetryConfig({})).toEqual({
      disabled: false,
      exporters: { traces: ["otlp"], metrics: ["otlp"], logs: ["otlp"] },
      propagators: ["tracecontext", "baggage"],
      logLevel: "INFO",
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

  test("the OTLP metric exporter gives up before the reader does, so its error is the one reported", () => {
    const timeouts = (env: Record<string, string>) => {
      const config = readTelemetryConfig(env);
      return [config.metricExportTimeoutMs, config.metricExporterTimeoutMs];
    };
    // Left to the exporter (OTEL_EXPORTER_OTLP_TIMEOUT, default 10 s) while it fits.
    expect(timeouts({})).toEqual([30_000, undefined]);
    expect(timeouts({ OTEL_EXPORTER_OTLP_TIMEOUT: "20000" })).toEqual([30_000, undefined]);
    // Capped at the reader's timeout otherwise; the per-signal variable wins, as in the exporter.
    expect(timeouts({ OTEL_METRIC_EXPORT_INTERVAL: "500" })).toEqual([500, 500]);
    expect(timeouts({ OTEL_EXPORTER_OTLP_TIMEOUT: "45000" })).toEqual([30_000, 30_000]);
    expect(
      timeouts({ OTEL_EXPORTER_OTLP_TIMEOUT: "100", OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: "40000" }),
    ).toEqual([30_000, 30_000]);
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

  test("an OTLP protocol other than http/protobuf is named: the exporters speak only that", () => {
    expect(
      readTelemetryConfig({
        OTEL_EXPORTER_OTLP_PROTOCOL: "HTTP/protobuf",
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "grpc",
      }).warnings,
    ).toEqual([
      'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL="grpc" is not supported; exporting with http/protobuf',
    ]);
  });
});

describe("OTEL_LOG_LEVEL", () => {
  test("the specification's levels in any case; info when unset", () => {
    const level = (value?: string) => readTelemetryConfig({ OTEL_LOG_LEVEL: value }).logLevel;
    expect(level()).toBe("INFO");
    expect(level(" ")).toBe("INFO");
    expect(["none", "Error", "WARN", "info", "debug", "verbose", "all"].map(level)).toEqual([
      "NONE",
      "ERROR",
      "WARN",
      "INFO",
      "DEBUG",
      "VERBOSE",
      "ALL",
    ]);
  });

  test("anything else is info, with a warning", () => {
    for (const value of ["loud", "0", "-99"]) {
      const config = readTelemetryConfig({ OTEL_LOG_LEVEL: value });
      expect(config.logLevel).toBe("INFO");
      expect(config.warnings).toEqual([
        `OTEL_LOG_LEVEL="${value}" is not one of none, error, warn, info, debug, verbose, all; using info`,
      ]);
    }
  });
});

describe("OTEL_PROPAGATORS", () => {
  const propagators = (value: string) => readTelemetryConfig({ OTEL_PROPAGATORS: value });

  test("tracecontext,baggage when unset or empty; otherwise the list, deduplicated", () => {
    expect(propagators("").propagators).toEqual(["tracecontext", "baggage"]);
    expect(propagators(" , ").propagators).toEqual(["tracecontext", "baggage"]);
    expect(propagators("baggage").propagators).toEqual(["baggage"]);
    expect(propagators("TraceContext, tracecontext").propagators).toEqual(["tracecontext"]);
    expect(propagators("baggage,tracecontext").warnings).toEqual([]);
  });

  test('"none" means no propagator, even beside others (with a warning)', () => {
    expect(propagators("none")).toMatchObject({ propagators: [], warnings: [] });
    expect(propagators("tracecontext,none")).toMatchObject({
      propagators: [],
      warnings: ['OTEL_PROPAGATORS lists "none" with others; propagation: off'],
    });
  });

  test("propagators the project does not ship are ignored with a warning that says what is used", () => {
    expect(propagators("b3,tracecontext")).toEqual(
      expect.objectContaining({
        propagators: ["tracecontext"],
        warnings: [
          'OTEL_PROPAGATORS: unsupported "b3" ignored (use tracecontext, baggage or none); propagation: tracecontext',
        ],
      }),
    );
    // Nothing usable left: the setting is ignored as a whole, so the default applies.
    expect(propagators("xray, b3multi")).toEqual(
      expect.objectContaining({
        propagators: ["tracecontext", "baggage"],
        warnings: [
          'OTEL_PROPAGATORS: unsupported "xray", "b3multi" ignored (use tracecontext, baggage or none); propagation: tracecontext, baggage',
        ],
      }),
    );
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
    expect(config.warnings).toEqual(['OTEL_TRACES_EXPORTER lists "none" with others; traces: off']);
  });

  test("unsupported exporters are ignored; with none left, the signal keeps the default otlp", () => {
    const config = readTelemetryConfig({
      OTEL_TRACES_EXPORTER: "zipkin,console",
      OTEL_METRICS_EXPORTER: "prometheus",
      OTEL_LOGS_EXPORTER: "consle",
    });
    expect(config.exporters).toEqual({ traces: ["console"], metrics: ["otlp"], logs: ["otlp"] });
    expect(config.warnings).toEqual([
      'OTEL_TRACES_EXPORTER: unsupported "zipkin" ignored (use otlp, console or none); traces: exporting with console',
      'OTEL_METRICS_EXPORTER: unsupported "prometheus" ignored (use otlp, console or none); metrics: exporting with otlp',
      'OTEL_LOGS_EXPORTER: unsupported "consle" ignored (use otlp, console or none); logs: exporting with otlp',
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

  test("the SDK's default resource is kept: telemetry.sdk.language, .name and .version", () => {
    const { attributes } = buildResource(service, {});
    expect(attributes).toMatchObject({
      "telemetry.sdk.language": "nodejs",
      "telemetry.sdk.name": "opentelemetry",
      "telemetry.sdk.version": "2.12.1",
      "service.name": expect.not.stringContaining("unknown_service"),
    });
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

test("docs/telemetry.md lists every OTEL_* variable config.ts reads, as honoured by the module", async () => {
  const source = await Bun.file(new URL("./config.ts", import.meta.url)).text();
  const docs = await Bun.file(new URL("../../docs/telemetry.md", import.meta.url)).text();
  // Names in strings and env.NAME, plus those built in templates (`OTEL_${signal}_EXPORTER`...).
  const read = new Set(
    [...source.matchAll(/(?:"|env\.)(OTEL_[A-Z_]+)/g)].map((match) => match[1] as string),
  );
  for (const signal of ["TRACES", "METRICS", "LOGS"]) read.add(`OTEL_${signal}_EXPORTER`);
  read.add("OTEL_EXPORTER_OTLP_PROTOCOL");
  // A table row: | variables | default | honoured by | meaning |
  const moduleRows = docs
    .split("\n")
    .filter((line) => line.startsWith("| `OTEL_") && line.split("|")[3]?.includes("module"));
  const missing = [...read].filter(
    (name) => !moduleRows.some((row) => row.split("|")[1]?.includes(`\`${name}\``)),
  );
  expect(read.size).toBeGreaterThan(10);
  expect(missing).toEqual([]);
});
