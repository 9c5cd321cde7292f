// The start-up validation model (collector-validate.ts): each rule as the Collector 0.158.0
// states it, and the laptop config the chart renders passes. The cluster profile's config is
// checked in gitops/cluster-profile.test.ts.
import { describe, expect, test } from "bun:test";
import { collectorConfig } from "./collector.ts";
import { startupErrors } from "./collector-validate.ts";

/** A small valid config; each case changes one thing. */
const valid = () => ({
  receivers: { otlp: { protocols: { grpc: { endpoint: "0.0.0.0:4317" } } } },
  processors: { batch: {}, memory_limiter: { check_interval: "1s", limit_percentage: 80 } },
  exporters: { "otlp_grpc/tempo": { endpoint: "tempo:4317" } },
  extensions: { health_check: {} },
  service: {
    extensions: ["health_check"],
    pipelines: {
      traces: {
        receivers: ["otlp"],
        processors: ["memory_limiter", "batch"],
        exporters: ["otlp_grpc/tempo"],
      },
    },
  },
});
type Config = ReturnType<typeof valid> & Record<string, unknown>;

describe("the Collector's start-up validation, modelled", () => {
  test("a complete config passes", () => {
    expect(startupErrors(valid())).toEqual([]);
  });

  test("an OTLP/HTTP exporter with only a signal's endpoint is valid", () => {
    const config = valid() as Config;
    Object.assign(config.exporters, { "otlp_http/m": { metrics_endpoint: "http://p:9090/m" } });
    expect(startupErrors(config)).toEqual([]);
  });

  const cases: [string, (c: Config) => void, string][] = [
    [
      "a declared OTLP/HTTP exporter with a null config has no endpoint, used or not",
      (c) => Object.assign(c.exporters, { "otlp_http/prometheus": null }),
      "exporters::otlp_http/prometheus: at least one endpoint must be specified",
    ],
    [
      "an OTLP/HTTP exporter with settings but no endpoint",
      (c) => Object.assign(c.exporters, { "otlp_http/a": { tls: { insecure: true } } }),
      "exporters::otlp_http/a: at least one endpoint must be specified",
    ],
    [
      "an OTLP/gRPC endpoint that is only a scheme is empty once sanitized",
      (c) => Object.assign(c.exporters, { "otlp_grpc/b": { endpoint: "http://" } }),
      'exporters::otlp_grpc/b: requires a non-empty "endpoint"',
    ],
    [
      "the OTLP receiver needs at least one protocol",
      (c) => Object.assign(c.receivers, { "otlp/bare": null }),
      "receivers::otlp/bare: must specify at least one protocol when using the OTLP receiver",
    ],
    [
      "memory_limiter's default config has no check interval",
      (c) => Object.assign(c.processors, { "memory_limiter/default": null }),
      "processors::memory_limiter/default: 'check_interval' must be greater than zero",
    ],
    [
      "memory_limiter needs a limit",
      (c) => Object.assign(c.processors, { "memory_limiter/x": { check_interval: "1s" } }),
      "processors::memory_limiter/x: 'limit_mib' or 'limit_percentage' must be greater than zero",
    ],
    [
      "batch: the maximum size is at least the batch size",
      (c) => Object.assign(c.processors, { batch: { send_batch_max_size: 10 } }),
      "processors::batch: send_batch_max_size must be greater or equal to send_batch_size",
    ],
    [
      "debug: an unknown verbosity",
      (c) => Object.assign(c.exporters, { debug: { verbosity: "loud" } }),
      'exporters::debug: verbosity level "loud" is not supported',
    ],
    [
      "an unknown component type",
      (c) => Object.assign(c.exporters, { "otlphttp_typo/a": {} }),
      'exporters: unknown type: "otlphttp_typo" for id: "otlphttp_typo/a"',
    ],
    [
      "a pipeline names an exporter that is not declared",
      (c) => c.service.pipelines.traces.exporters.push("otlp_http/missing"),
      'service::pipelines::traces: references exporter "otlp_http/missing" which is not configured',
    ],
    [
      "a pipeline names a processor that is not declared",
      (c) => c.service.pipelines.traces.processors.push("k8s_attributes"),
      'service::pipelines::traces: references processor "k8s_attributes" which is not configured',
    ],
    [
      "a processor twice in one pipeline",
      (c) => c.service.pipelines.traces.processors.push("batch"),
      'service::pipelines::traces: references processor "batch" multiple times',
    ],
    [
      "a pipeline without an exporter",
      (c) => {
        c.service.pipelines.traces.exporters = [];
      },
      "service::pipelines::traces: must have at least one exporter",
    ],
    [
      "the service names an extension that is not declared",
      (c) => {
        c.extensions = {} as Config["extensions"];
      },
      'service::extensions: references extension "health_check" which is not configured',
    ],
  ];
  test.each(cases)("%s", (_, change, error) => {
    const config = valid() as Config;
    change(config);
    expect(startupErrors(config).join("\n")).toContain(error);
  });
});

describe("the config the chart renders from gitops/values/otel-collector.yaml", () => {
  const config = collectorConfig();

  test("passes start-up validation", () => {
    expect(startupErrors(config)).toEqual([]);
  });

  test("the laptop's null removes components the chart's defaults have", () => {
    expect(Object.keys(config.receivers as object)).toEqual(["otlp"]);
    expect(Object.keys(config.exporters as object).sort()).toEqual([
      "otlp_grpc/tempo",
      "otlp_http/loki",
      "otlp_http/prometheus",
    ]);
  });
});
