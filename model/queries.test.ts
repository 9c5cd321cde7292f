// The query checker against the backends as the pipeline model derives them from the services'
// real output. Each broken query here is written in the test (never a repo file), and each must
// fail with a message that names what is wrong.
import { describe, expect, test } from "bun:test";
import { captureServices } from "../gitops/pipeline/capture.ts";
import { backends as modelled } from "./backends.ts";
import {
  checkQuery,
  labelValues,
  logqlSelections,
  promqlGrouping,
  promqlSelectors,
  traceqlFilters,
} from "./queries.ts";

const backends = modelled(await captureServices());
const count = "http_server_request_duration_seconds_count";

describe("the grammars read the queries", () => {
  test("PromQL: selectors, matchers, grouping — not function names, strings or durations", () => {
    const q = `sum by (job, http_route) (rate(${count}{job=~"api-gateway|user-service", "http.route"!="/x"}[5m])) * on (job) group_left (service_version) target_info`;
    expect(promqlSelectors(q)).toEqual([
      {
        metric: count,
        matchers: [
          { label: "job", op: "=~", value: "api-gateway|user-service" },
          { label: "http.route", op: "!=", value: "/x" },
        ],
        text: `${count}{job=~"api-gateway|user-service", "http.route"!="/x"}`,
      },
      { metric: "target_info", matchers: [], text: "target_info" },
    ]);
    expect(promqlGrouping(q)).toEqual(["job", "http_route", "job", "service_version"]);
  });

  test("LogQL: the stream selector apart from the label filters after it", () => {
    const [selection, ...more] = logqlSelections(
      'sum by (service_name) (count_over_time({service_name=~"a|b"} |= "x" | trace_id="t" | json | level="error" [5m]))',
    );
    expect(more).toEqual([]);
    expect(selection?.stream).toEqual([{ label: "service_name", op: "=~", value: "a|b" }]);
    // `level` comes from `| json`, out of the line: not a label the model could know.
    expect(selection?.filters).toEqual([{ label: "trace_id", op: "=", value: "t" }]);
  });

  test("TraceQL: each span filter, with the fields it reads", () => {
    const filters = traceqlFilters(
      '{ resource.service.name = "api-gateway" && span.http.response.status_code >= 500 } >> { kind = client }',
    );
    expect(filters.map((f) => f.fields)).toEqual([
      ["resource.service.name", "span.http.response.status_code"],
      ["kind"],
    ]);
  });

  test("label_values lists the services", () => {
    expect(labelValues(backends.prometheus, `label_values(${count}, job)`)).toEqual([
      "api-gateway",
      "user-service",
    ]);
  });
});

describe("checkQuery passes queries that select data", () => {
  test.each([
    ["promql", `sum by (job) (rate(${count}{http_route="/user/:id"}[5m]))`],
    ["logql", '{service_name="api-gateway"} | trace_id=~".+"'],
    [
      "traceql",
      '{ resource.service.name = "user-service" && kind = client && span.db.namespace = "sandbox" }',
    ],
    ["traceql", "{ span.http.response.status_code >= 500 && duration > 0ms }"],
    [
      "traceql",
      '{ resource.service.name = "api-gateway" && span.db.namespace = nil } >> { span.db.namespace != nil }',
    ],
    [
      "promql",
      '{__name__=~"http_server_request_duration_seconds_(count|sum)", job="user-service"}',
    ],
  ] as const)("%s %s", (language, query) => {
    expect(checkQuery(language, query, backends)).toEqual([]);
  });
});

describe("checkQuery fails a broken query, saying why", () => {
  test("a misspelt metric", () => {
    expect(
      checkQuery("promql", "rate(http_server_request_duraton_seconds_count[5m])", backends),
    ).toEqual([
      `no series named http_server_request_duraton_seconds_count in Prometheus; did you mean ${count}?`,
    ]);
  });

  test("a label under its OpenTelemetry name, which Prometheus writes differently", () => {
    expect(checkQuery("promql", `${count}{"http.route"="/user/:id"}`, backends)).toEqual([
      `selects nothing: ${count}{"http.route"="/user/:id"} — no series of ${count} has label http.route; did you mean http_route?`,
    ]);
    expect(checkQuery("promql", `${count}{service_name="api-gateway"}`, backends)).toEqual([
      `selects nothing: ${count}{service_name="api-gateway"} — no series of ${count} has label service_name; Prometheus names it job`,
    ]);
  });

  test("a value no series has", () => {
    expect(checkQuery("promql", `${count}{job="no-such-service"}`, backends)).toEqual([
      `selects nothing: ${count}{job="no-such-service"} — no series has job="no-such-service" (its values: api-gateway, user-service)`,
    ]);
  });

  test("grouping by a label the selected series lack", () => {
    expect(
      checkQuery("promql", "sum by (job, http_route) (rate(user_lookups_total[5m]))", backends),
    ).toEqual(["no selected series has label http_route"]);
  });

  test("a LogQL stream selector on a label Loki does not index", () => {
    expect(checkQuery("logql", '{trace_id="0af7651916cd43dd8448eb211c80319c"}', backends)).toEqual([
      'selects no log lines: {trace_id="0af7651916cd43dd8448eb211c80319c"} — trace_id is not a stream label in Loki but structured metadata: select the stream by service_name and filter with | trace_id="0af7651916cd43dd8448eb211c80319c"',
    ]);
  });

  test("a TraceQL attribute in the wrong scope, and one no span has", () => {
    expect(checkQuery("traceql", '{ span.service.name = "api-gateway" }', backends)).toEqual([
      'finds no spans: { span.service.name = "api-gateway" } — no span has span.service.name: it is a resource attribute, resource.service.name',
    ]);
    // Not the README's app.user.found: a learner's uncommitted lab 1 edit adds that one.
    expect(checkQuery("traceql", "{ span.app.no_such_attribute = false }", backends)).toEqual([
      "finds no spans: { span.app.no_such_attribute = false } — no span has span.app.no_such_attribute",
    ]);
  });

  test("invalid syntax, in each language", () => {
    expect(
      checkQuery("promql", "rat(http_server_request_duration_seconds_count[5m])", backends),
    ).toEqual(['promql does not parse: at column 4, near "(http_server_request"']);
    expect(checkQuery("promql", `${count}{job="api-gateway}`, backends)).toEqual([
      `promql does not parse: it ends early (column ${count.length + 19})`,
    ]);
    expect(checkQuery("logql", '{service_name="api-gateway"', backends)).toEqual([
      "logql does not parse: it ends early (column 28)",
    ]);
    expect(checkQuery("traceql", '{ resource.service.name = "a" &&& }', backends)).toEqual([
      'traceql does not parse: at column 33, near "& }"',
    ]);
  });
});
