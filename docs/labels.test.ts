// docs/labels.md against the pipeline model (model/backends.ts) fed with the services' real
// telemetry: every series, label, stream label, metadata field and service-graph edge the page
// names is one the model produces, and every series and record field the model produces is on
// the page. In the page's tables and lists, names are in backticks; text in parentheses is a
// note (values, or the one service a series comes from).
import { describe, expect, test } from "bun:test";
import { captureServices } from "../gitops/pipeline/capture.ts";
import { backends } from "../model/backends.ts";
import { recordFields } from "../model/loki-otlp.ts";
import type { PromSeries } from "../model/prometheus-otlp.ts";
import { labelName, prometheusOtlpSettings } from "../model/prometheus-otlp.ts";
import { readText } from "../model/yaml.ts";

const page = readText("docs/labels.md");
// Top-level, like the other capture-based tests: no test timeout applies to running the services.
const model = backends(await captureServices());

/** The text of a `## heading` section. */
function section(heading: string): string {
  const start = page.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`docs/labels.md: no section "## ${heading}"`);
  const end = page.indexOf("\n## ", start + 1);
  return page.slice(start, end < 0 ? undefined : end);
}

const withoutNotes = (text: string) => text.replace(/\([^)]*\)/g, "");
const names = (text: string) => [...withoutNotes(text).matchAll(/`([^`]+)`/g)].map((m) => m[1]);
/** `a_{x,y}_b` → a_x_b, a_y_b. */
const expand = (name: string): string[] => {
  const brace = name.match(/\{([^}]*)\}/);
  if (!brace) return [name];
  return (brace[1] ?? "").split(",").flatMap((part) => expand(name.replace(brace[0], part)));
};

interface Row {
  series: string[];
  service?: string;
  labels: string[];
  cell: string;
}

/** The `| series | labels |` rows of the tables in a section. */
function tableRows(text: string): Row[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("| `"))
    .map((line) => {
      const [series = "", labels = ""] = line.split("|").slice(1, -1);
      return {
        series: names(series).flatMap((name) => expand(name ?? "")),
        service: series.match(/\((api-gateway|user-service)\)/)?.[1],
        labels: labels.trim() === "—" ? [] : (names(labels) as string[]),
        cell: line,
      };
    });
}

/** Does a series belong to a row's name (`x_*` is a histogram family: _bucket, _sum, _count)? */
const matches = (pattern: string, series: PromSeries) =>
  pattern.endsWith("_*")
    ? ["_bucket", "_sum", "_count"].some(
        (suffix) => series.name === pattern.slice(0, -1) + suffix.slice(1),
      )
    : series.name === pattern;

function checkRows(rows: Row[], all: PromSeries[], ignored: Set<string>) {
  for (const row of rows) {
    const matched = all.filter((s) => row.series.some((pattern) => matches(pattern, s)));
    for (const pattern of row.series)
      expect(
        all.some((s) => matches(pattern, s)),
        `${pattern} is not a series the model has`,
      ).toBe(true);
    if (row.service)
      expect([...new Set(matched.map((s) => s.service))], row.cell).toEqual([row.service]);
    const labels = new Set(
      matched.flatMap((s) => Object.keys(s.labels)).filter((l) => !ignored.has(l)),
    );
    if (row.series.includes("target_info")) {
      // "every other resource attribute": the names given are examples.
      for (const label of row.labels)
        expect(labels.has(label), `${label} on target_info`).toBe(true);
    } else expect([...labels].sort(), row.cell).toEqual([...row.labels].sort());
  }
  const unlisted = all.filter((s) => !rows.some((row) => row.series.some((p) => matches(p, s))));
  expect([...new Set(unlisted.map((s) => s.name))], "series missing from docs/labels.md").toEqual(
    [],
  );
}

describe("docs/labels.md says what the model says", () => {
  const prometheus = section("Prometheus");
  const [otlpTable = "", generatorTable = ""] = prometheus.split("Tempo's metrics-generator");

  test("Prometheus: each OTLP series and its labels (besides job, instance, promoted ones)", () => {
    const promoted = (prometheusOtlpSettings().promoteResourceAttributes ?? []).map((a) =>
      labelName(a),
    );
    for (const label of promoted) expect(prometheus).toContain(`\`${label}\``);
    // app.* metrics are a learner's own (docs/labs.md, lab 2): not the project's to document.
    const otlp = model.prometheus.filter(
      (s) => !s.name.startsWith("traces_") && !s.name.startsWith("app_"),
    );
    checkRows(tableRows(otlpTable), otlp, new Set(["job", "instance", ...promoted]));
  });

  test("Prometheus: Tempo's span-metrics and service-graph series and their labels", () => {
    const generated = model.prometheus.filter((s) => s.name.startsWith("traces_"));
    checkRows(tableRows(generatorTable), generated, new Set());
  });

  test("the service graph's edges", () => {
    const edges = model.prometheus
      .filter((s) => s.name === "traces_service_graph_request_total")
      .map(({ labels }) => [labels.client, labels.server, labels.connection_type ?? ""].join(" "));
    const listed = [
      ...generatorTable.matchAll(/^- `([^`]+)` → `([^`]+)`(?: \(`([^`]+)`\))?/gm),
    ].map((m) => [m[1], m[2], m[3] ?? ""].join(" "));
    expect(listed.sort()).toEqual(edges.sort());
  });

  test("Loki: the stream labels, and the structured metadata", () => {
    const loki = section("Loki");
    const bullet = (start: string) => {
      const text = loki
        .split("\n- ")
        .find((item) => item.startsWith(start))
        ?.split("\n\n")[0];
      if (!text) throw new Error(`docs/labels.md: no "- ${start}" under Loki`);
      return names(text) as string[];
    };
    const entries = model.loki;
    const streamLabels = new Set(entries.flatMap((e) => Object.keys(e.labels)));
    expect(bullet("Stream labels:").sort()).toEqual([...streamLabels].sort());
    const metadata = new Set(entries.flatMap((e) => Object.keys(e.metadata)));
    const listed = bullet("Structured metadata:");
    for (const name of listed) expect(metadata.has(name), `${name} in Loki's metadata`).toBe(true);
    // Every field Loki takes from the record itself (not its attributes or resource) is named.
    for (const field of recordFields.filter((f) => metadata.has(f)))
      expect(listed, `docs/labels.md names Loki's ${field}`).toContain(field);
  });
});
