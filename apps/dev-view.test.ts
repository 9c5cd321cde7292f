// The dev view fed by the real services: both run as processes and export OTLP to the receiver,
// exactly as under `bun run dev`; what the view prints is checked line by line.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { backends } from "../model/backends.ts";
import { collected } from "../model/collected.ts";
import { checkQuery } from "../model/queries.ts";
import { createDevView } from "./dev-view.ts";
import {
  type ReceivedLog,
  type ReceivedSpan,
  startOtlpReceiver,
} from "./telemetry/testing/otlp-receiver.ts";
import {
  processTimeoutMs,
  type ServiceProcess,
  startService,
} from "./telemetry/testing/process.ts";

let output = "";
const spans: ReceivedSpan[] = [];
const logs: ReceivedLog[] = [];
// One tree per window at most, and a window longer than the test: the other requests are counted.
const view = createDevView({
  write: (text) => {
    output += text;
  },
  treesPerWindow: 1,
  windowMs: 60_000,
});
const receiver = startOtlpReceiver({
  onReceive: (received) => {
    spans.push(...received.spans);
    logs.push(...received.logs);
    view.receive(received);
  },
});
const otlp = {
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
  OTEL_BSP_SCHEDULE_DELAY: "50",
  OTEL_BLRP_SCHEDULE_DELAY: "50",
  OTEL_METRIC_EXPORT_INTERVAL: "200",
};
let services: ServiceProcess[] = [];

beforeAll(async () => {
  const userService = await startService(`${import.meta.dir}/user-service/src/index.ts`, otlp);
  const gateway = await startService(`${import.meta.dir}/api-gateway/src/index.ts`, {
    ...otlp,
    USER_SERVICE_URL: userService.url,
  });
  services = [gateway, userService];
  // Three lookups of a user who does not exist: one is drawn, two are counted.
  await Promise.all(
    [1, 2, 3].map(async () => (await fetch(`${gateway.url}/user/404`)).arrayBuffer()),
  );
  const deadline = Date.now() + 5000;
  while (!output.includes("── trace") && Date.now() < deadline) await Bun.sleep(20);
  // Stopped, the services export what they still hold; the view then prints everything left.
  await Promise.all(services.map((service) => service.stop()));
  view.flush();
}, processTimeoutMs);

afterAll(async () => {
  await Promise.all(services.map((service) => service.stop("SIGKILL")));
  await receiver.stop();
});

const lines = () => output.split("\n");
const spanLine = /^( +)(.+?) {2}(SERVER|CLIENT|INTERNAL) {2}\d+\.\d ms {2}(\w+) {2}\[(.+)\]$/;

test("a trace prints as a tree: each span under its parent, with its service and attributes", () => {
  const tree = lines()
    .map((line) => line.match(spanLine))
    .filter((m) => m !== null)
    .map(([, indent, name, kind, status, service]) => [
      (indent as string).length / 2 - 1,
      name,
      kind,
      status,
      service,
    ]);
  expect(tree).toEqual([
    [0, "GET /user/:id", "SERVER", "unset", "api-gateway"],
    [1, "GET", "CLIENT", "unset", "api-gateway"],
    [2, "GET /users/:id", "SERVER", "unset", "user-service"],
    [3, "SELECT users", "CLIENT", "unset", "user-service"],
  ]);
  // Every attribute shows, on up to three lines: the query span's result row count too.
  const select = lines().findIndex((line) => line.includes("SELECT users  CLIENT"));
  expect(
    lines()
      .slice(select + 1, select + 4)
      .join(" "),
  ).toContain("db.response.returned_rows=0");
  // ~25–40 lines per trace, not the console exporters' hundreds.
  const trace = output.slice(output.indexOf("── trace"), output.indexOf("\n\n"));
  expect(trace.split("\n").length).toBeLessThanOrEqual(40);
});

test("each log record prints under the span it was emitted in", () => {
  const all = lines();
  const under = (span: string) => {
    const at = all.findIndex((line) => line.includes(span));
    const next = all.findIndex((line, i) => i > at && spanLine.test(line));
    return all.slice(at + 1, next).filter((line) => line.trim().startsWith("log "));
  };
  expect(under("GET /user/:id  SERVER").map((l) => l.trim())).toEqual([
    'log INFO "user not found"  user.id=404',
  ]);
  expect(under("GET /users/:id  SERVER").map((l) => l.trim())).toEqual([
    'log INFO "user not found"  user.id=404',
  ]);
  expect(under("SELECT users  CLIENT")).toEqual([]);
});

