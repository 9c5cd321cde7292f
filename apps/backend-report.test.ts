// The report on real telemetry: both services run with their pods' environment and export OTLP
// (gitops/pipeline/capture.ts); one request's trace, its log records and the metric points it
// fed go in, and each name, label and query that comes out is checked against the whole modelled
// backends: every printed query selects what the report says it holds.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captureServices } from "../gitops/pipeline/capture.ts";
import { promqlSelectors, selectLogs, selectSeries } from "../gitops/pipeline/selectors.ts";
import { backends } from "../model/backends.ts";
import type { Span } from "../model/collected.ts";
import { loadYaml } from "../model/yaml.ts";
import {
  explainTrace,
  formatReport,
  type Grafana,
  laptopGrafana,
  pointsOfSpans,
  type Query,
  type TraceTelemetry,
} from "./backend-report.ts";

const capture = await captureServices();
const model = backends(capture);
const grafana = laptopGrafana();

/** The telemetry of the first trace whose root answered `status`, as dev's receiver gives it. */
function traceAnswering(status: string): TraceTelemetry {
  const root = capture.spans.find(
    (s) => !s.parentSpanId && s.attributes["http.response.status_code"] === status,
  ) as Span;
  const spans = capture.spans.filter((s) => s.traceId === root.traceId);
  return {
    traceId: root.traceId,
    spans,
    logs: capture.logs.filter((l) => l.traceId === root.traceId),
    metrics: pointsOfSpans(spans, capture.metrics),
  };
}

const found = traceAnswering("200");
const report = explainTrace(found, capture.pods, grafana);

/** The series a PromQL query's one selector selects in the whole modelled Prometheus. */
function selected(query: Query) {
  expect(query.language).toBe("PromQL");
  const selectors = promqlSelectors(query.text);
  expect(selectors).toHaveLength(1);
  return selectSeries(model.prometheus, selectors[0] as (typeof selectors)[0]);
}

/** The pane of an Explore link: its data source and its one query. */
function pane(link: string) {
  const url = new URL(link);
  expect(`${url.origin}${url.pathname}`).toBe("http://localhost:3000/explore");
  expect(url.searchParams.get("schemaVersion")).toBe("1");
  const panes = Object.values(JSON.parse(url.searchParams.get("panes") ?? "{}")) as {
    datasource: string;
    queries: { datasource: { type: string; uid: string }; expr?: string; query?: string }[];
  }[];
  expect(panes).toHaveLength(1);
  return panes[0] as (typeof panes)[0];
}

