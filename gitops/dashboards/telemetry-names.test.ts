// States how Prometheus's OTLP receiver names our metrics, and checks that every PromQL query
// in the dashboards and alert rules uses only names that exist after that translation.
import { describe, expect, test } from "bun:test";
import { loadRuleGroups } from "../alerts/rules.ts";
import { dashboards } from "./generate.ts";
import {
  clientDuration,
  knownSeries,
  prometheusLabelName,
  prometheusMetricName,
  prometheusSeriesNames,
  promotedResourceAttributes,
  serverDuration,
  userLookups,
} from "./telemetry-names.ts";

describe("OTLP → Prometheus name translation", () => {
  test("histograms in seconds get the unit suffix and _bucket/_sum/_count", () => {
    expect(prometheusMetricName(serverDuration)).toBe("http_server_request_duration_seconds");
    expect(prometheusSeriesNames(serverDuration)).toEqual([
      "http_server_request_duration_seconds_bucket",
      "http_server_request_duration_seconds_sum",
      "http_server_request_duration_seconds_count",
    ]);
    expect(prometheusMetricName(clientDuration)).toBe("http_client_request_duration_seconds");
  });

  test("counters get _total; annotation units like {lookup} are dropped", () => {
    expect(prometheusSeriesNames(userLookups)).toEqual(["user_lookups_total"]);
    expect(prometheusMetricName({ name: "user.lookups", unit: "{lookup}", type: "counter" })).toBe(
      "user_lookups_total",
    );
    expect(prometheusMetricName({ name: "queue.size", unit: "1", type: "gauge" })).toBe(
      "queue_size_ratio",
    );
    expect(prometheusMetricName({ name: "payload", unit: "By", type: "histogram" })).toBe(
      "payload_bytes",
    );
    expect(prometheusMetricName({ name: "x.requests_total", unit: "1", type: "counter" })).toBe(
      "x_requests_total",
    );
  });

  test("attributes become labels with dots replaced; service.name becomes job", () => {
    expect(prometheusLabelName("http.route")).toBe("http_route");
    expect(prometheusLabelName("http.response.status_code")).toBe("http_response_status_code");
    expect(prometheusLabelName("error.type")).toBe("error_type");
    expect(prometheusLabelName("1st.attr")).toBe("key_1st_attr");
    const labels = knownSeries().get("http_server_request_duration_seconds_count");
    expect(labels && [...labels].sort()).toEqual([
      "deployment_environment_name",
      "error_type",
      "http_request_method",
      "http_response_status_code",
      "http_route",
      "instance",
      "job",
      "k8s_namespace_name",
      "k8s_pod_name",
    ]);
    expect(knownSeries().get("http_server_request_duration_seconds_bucket")?.has("le")).toBe(true);
  });

  test("the translation assumed here is the one Prometheus is configured with", async () => {
    const values = Bun.YAML.parse(
      await Bun.file(`${import.meta.dir}/../values/kube-prometheus-stack.yaml`).text(),
    ) as {
      prometheus: {
        prometheusSpec: {
          enableOTLPReceiver: boolean;
          otlp: { translationStrategy: string; promoteResourceAttributes: string[] };
        };
      };
    };
    const spec = values.prometheus.prometheusSpec;
    expect(spec.enableOTLPReceiver).toBe(true);
    expect(spec.otlp.translationStrategy).toBe("UnderscoreEscapingWithSuffixes");
    expect([...spec.otlp.promoteResourceAttributes].sort()).toEqual(
      [...promotedResourceAttributes].sort(),
    );
  });
});

// --- PromQL name extraction --------------------------------------------------------------

// PromQL words that are not series names.
const promqlWords = new Set(
  (
    "sum avg min max count rate irate increase histogram_quantile by without on ignoring " +
    "group_left group_right and or unless bool offset absent absent_over_time label_values " +
    "topk bottomk clamp_min clamp_max vector scalar inf nan"
  ).split(" "),
);

interface Selector {
  metric: string;
  labels: string[];
}

