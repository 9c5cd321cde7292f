// Every query the project ships selects data in the pipeline as it really runs: the services'
// captured OTLP output, through the Collector as configured, into Prometheus, Loki and Tempo as
// their pinned versions translate it (model.ts). An empty panel, a silent alert or a link to
// nothing fails here, offline, instead of on a cluster.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SERVICES } from "../../bootstrap/lib/names.ts";
import { logsQuery, requestCountQuery } from "../../bootstrap/verify.ts";
import { backends } from "../../model/backends.ts";
import { collectorModel } from "../../model/collector.ts";
import { prometheusValues } from "../../model/prometheus-otlp.ts";
import {
  checkQuery,
  type Language,
  labelValues,
  promqlSelectors,
  selectLogs,
  selectSeries,
} from "../../model/queries.ts";
import { exemplarTraceIdLabel } from "../../model/tempo-generator.ts";
import { loadYaml, repoRoot } from "../../model/yaml.ts";
import { loadRuleGroups } from "../alerts/rules.ts";
import { dashboards } from "../dashboards/generate.ts";
import { SDK } from "../dashboards/telemetry-names.ts";
import { captureServices } from "./capture.ts";

const promtool = Bun.which("promtool");
if (!promtool) {
  throw new Error(
    "promtool not found: install Debian's prometheus package (apt-get install prometheus)",
  );
}

const capture = await captureServices();
const model = backends(capture);
const groups = await loadRuleGroups();
const recorded = new Set(
  groups.flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : []))),
);

/**
 * What is wrong with a query against the modelled backends (model/queries.ts), each problem
 * naming the query. Recording rules' own output is checked by promtool below.
 */
function problemsOf(language: Language, query: string): string[] {
  const where = `(in: ${query.replace(/\s+/g, " ").trim()})`;
  return checkQuery(language, query, model, { recorded }).map((p) => `${p}  ${where}`);
}
const emptySelectors = (query: string) => problemsOf("promql", query);