describe("traces", () => {
  test("each span as Tempo holds it: the resource after the Collector, the span's attributes", () => {
    const { spans } = report.traces;
    expect(spans.map((s) => `${s.service} ${s.name} ${s.kind}`)).toEqual([
      "api-gateway GET /user/:id server",
      "api-gateway GET client",
      "user-service GET /users/:id server",
      "user-service SELECT users client",
    ]);
    const root = spans[0] as (typeof spans)[0];
    // The pod's environment sets k8s.pod.name; the Collector's k8s_attributes adds the deployment.
    const emitted = found.spans.find((s) => !s.parentSpanId) as Span;
    expect(emitted.resource.attributes["k8s.deployment.name"]).toBeUndefined();
    expect(root.tempo.resource).toMatchObject({
      "service.name": "api-gateway",
      "k8s.deployment.name": "api-gateway",
      "k8s.namespace.name": "apps",
    });
    expect(root.tempo.span).toMatchObject({ "http.route": "/user/:id", "url.path": "/user/42" });
    expect(root.query.text).toBe(
      '{ resource.service.name = "api-gateway" && name = "GET /user/:id" && status = unset }',
    );
    expect(report.traces.query.text).toBe(`{ trace:id = "${found.traceId}" }`);
  });

  test("span metrics: one set of series per span, each query selecting its own", () => {
    const calls = report.traces.spanMetrics.filter(
      (f) => f.name === "traces_spanmetrics_calls_total",
    );
    expect(
      calls.map((f) => `${f.labels.service} ${f.labels.span_name} ${f.labels.span_kind}`),
    ).toEqual([
      "api-gateway GET /user/:id SPAN_KIND_SERVER",
      "api-gateway GET SPAN_KIND_CLIENT",
      "user-service GET /users/:id SPAN_KIND_SERVER",
      "user-service SELECT users SPAN_KIND_CLIENT",
    ]);
    const latency = report.traces.spanMetrics.find((f) => f.name === "traces_spanmetrics_latency");
    expect(latency?.suffixes.toSorted()).toEqual(["bucket", "count", "sum"]);
    for (const family of report.traces.spanMetrics) {
      const series = selected(family.query);
      expect(series.length, family.query.text).toBeGreaterThan(0);
      // It selects this span's series and no other span's.
      for (const s of series)
        expect(s.labels).toMatchObject({
          service: family.labels.service,
          span_name: family.labels.span_name,
          span_kind: family.labels.span_kind,
          status_code: family.labels.status_code,
        });
    }
  });

  test("service graph: the user in front, each call, the database; a failed call adds _failed_total", () => {
    const edges = new Set(
      report.traces.serviceGraph.map((f) =>
        `${f.labels.client} → ${f.labels.server} ${f.labels.connection_type ?? ""}`.trim(),
      ),
    );
    expect(edges).toEqual(
      new Set([
        "user → api-gateway virtual_node",
        "api-gateway → user-service",
        "user-service → sandbox database",
      ]),
    );
    for (const family of report.traces.serviceGraph)
      expect(selected(family.query).length, family.query.text).toBeGreaterThan(0);
    expect(report.traces.serviceGraph.map((f) => f.name)).not.toContain(
      "traces_service_graph_request_failed_total",
    );
    const failed = explainTrace(traceAnswering("502"), capture.pods, grafana);
    const failedEdge = failed.traces.serviceGraph.find(
      (f) => f.name === "traces_service_graph_request_failed_total",
    );
    expect(failedEdge?.labels).toMatchObject({ client: "api-gateway", server: "user-service" });
    expect(selected(failedEdge?.query as Query).length).toBeGreaterThan(0);
    expect(failed.traces.spans[0]?.status).toBe("error");
  });
});

describe("logs", () => {
  test("stream labels from the resource; trace_id, span_id and the record's attributes as metadata", () => {
    expect(report.logs.records.map((r) => `${r.service} ${r.severity} ${r.body}`).sort()).toEqual([
      "api-gateway INFO user found",
      "user-service INFO user found",
    ]);
    for (const record of report.logs.records) {
      expect(record.loki.labels).toMatchObject({
        service_name: record.service,
        k8s_namespace_name: "apps",
      });
      expect(record.loki.labels).not.toHaveProperty("trace_id");
      expect(record.loki.metadata).toMatchObject({ trace_id: found.traceId, user_id: "42" });
    }
  });

  test("each stream's LogQL finds this trace's lines of that service, and only them", () => {
    expect(report.logs.streams).toHaveLength(2);
    for (const stream of report.logs.streams) {
      const lines = selectLogs(model.loki, stream.query.text);
      expect(lines.length, stream.query.text).toBeGreaterThan(0);
      for (const line of lines) {
        expect(line.labels.service_name).toBe(stream.labels.service_name as string);
        expect(line.metadata.trace_id).toBe(found.traceId);
      }
    }
  });
});

