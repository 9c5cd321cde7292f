// The Helm values model (helm-values.ts) against the real helm binary (.cache/tools, v4.1.4): a
// scratch chart whose values.yaml holds the recorded defaults (subcharts as real subcharts)
// prints the values its templates see, rendered with the same value files the model merges.
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderChart } from "../gitops/testing/helm.ts";
import { chartDefaults } from "./chart-defaults.ts";
import { type ChartDefaults, chartValues, isMap, type Values } from "./helm-values.ts";
import { loadYaml } from "./yaml.ts";

/** kube-prometheus-stack's subcharts among the recorded keys (its Chart.yaml dependencies). */
const subcharts: Record<string, string[]> = {
  "kube-prometheus-stack": ["grafana", "prometheus-node-exporter"],
};

function writeChart(dir: string, name: string, values: Values) {
  mkdirSync(join(dir, "templates"), { recursive: true });
  writeFileSync(join(dir, "Chart.yaml"), `apiVersion: v2\nname: ${name}\nversion: 0.1.0\n`);
  writeFileSync(join(dir, "values.yaml"), JSON.stringify(values));
}

/** The values a scratch copy of the chart's recorded defaults is rendered with, by real helm. */
async function helmValues(chart: ChartDefaults, valueFiles: string[]): Promise<Values> {
  const scratch = mkdtempSync(join(tmpdir(), "helm-values-"));
  try {
    const own = { ...chart.defaults };
    for (const sub of subcharts[chart.chart] ?? []) {
      writeChart(join(scratch, "charts", sub), sub, own[sub] as Values);
      delete own[sub];
    }
    writeChart(scratch, "scratch", own);
    writeFileSync(
      join(scratch, "templates", "values.yaml"),
      "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: values }\ndata:\n  values: {{ .Values | toJson | quote }}\n",
    );
    const [rendered] = await renderChart(scratch, { release: "r", namespace: "n", valueFiles });
    const data = rendered?.object.data as { values: string };
    return withoutGlobals(JSON.parse(data.values) as Values);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Helm adds an empty `global` to a chart with subcharts and to each subchart's values. */
function withoutGlobals(values: Values): Values {
  const out: Values = {};
  for (const [key, value] of Object.entries(values)) {
    if (key === "global" && isMap(value) && Object.keys(value).length === 0) continue;
    out[key] = isMap(value) ? withoutGlobals(value) : value;
  }
  return out;
}

const scratch: ChartDefaults = {
  chart: "scratch",
  version: "0",
  defaults: {
    config: { exporters: { debug: {} }, service: { port: 80, nodePort: null } },
    top: "default",
  },
};

describe("the model's rules, each checked against real helm", () => {
  const cases: { name: string; layers: Values[]; v3: Values }[] = [
    {
      name: "a null deletes a key the chart's defaults have, nested or at the top",
      layers: [{ config: { exporters: { debug: null } }, top: null }],
      v3: { config: { exporters: {}, service: { port: 80, nodePort: null } } },
    },
    {
      name: "a null for a key the defaults lack survives the merge and is rendered",
      layers: [
        { config: { exporters: { "otlp_http/a": { endpoint: "x" } } } },
        { config: { exporters: { "otlp_http/a": null } }, other: null },
      ],
      v3: {
        config: {
          exporters: { debug: {}, "otlp_http/a": null },
          service: { port: 80, nodePort: null },
        },
        top: "default",
        other: null,
      },
    },
    {
      name: "maps merge, lists and scalars replace, a later file wins",
      layers: [
        { config: { service: { port: 81, list: [1, 2] } } },
        { config: { service: { list: [3] } } },
      ],
      v3: {
        config: { exporters: { debug: {} }, service: { port: 81, nodePort: null, list: [3] } },
        top: "default",
      },
    },
    {
      // Helm 3.19.4 deletes it; 4.1.4 keeps the null (srcOriginalNonNil). Both render nil.
      name: "a null over a null default",
      layers: [{ config: { service: { nodePort: null } } }],
      v3: { config: { exporters: { debug: {} }, service: { port: 80 } }, top: "default" },
    },
  ];

  test.concurrent.each(cases)("$name", async ({ layers, v3 }) => {
    expect(chartValues(scratch, layers, "3.19.4")).toEqual(v3);
    const dir = mkdtempSync(join(tmpdir(), "helm-values-layers-"));
    try {
      const files = layers.map((values, i) => {
        const file = join(dir, `${i}.yaml`);
        writeFileSync(file, JSON.stringify(values));
        return file;
      });
      expect(chartValues(scratch, layers, "4.1.4")).toEqual(await helmValues(scratch, files));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a null in a map whose defaults are not recorded is an error, not a guess", () => {
    expect(() => chartValues(scratch, [{ unrecorded: { key: null } }])).toThrow(
      "a null at unrecorded.key needs the keys of unrecorded",
    );
  });
});

describe("the project's value files, with the recorded defaults, as real helm merges them", () => {
  const layered: { chart: string; files: string[] }[] = [
    {
      chart: "opentelemetry-collector",
      files: ["gitops/values/otel-collector.yaml", "gitops/profiles/cluster/otel-collector.yaml"],
    },
    {
      chart: "kube-prometheus-stack",
      files: [
        "gitops/values/kube-prometheus-stack.yaml",
        "gitops/profiles/cluster/kube-prometheus-stack.yaml",
      ],
    },
    { chart: "loki", files: ["gitops/values/loki.yaml", "gitops/profiles/cluster/loki.yaml"] },
  ];
  test.concurrent.each(layered)("$chart: $files", async ({ chart, files }) => {
    const defaults = chartDefaults[chart] as ChartDefaults;
    const model = chartValues(
      defaults,
      files.map((file) => loadYaml(file)),
      "4.1.4",
    );
    expect(model).toEqual(await helmValues(defaults, files));
  });
});