describe("what the services' telemetry becomes", () => {
  test("job is the bare service name on every OTLP series (no service.namespace in front)", () => {
    for (const service of SERVICES) {
      const jobs = new Set(
        model.prometheus
          .filter((s) => s.service === service && !s.name.startsWith("traces_"))
          .map((s) => s.labels.job),
      );
      expect([...jobs], service).toEqual([service]);
    }
  });

  test("the Collector adds no service.namespace, so Loki has no service_namespace label", () => {
    const metadata = collectorModel().processors.k8s_attributes?.extract as { metadata: string[] };
    expect(metadata.metadata).not.toContain("service.namespace");
    expect(model.loki.some((e) => "service_namespace" in e.labels)).toBe(false);
    expect(new Set(model.loki.map((e) => e.labels.service_name))).toEqual(new Set(SERVICES));
  });

  test("target_info carries each service's resource, with job and instance", () => {
    for (const service of SERVICES) {
      const [info, ...more] = model.prometheus.filter(
        (s) => s.name === "target_info" && s.service === service,
      );
      expect(more).toEqual([]);
      const labels = info?.labels ?? {};
      expect(labels.job).toBe(service);
      expect(labels.k8s_namespace_name).toBe("apps");
      expect(labels.k8s_deployment_name).toBe(service);
      expect(labels.service_version).toBeTruthy();
      expect(labels.instance).toBeTruthy();
      expect(labels.service_namespace).toBeUndefined();
    }
  });

  test("the SDK's own counts of lost spans and log records reach Prometheus, per error_type", () => {
    for (const service of SERVICES) {
      for (const metric of [SDK.spans.processed, SDK.logs.processed]) {
        const errors = model.prometheus
          .filter((s) => s.service === service && s.name === metric)
          .map((s) => s.labels.error_type ?? "(exported)");
        expect(errors.sort(), `${metric} of ${service}`).toEqual(
          ["(exported)", "OTLPExporterError", "queue_full"].sort(),
        );
      }
      for (const gauge of [SDK.spans.queueCapacity, SDK.logs.queueCapacity]) {
        const labels = model.prometheus
          .filter((s) => s.service === service && s.name === gauge)
          .map((s) => `${s.labels.job} ${s.labels.otel_component_type}`);
        expect(labels, `${gauge} of ${service}`).toEqual([
          `${service} batching_${gauge.includes("_span_") ? "span" : "log"}_processor`,
        ]);
      }
    }
  });

  test("the model fails loudly on a processor it does not know", () => {
    const scratch = mkdtempSync(join(tmpdir(), "collector-values-"));
    try {
      const file = join(scratch, "values.yaml");
      const values = loadYaml("gitops/values/otel-collector.yaml") as {
        config: { service: { pipelines: { metrics: { processors: string[] } } } };
      };
      values.config.service.pipelines.metrics.processors.push("transform/rename");
      writeFileSync(file, JSON.stringify(values));
      expect(() => backends(capture, file)).toThrow("transform/rename");
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

describe("alert and recording rules select data", () => {
  test("every rule's expression parses and each selector matches a series", () => {
    // Each group with the manifest it is in, to name the file in a failure.
    const files = new Map<string, string>();
    for (const file of new Bun.Glob("gitops/alerts/*.yaml").scanSync(repoRoot)) {
      const manifest = loadYaml(file) as { spec?: { groups?: { name: string }[] } };
      for (const group of manifest.spec?.groups ?? []) files.set(group.name, file);
    }
    const rules = groups.flatMap((g) => g.rules.map((r) => ({ group: g.name, ...r })));
    expect(rules.length).toBeGreaterThan(10);
    const problems = rules.flatMap((r) =>
      emptySelectors(r.expr).map(
        (p) => `${files.get(r.group)} ${r.group}/${r.alert ?? r.record}: ${p}`,
      ),
    );
    expect(problems).toEqual([]);
  });

  test("every recording rule yields series from the modelled data (promtool)", async () => {
    const work = mkdtempSync(join(tmpdir(), "pipeline-rules-"));

    afterAll(() => rmSync(work, { recursive: true, force: true }));
    const quote = (v: string) => JSON.stringify(v);
    const input_series = model.prometheus.map((s) => ({
      series: `${s.name}{${Object.entries(s.labels)
        .map(([k, v]) => `${k}=${quote(v)}`)
        .join(",")}}`,
      // Counters grow, gauges and info series hold: every rate and ratio has data.
      values: /_(total|count|sum|bucket)$/.test(s.name) ? "0+1x60" : "1x60",
    }));
    await Bun.write(join(work, "rules.yaml"), JSON.stringify({ groups }));
    const tests = {
      rule_files: ["rules.yaml"],
      evaluation_interval: "1m",
      tests: [
        {
          interval: "1m",
          input_series,
          promql_expr_test: [...recorded].map((record) => ({
            expr: `count(${record}) > bool 0`,
            eval_time: "30m",
            exp_samples: [{ labels: "{}", value: 1 }],
          })),
        },
      ],
    };
    await Bun.write(join(work, "test.yaml"), JSON.stringify(tests));
    const proc = Bun.spawnSync([promtool as string, "test", "rules", "test.yaml"], { cwd: work });
    const output = `${proc.stdout}${proc.stderr}`;
    expect(output).toContain("SUCCESS");
  });
});

// --- dashboards -------------------------------------------------------------------------

interface Target {
  datasource: string;
  query: string;
  /** The panel's title, to name it in a failure. */
  panel?: string;
}

function dashboardTargets(dashboard: unknown): { targets: Target[]; variables: Target[] } {
  type Panel = {
    title?: string;
    datasource?: { type?: string };
    targets?: { datasource?: { type?: string }; expr?: string; query?: string }[];
    panels?: Panel[];
  };
  const targets: Target[] = [];
  const walk = (panels: Panel[] = []) => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        const datasource = target.datasource?.type ?? panel.datasource?.type ?? "";
        const query = target.expr ?? target.query;
        if (query !== undefined) targets.push({ datasource, query, panel: panel.title });
      }
      walk(panel.panels);
    }
  };
  walk((dashboard as { panels?: Panel[] }).panels);
  const list = ((dashboard as { templating?: { list?: unknown[] } }).templating?.list ?? []) as {
    type: string;
    query?: unknown;
    datasource?: { type?: string };
  }[];
  const variables = list
    .filter((v) => v.type === "query")
    .map((v) => ({
      datasource: v.datasource?.type ?? "",
      query: typeof v.query === "string" ? v.query : String((v.query as { query?: string })?.query),
    }));
  return { targets, variables };
}

const built = Object.fromEntries(
  Object.entries(dashboards).map(([name, build]) => [name, build().build()]),
);

describe("dashboards select data for every service", () => {
  const overview = dashboardTargets(built["service-overview"]);

  test("$service lists exactly the services' names, which Loki and Tempo panels use too", () => {
    const service = overview.variables.find((v) => v.query.includes(", job)"));
    expect(service).toBeDefined();
    expect(labelValues(model.prometheus, service?.query ?? "")).toEqual([...SERVICES].sort());
  });

  for (const service of SERVICES) {
    test(`every panel query has data for $service=${service}`, () => {
      const substitute = (query: string) => {
        const routeVar = overview.variables.find((v) => v.query.includes("$service"));
        const routes = routeVar
          ? labelValues(model.prometheus, routeVar.query.replaceAll("$service", service))
          : [];
        return query
          .replaceAll("$service", service)
          .replaceAll("$route", routes.join("|") || "no-route")
          .replaceAll("$__rate_interval", "1m")
          .replaceAll("$__interval", "1m");
      };
      const problems: string[] = [];
      for (const variable of overview.variables) {
        if (labelValues(model.prometheus, substitute(variable.query)).length === 0)
          problems.push(`variable lists nothing: ${substitute(variable.query)}`);
      }
      let checked = 0;
      for (const { name, panel, datasource, query } of Object.entries(built).flatMap(([name, d]) =>
        dashboardTargets(d).targets.map((t) => ({ name, ...t })),
      )) {
        const q = substitute(query);
        checked++;
        const language = ({ prometheus: "promql", loki: "logql", tempo: "traceql" } as const)[
          datasource as "prometheus" | "loki" | "tempo"
        ];
        if (!language) problems.push(`unknown datasource ${datasource}: ${q}`);
        else if (q)
          problems.push(
            ...problemsOf(language, q).map((p) => `dashboard ${name}, panel "${panel}": ${p}`),
          );
      }
      expect(checked).toBeGreaterThan(10);
      expect(problems).toEqual([]);
    });
  }
});

// --- bootstrap/verify.ts ----------------------------------------------------------------

describe("verify.ts queries find the services", () => {
  test("the request count selects both services' server metrics", () => {
    expect(emptySelectors(requestCountQuery)).toEqual([]);
    const [selector] = promqlSelectors(requestCountQuery);
    if (!selector) throw new Error(`no selector in ${requestCountQuery}`);
    const jobs = new Set(selectSeries(model.prometheus, selector).map((s) => s.labels.job));
    expect(jobs).toEqual(new Set(SERVICES));
  });

  test("the log query finds both services' lines by trace id", () => {
    const traceIds = [...new Set(capture.logs.map((l) => l.traceId).filter(Boolean))];
    expect(traceIds.length).toBeGreaterThan(0);
    expect(problemsOf("logql", logsQuery(traceIds))).toEqual([]);
    const found = selectLogs(model.loki, logsQuery(traceIds)).map((e) => e.labels.service_name);
    expect(new Set(found)).toEqual(new Set(SERVICES));
  });

  test("the trace check's service names are Tempo's resource service.name", () => {
    const names = new Set(model.tempo.map((s) => s.resource.attributes["service.name"]));
    expect(names).toEqual(new Set(SERVICES));
  });
});

// --- Grafana correlations ----------------------------------------------------------------

interface Datasource {
  uid: string;
  jsonData?: {
    exemplarTraceIdDestinations?: { name: string; datasourceUid: string }[];
    tracesToMetrics?: { tags: { key: string; value: string }[]; queries: { query: string }[] };
    tracesToLogsV2?: { tags: { key: string; value: string }[]; query: string };
    derivedFields?: { matcherType: string; matcherRegex: string }[];
    serviceMap?: { datasourceUid: string };
  };
}

const datasources = (
  loadYaml(prometheusValues) as { grafana: { additionalDataSources: Datasource[] } }
).grafana.additionalDataSources;
// Grafana provisioning expands $VAR, so the file writes a literal $ as $$.
const provisioned = (text: string) => text.replaceAll("$$", "$");
const tempo = datasources.find((d) => d.uid === "tempo")?.jsonData;

/** Grafana's `${__tags}`: each mapped span attribute as label="value". */
function tags(mapping: { key: string; value: string }[], span: (typeof model.tempo)[number]) {
  return mapping
    .map(({ key, value }) => {
      const v = span.resource.attributes[key] ?? span.attributes[key];
      return v === undefined ? "" : `${value}="${v}"`;
    })
    .filter(Boolean)
    .join(", ");
}

describe("Grafana links between signals land on data", () => {
  test("trace → metrics: each query, with a span's tags, selects that service's series", () => {
    const links = tempo?.tracesToMetrics;
    expect(links?.queries.length).toBeGreaterThan(0);
    const problems: string[] = [];
    for (const service of SERVICES) {
      const span = model.tempo.find(
        (s) => s.resource.attributes["service.name"] === service && s.kind === "SPAN_KIND_SERVER",
      );
      if (!span) throw new Error(`no server span of ${service}`);
      for (const { query } of links?.queries ?? []) {
        const q = provisioned(query).replaceAll("$__tags", tags(links?.tags ?? [], span));
        problems.push(...emptySelectors(q).map((p) => `${prometheusValues} tracesToMetrics: ${p}`));
      }
    }
    expect(problems).toEqual([]);
  });

  test("trace → logs: the query, with a span's tags and trace id, finds its log lines", () => {
    const link = tempo?.tracesToLogsV2;
    expect(link).toBeDefined();
    for (const service of SERVICES) {
      const span = model.tempo.find(
        (s) =>
          s.resource.attributes["service.name"] === service &&
          capture.logs.some((l) => l.traceId === s.traceId),
      );
      if (!span) throw new Error(`no span of ${service} with logs`);
      const query = provisioned(link?.query ?? "")
        .replaceAll(`\${__tags}`, tags(link?.tags ?? [], span))
        .replaceAll(`\${__trace.traceId}`, span.traceId);
      expect(problemsOf("logql", query)).toEqual([]);
      expect(selectLogs(model.loki, query).length, query).toBeGreaterThan(0);
    }
  });

  test("log → trace: the derived field reads trace_id, which every request log line carries", () => {
    const fields = datasources.find((d) => d.uid === "loki")?.jsonData?.derivedFields ?? [];
    const field = fields.find((f) => f.matcherType === "label");
    expect(field?.matcherRegex).toBe("trace_id");
    const withTrace = model.loki.filter((e) => e.metadata.trace_id);
    expect(withTrace.length).toBeGreaterThan(0);
    expect(new Set(withTrace.map((e) => e.labels.service_name))).toEqual(new Set(SERVICES));
  });

  test("exemplar → trace: the Prometheus datasource reads the label Tempo's exemplars carry", () => {
    const destinations =
      datasources.find((d) => d.uid === "prometheus")?.jsonData?.exemplarTraceIdDestinations ?? [];
    expect(destinations).toContainEqual(
      expect.objectContaining({ name: exemplarTraceIdLabel, datasourceUid: "tempo" }),
    );
  });

  test("service map: Tempo's service-graph series in Prometheus link the gateway to user-service", () => {
    expect(tempo?.serviceMap?.datasourceUid).toBe("prometheus");
    const edges = model.prometheus
      .filter((s) => s.name === "traces_service_graph_request_total")
      .map((s) => `${s.labels.client} → ${s.labels.server}`);
    expect(edges).toContain("api-gateway → user-service");
  });
});