describe("metrics", () => {
  test("each point under its Prometheus name and labels, and a query that selects it", () => {
    const server = report.metrics.points.find(
      (p) => p.service === "api-gateway" && p.metric === "http.server.request.duration",
    );
    expect(server?.prometheus).toHaveLength(1);
    const family = server?.prometheus[0];
    expect(family?.name).toBe("http_server_request_duration_seconds");
    expect(family?.suffixes).toEqual(["bucket", "sum", "count"]);
    expect(family?.labels).toMatchObject({
      job: "api-gateway",
      http_route: "/user/:id",
      http_response_status_code: "200",
      k8s_namespace_name: "apps",
    });
    expect(family?.labels).not.toHaveProperty("le");
    for (const point of report.metrics.points) {
      for (const f of point.prometheus) {
        const series = selected(f.query);
        expect(series.length, f.query.text).toBeGreaterThan(0);
        for (const s of series) expect(s.labels.job).toBe(f.labels.job as string);
      }
    }
  });

  test("a stream exported several times is reported once", () => {
    const streams = report.metrics.points.map(
      (p) => `${p.service} ${p.metric} ${JSON.stringify(p.attributes)}`,
    );
    expect(found.metrics.length).toBeGreaterThan(streams.length);
    expect(new Set(streams).size).toBe(streams.length);
  });

  test("target_info carries the rest of each resource", () => {
    expect(report.metrics.targetInfo.map((t) => t.labels.job).sort()).toEqual([
      "api-gateway",
      "user-service",
    ]);
    for (const info of report.metrics.targetInfo) {
      expect(info.labels).toHaveProperty("service_version");
      expect(info.labels).toHaveProperty("k8s_deployment_name");
      expect(selected(info.query).length).toBeGreaterThan(0);
    }
  });
});

describe("Grafana Explore links", () => {
  const queries = [
    report.traces.query,
    ...report.traces.spans.map((s) => s.query),
    ...report.traces.spanMetrics.map((f) => f.query),
    ...report.logs.streams.map((s) => s.query),
    ...report.metrics.points.flatMap((p) => p.prometheus.map((f) => f.query)),
  ];

  test("each opens its query in the data source gitops/values provisions for the language", () => {
    const provisioned = loadYaml<{
      grafana: { additionalDataSources: { type: string; uid: string }[] };
    }>("gitops/values/kube-prometheus-stack.yaml").grafana.additionalDataSources;
    const uid = (type: string) => provisioned.find((d) => d.type === type)?.uid;
    const types = { PromQL: "prometheus", LogQL: "loki", TraceQL: "tempo" } as const;
    expect(new Set(queries.map((q) => q.language))).toEqual(
      new Set(["PromQL", "LogQL", "TraceQL"]),
    );
    for (const query of queries) {
      const { datasource, queries: [first] = [] } = pane(query.explore);
      expect(datasource).toBe(uid(types[query.language]) as string);
      expect(first?.datasource).toEqual({ type: types[query.language], uid: datasource });
      expect(query.language === "TraceQL" ? first?.query : first?.expr).toBe(query.text);
    }
  });

  test("the uids are read from the values, not assumed", () => {
    const dir = mkdtempSync(join(tmpdir(), "explain-values-"));
    try {
      const file = join(dir, "values.yaml");
      writeFileSync(
        file,
        Bun.YAML.stringify({
          grafana: {
            additionalDataSources: [
              { type: "prometheus", uid: "metrics-a" },
              { type: "loki", uid: "logs-b" },
              { type: "tempo", uid: "traces-c" },
            ],
          },
        }),
      );
      const other: Grafana = laptopGrafana(file);
      expect(other.datasources.TraceQL.uid).toBe("traces-c");
      const again = explainTrace(found, capture.pods, other);
      expect(pane(again.logs.streams[0]?.query.explore as string).datasource).toBe("logs-b");
      writeFileSync(file, Bun.YAML.stringify({ grafana: { additionalDataSources: [] } }));
      expect(() => laptopGrafana(file)).toThrow(/no Grafana data source for PromQL/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test("the text shows every section, query and link", () => {
  const text = formatReport(report);
  for (const heading of [
    "── Traces:",
    "── Span metrics:",
    "── Service graph:",
    "── Logs:",
    "── Metrics:",
  ])
    expect(text).toContain(heading);
  for (const query of [report.traces.query, ...report.logs.streams.map((s) => s.query)]) {
    expect(text).toContain(query.text);
    expect(text).toContain(query.explore);
  }
  expect(text).toContain("http_server_request_duration_seconds_{bucket,sum,count}");
  expect(text).toContain('resource.k8s.deployment.name="api-gateway"');
});