test("what the trace becomes in Tempo, Loki and Prometheus", () => {
  const traceId = output.match(/── trace ([0-9a-f]{32})/)?.[1];
  expect(spans.filter((span) => span.traceId === traceId)).toHaveLength(4);
  const backend = (name: string) =>
    lines().filter((line) => line.startsWith(`  ${name.padEnd(10)}  `));
  expect(backend("Tempo")).toEqual([
    `  Tempo       { trace:id = "${traceId}" }  4 spans: resource.service.name="api-gateway" 2, resource.service.name="user-service" 2`,
  ]);
  // Loki: one stream per service, found by its labels and the trace_id structured metadata.
  const loki = backend("Loki");
  expect(loki).toHaveLength(2);
  expect(loki).toEqual(
    ["api-gateway", "user-service"].map(
      (service) => `  Loki        {service_name="${service}"} | trace_id="${traceId}"`,
    ),
  );
  const streams = lines().filter((line) => line.startsWith("                stream   {"));
  expect(streams).toHaveLength(2);
  for (const [i, service] of ["api-gateway", "user-service"].entries()) {
    expect(streams[i]).toContain(`service_name="${service}"`);
    expect(streams[i]).toContain('deployment_environment_name="local"');
    expect(streams[i]).toContain('service_instance_id="');
  }
  const lokiBlock = output.slice(output.indexOf("  Loki "), output.indexOf("  Prometheus "));
  const metadata = lokiBlock.match(/metadata ([^;]*?)\n {16}in the cluster/)?.[1] ?? "";
  expect(metadata.split(/[,\s]+/).sort()).toEqual(
    [
      "service_version",
      "telemetry_sdk_language",
      "telemetry_sdk_name",
      "telemetry_sdk_version",
      "user_id",
      "trace_id",
      "span_id",
      "severity_text",
      "severity_number",
      "scope_name",
      "scope_version",
      "detected_level",
    ].sort(),
  );
  // In the cluster, k8s_attributes adds the pod's attributes, some of which Loki indexes.
  expect(output).toContain("in the cluster also labels k8s_namespace_name, k8s_pod_name");
  // Prometheus: the request's histogram series in each service, named as the OTLP receiver does.
  const prometheus = backend("Prometheus");
  const series = (job: string, route: string) =>
    prometheus.find(
      (line) =>
        line.includes("http_server_request_duration_seconds_{bucket,sum,count}{") &&
        line.includes(`job="${job}"`) &&
        line.includes(`http_route="${route}"`),
    );
  expect(series("api-gateway", "/user/:id")).toContain('http_response_status_code="404"');
  expect(series("user-service", "/users/:id")).toContain('http_response_status_code="404"');
  expect(prometheus.some((line) => line.includes("http_client_request_duration_seconds_"))).toBe(
    true,
  );
  expect(output).toContain(
    "in the cluster every series also gets k8s_namespace_name, k8s_pod_name",
  );
});

test("beyond the trees allowed per window, traces are sampled, and the table of changed metric streams says so", () => {
  expect(output.match(/── trace /g)).toHaveLength(1);
  const table = output.slice(output.indexOf("── metric streams that changed, last "));
  const rows = table.split("\n\n")[0]?.split("\n") ?? [];
  const row = (service: string, metric: string) =>
    rows.find((line) => line.startsWith(`  ${service} `) && line.includes(` ${metric} `)) ?? "";
  // All three lookups, in each service's request histogram with its mean; the counters grew by 3.
  expect(row("api-gateway", "http.server.request.duration")).toMatch(
    /^ {2}api-gateway +http\.server\.request\.duration +\+3 {2}\d+\.\d\/s {2}mean \d+\.\d ms +http\.request\.method=GET url\.scheme=http http\.response\.status_code=404 http\.route=\/user\/:id$/,
  );
  expect(row("user-service", "http.server.request.duration")).toContain(
    "http.response.status_code=404 http.route=/users/:id",
  );
  expect(row("api-gateway", "user.lookups")).toMatch(/ \+3 \{lookup\} +outcome=not_found$/);
  // Gauges (process.uptime) change on every export, and the SDK's own counters show only losses.
  expect(table).not.toContain("otel.sdk.");
  expect(table).not.toContain("process.uptime");
  expect(table).toContain(
    "── sampled: 1 of 3 traces drawn (trees: at most 1 per 60 s); `bun run trace <id>` prints any of the last 300",
  );
});

test("the queries it prints parse with Tempo's and Loki's grammars and find this trace", () => {
  // What the backends hold of what the view was fed (no pods here, as under `bun run dev`).
  const held = backends({
    spans: spans.map(collected),
    logs: logs.map(collected),
    metrics: [],
    pods: undefined,
  });
  const tempo = lines().flatMap((l) => /^ {2}Tempo {7}(\{ trace:id = "\w+" \})/.exec(l)?.[1] ?? []);
  const loki = lines().flatMap(
    (l) => /^ {2}Loki {8}(\{.+\} \| trace_id="\w+")$/.exec(l)?.[1] ?? [],
  );
  expect(tempo.length).toBeGreaterThan(0);
  expect(loki.length).toBeGreaterThan(0);
  const problems = [
    ...tempo.flatMap((q) => checkQuery("traceql", q, held).map((p) => `${q}: ${p}`)),
    ...loki.flatMap((q) => checkQuery("logql", q, held).map((p) => `${q}: ${p}`)),
  ];
  expect(problems).toEqual([]);
});