/** Series selectors and grouping labels in a PromQL expression (Grafana variables allowed). */
function parsePromql(expr: string): { selectors: Selector[]; grouping: string[] } {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const selectors: Selector[] = [];
  for (const m of withoutStrings.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?/g)) {
    const [, word, braces] = m;
    if (!word || promqlWords.has(word)) continue;
    const before = withoutStrings.slice(0, m.index).trimEnd();
    // Grouping clauses, label_values(…, label), durations like [5m] and $variables are not series.
    if (/(by|without|on|ignoring)\s*\([^)]*$/.test(before)) continue;
    if (/,\s*$/.test(before) && /label_values\(/.test(before)) continue;
    if (/\[\s*[0-9]*$/.test(before) || /\$\{?$/.test(before) || /[0-9.]$/.test(before)) continue;
    const labels = [...(braces ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)].map(
      (l) => l[1] as string,
    );
    selectors.push({ metric: word, labels });
  }
  const grouping = [...withoutStrings.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((g) =>
    (g[1] ?? "")
      .split(",")
      .map((l) => l.trim())
      .filter(Boolean),
  );
  const labelValues = [...withoutStrings.matchAll(/label_values\([^,]*,\s*([a-zA-Z_]+)\)/g)].map(
    (l) => l[1] as string,
  );
  return { selectors, grouping: [...grouping, ...labelValues] };
}

// Every Prometheus query in a dashboard: panel targets and query variables.
function dashboardQueries(dashboard: unknown): string[] {
  const found: string[] = [];
  const walk = (node: unknown, datasourceType?: string) => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item, datasourceType);
      return;
    }
    if (!node || typeof node !== "object") return;
    const obj = node as Record<string, unknown>;
    const type = (obj.datasource as { type?: string } | undefined)?.type ?? datasourceType;
    if (type === "prometheus") {
      if (typeof obj.expr === "string") found.push(obj.expr);
      if (typeof obj.query === "string") found.push(obj.query);
    }
    for (const value of Object.values(obj)) walk(value, type);
  };
  walk(dashboard);
  return found;
}

describe("queries use only translated names", () => {
  test("the parser finds series and labels", () => {
    const parsed = parsePromql(
      'sum by (le, http_route) (rate(http_server_request_duration_seconds_bucket{job="$service", http_route=~"$route"}[$__rate_interval]))',
    );
    expect(parsed.selectors).toEqual([
      { metric: "http_server_request_duration_seconds_bucket", labels: ["job", "http_route"] },
    ]);
    expect(parsed.grouping).toEqual(["le", "http_route"]);
    expect(parsePromql("label_values(user_lookups_total, outcome)")).toEqual({
      selectors: [{ metric: "user_lookups_total", labels: [] }],
      grouping: ["outcome"],
    });
  });

  test("a misspelt name is caught", () => {
    const problems = check(['rate(http_server_duration_seconds_count{route="/"}[5m])']);
    expect(problems).toEqual([
      'unknown series http_server_duration_seconds_count in: rate(http_server_duration_seconds_count{route="/"}[5m])',
    ]);
  });

  test("every dashboard query", () => {
    const queries = Object.values(dashboards).flatMap((build) => dashboardQueries(build().build()));
    expect(queries.length).toBeGreaterThan(10);
    expect(check(queries)).toEqual([]);
  });

  test("every alert and recording rule", async () => {
    const groups = await loadRuleGroups();
    const recorded = groups.flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : [])));
    const queries = groups.flatMap((g) => g.rules.map((r) => r.expr));
    expect(queries.length).toBeGreaterThan(10);
    expect(check(queries, recorded)).toEqual([]);
  });
});

// Problems with a set of queries: unknown series, or labels the series does not carry.
function check(queries: string[], recorded: string[] = []): string[] {
  const known = knownSeries();
  // Recording rules aggregate `by (job)`, so their series carry job only.
  for (const name of recorded) known.set(name, new Set(["job"]));
  const allLabels = new Set([...known.values()].flatMap((s) => [...s]));
  const problems: string[] = [];
  for (const query of queries) {
    const { selectors, grouping } = parsePromql(query);
    for (const { metric, labels } of selectors) {
      const have = known.get(metric);
      if (!have) {
        problems.push(`unknown series ${metric} in: ${query}`);
        continue;
      }
      for (const label of labels) {
        if (!have.has(label)) problems.push(`${metric} has no label ${label} in: ${query}`);
      }
    }
    for (const label of grouping) {
      if (!allLabels.has(label)) problems.push(`unknown label ${label} in: ${query}`);
    }
  }
  return problems;
}
