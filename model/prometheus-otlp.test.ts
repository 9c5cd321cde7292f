// The OTLP → Prometheus translation against cases from upstream's own tables
// (prometheus/otlptranslator v1.0.0 metric_namer_test.go and label_namer_test.go), and the
// receiver's job/instance/target_info rules (prometheus v3.14.0 otlptranslator).
import { describe, expect, test } from "bun:test";
import type { MetricPoint } from "./collected.ts";
import {
  labelName,
  metricName,
  prometheusOtlpSettings,
  translateMetrics,
} from "./prometheus-otlp.ts";

describe("metric names (UnderscoreEscapingWithSuffixes)", () => {
  test.each([
    ["requests", "", "counter", "requests_total"],
    ["cpu_usage", "1", "gauge", "cpu_usage_ratio"],
    ["items", "1", "counter", "items_total"],
    ["response_time", "ms", "gauge", "response_time_milliseconds"],
    ["memory_usage", "By", "gauge", "memory_usage_bytes"],
    ["requests", "1/s", "gauge", "requests_per_second"],
    ["throughput", "By/s", "gauge", "throughput_bytes_per_second"],
    ["custom_metric", "custom_unit", "gauge", "custom_metric_custom_unit"],
    ["custom_metric", "{custom}", "gauge", "custom_metric"],
    ["custom_metric", "By/{custom}", "gauge", "custom_metric_bytes"],
    ["requests_total", "", "counter", "requests_total"],
    ["cpu_usage_ratio", "1", "gauge", "cpu_usage_ratio"],
    ["response_time_seconds", "s", "gauge", "response_time_seconds"],
    // Ours: histograms keep the unit suffix; _bucket/_sum/_count come on top.
    ["http.server.request.duration", "s", "histogram", "http_server_request_duration_seconds"],
    ["user.lookups", "{lookup}", "counter", "user_lookups_total"],
  ] as const)("%s [%s] %s → %s", (name, unit, type, expected) => {
    expect(metricName(name, unit, type)).toBe(expected);
  });
});

describe("label names", () => {
  test.each([
    ["http.route", "http_route"],
    ["k8s.namespace.name", "k8s_namespace_name"],
    ["label:with:colons", "label_with_colons"],
    ["label__with__underscores", "label_with_underscores"],
    ["123label", "key_123label"],
    ["__reserved__", "__reserved__"],
  ])("%s → %s", (attribute, expected) => {
    expect(labelName(attribute)).toBe(expected);
  });
});

const point = (resource: Record<string, string>, overrides: Partial<MetricPoint> = {}) =>
  ({
    resource: { attributes: resource },
    scope: { name: "s", version: "" },
    metric: "user.lookups",
    unit: "{lookup}",
    type: "sum",
    monotonic: true,
    temporality: "AGGREGATION_TEMPORALITY_CUMULATIVE",
    attributes: { outcome: "found" },
    ...overrides,
  }) satisfies MetricPoint;

describe("job, instance, target_info", () => {
  const resource = {
    "service.name": "api-gateway",
    "service.instance.id": "i-1",
    "k8s.pod.name": "p",
  };

  test("job is service.name, or service.namespace/service.name when a namespace is set", () => {
    const [bare] = translateMetrics([point(resource)], {});
    expect(bare?.labels).toEqual({ outcome: "found", job: "api-gateway", instance: "i-1" });
    const [namespaced] = translateMetrics(
      [point({ ...resource, "service.namespace": "apps" })],
      {},
    );
    expect(namespaced?.labels.job).toBe("apps/api-gateway");
  });

  test("promoted resource attributes become labels; a point's own attribute wins", () => {
    const [series] = translateMetrics([point({ ...resource, outcome: "from-resource" })], {
      promoteResourceAttributes: ["k8s.pod.name", "outcome"],
    });
    expect(series?.labels).toEqual({
      k8s_pod_name: "p",
      outcome: "found",
      job: "api-gateway",
      instance: "i-1",
    });
  });

  test("target_info holds the other resource attributes, none for identity only", () => {
    const info = translateMetrics([point(resource)], {}).find((s) => s.name === "target_info");
    expect(info?.labels).toEqual({ k8s_pod_name: "p", job: "api-gateway", instance: "i-1" });
    const none = translateMetrics([point({ "service.name": "x", "service.instance.id": "1" })], {});
    expect(none.some((s) => s.name === "target_info")).toBe(false);
  });

  test("histograms become _bucket per bound and +Inf, _sum and _count", () => {
    const names = translateMetrics(
      [point(resource, { metric: "d", unit: "s", type: "histogram", explicitBounds: [0.25, 1] })],
      {},
    )
      .filter((s) => s.name !== "target_info")
      .map((s) => `${s.name}${s.labels.le ? `{le=${s.labels.le}}` : ""}`);
    expect(names).toEqual([
      "d_seconds_bucket{le=0.25}",
      "d_seconds_bucket{le=1}",
      "d_seconds_bucket{le=+Inf}",
      "d_seconds_sum",
      "d_seconds_count",
    ]);
  });

  test("delta temporality and settings the model does not know are refused, not guessed", () => {
    expect(() =>
      translateMetrics([point(resource, { temporality: "AGGREGATION_TEMPORALITY_DELTA" })], {}),
    ).toThrow("cumulative");
    expect(() => translateMetrics([], { translationStrategy: "NoTranslation" })).toThrow(
      "NoTranslation",
    );
  });

  test("the settings modelled are the ones Prometheus is configured with", () => {
    const settings = prometheusOtlpSettings();
    expect(settings.translationStrategy).toBe("UnderscoreEscapingWithSuffixes");
    expect(() => translateMetrics([], settings)).not.toThrow();
  });
});
