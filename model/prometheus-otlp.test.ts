// The OTLP → Prometheus translation against cases from upstream's own tables
// (prometheus/otlptranslator v1.0.0 metric_namer_test.go and label_namer_test.go), and the
// receiver's job/instance/target_info rules and label-name defaults (prometheus v3.14.0
// storage/remote/otlptranslator/prometheusremotewrite/helper_test.go `TestCreateAttributes`).
import { describe, expect, test } from "bun:test";
import type { MetricPoint } from "./collected.ts";
import {
  labelName,
  metricName,
  plainLabelNamer,
  prometheusLabelNamer,
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
    // metric_namer_test.go "non-monotonic counter metric type", and normalizeName: _ratio is
    // for gauges only, so a non-monotonic sum with unit 1 (an up-down counter) gets none.
    ["active_connections", "", "non-monotonic-counter", "active_connections"],
    ["queue.usage", "1", "non-monotonic-counter", "queue_usage"],
  ] as const)("%s [%s] %s → %s", (name, unit, type, expected) => {
    expect(metricName(name, unit, type)).toBe(expected);
  });
});

// label_namer_test.go labelTestCases: `sanitized` with LabelNamer{} (Loki's), and
// `sanitizedMultipleUnderscores` where it differs with PreserveMultipleUnderscores.
const labelCases: [attribute: string, plain: string, preserved?: string][] = [
  ["label:with:colons", "label_with_colons"],
  ["LabelWithCapitalLetters", "LabelWithCapitalLetters"],
  ["label!with&special$chars)", "label_with_special_chars_"],
  [
    "label_with_foreign_characters_字符",
    "label_with_foreign_characters_",
    "label_with_foreign_characters___",
  ],
  ["label.with.dots", "label_with_dots"],
  ["123label", "key_123label"],
  ["_label_starting_with_underscore", "_label_starting_with_underscore"],
  [
    "__label_starting_with_2underscores",
    "_label_starting_with_2underscores",
    "__label_starting_with_2underscores",
  ],
  [
    "label__with__double__underscores",
    "label_with_double_underscores",
    "label__with__double__underscores",
  ],
  [
    "label.name__with&&special##chars",
    "label_name_with_special_chars",
    "label_name__with__special__chars",
  ],
  ["__reserved__label__name__", "__reserved_label_name__", "__reserved__label__name__"],
  ["trailing_underscores___", "trailing_underscores_", "trailing_underscores___"],
];

describe("label names (label_namer_test.go TestBuildLabel)", () => {
  test.each(labelCases)("%s → %s with LabelNamer{}", (attribute, plain) => {
    expect(labelName(attribute, plainLabelNamer)).toBe(plain);
  });
  const preservedCases = labelCases.map(([attribute, plain, preserved]) => [
    attribute,
    preserved ?? plain,
  ]);
  test.each(preservedCases)("%s → %s, preserving multiple underscores", (attribute, preserved) => {
    const namer = { ...plainLabelNamer, preserveMultipleUnderscores: true };
    expect(labelName(attribute as string, namer)).toBe(preserved as string);
  });
  test("a name of only invalid characters is refused (ようこそ)", () => {
    expect(() => labelName("ようこそ", plainLabelNamer)).toThrow("normalises to _");
  });
  // TestBuildLabel_Underscores: "key" only for a single leading "_", and only when enabled.
  test.each([
    ["regular label", "regular_label", "regular_label"],
    ["123label", "key_123label", "key_123label"],
    [
      "_label_starting_with_underscore",
      "_label_starting_with_underscore",
      "key_label_starting_with_underscore",
    ],
  ])("%s → %s, or %s with UnderscoreLabelSanitization", (attribute, plain, sanitized) => {
    expect(labelName(attribute, plainLabelNamer)).toBe(plain);
    const namer = { ...plainLabelNamer, underscoreLabelSanitization: true };
    expect(labelName(attribute, namer)).toBe(sanitized);
  });
  test("Prometheus v3.14.0's defaults turn both options on (config.go DefaultOTLPConfig)", () => {
    expect(prometheusLabelNamer).toEqual({
      underscoreLabelSanitization: true,
      preserveMultipleUnderscores: true,
    });
    expect(labelName("http.route")).toBe("http_route");
    expect(labelName("label__with__underscores")).toBe("label__with__underscores");
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

  // helper_test.go TestCreateAttributes "Both sanitization options enabled", the receiver's
  // defaults: promoted and point attributes get "key" before a single "_" and keep "___".
  test("labels follow Prometheus's default label-name options", () => {
    const [series] = translateMetrics(
      [
        point(
          {
            "service.name": "service name",
            "service.instance.id": "service ID",
            _private: "private value",
            label___multi: "multi value",
          },
          { attributes: { _metric_private: "private metric", metric___multi: "multi metric" } },
        ),
      ],
      { promoteResourceAttributes: ["_private", "label___multi"] },
    );
    expect(series?.labels).toEqual({
      instance: "service ID",
      job: "service name",
      key_private: "private value",
      label___multi: "multi value",
      key_metric_private: "private metric",
      metric___multi: "multi metric",
    });
  });

  test("a non-monotonic sum with unit 1 is stored without _ratio (metrics_to_prw.go)", () => {
    const names = translateMetrics(
      [point(resource, { metric: "pool.usage", unit: "1", monotonic: false })],
      {},
    ).map((s) => s.name);
    expect(names).toContain("pool_usage");
    expect(names).not.toContain("pool_usage_ratio");
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
