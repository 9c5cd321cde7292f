// End to end: user-service and api-gateway as real processes exporting to an in-test OTLP
// receiver; a fake user-service (a network boundary) for the failure answers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { httpDurationBuckets } from "@sandbox/telemetry";
import {
  type OtlpReceiver,
  type ReceivedSpan,
  startOtlpReceiver,
} from "@sandbox/telemetry/testing";
import {
  freePort,
  processTimeoutMs,
  type ServiceProcess,
  startService,
} from "@sandbox/telemetry/testing/process";

const gatewayEntry = `${import.meta.dir}/index.ts`;
const userServiceEntry = `${import.meta.dir}/../../user-service/src/index.ts`;
const secrets = [
  "Bearer s3cr3t-token-value",
  "session=c00kie-value",
  "k3y-in-query",
  "b0dy-password",
];

let receiver: OtlpReceiver;
let userService: ServiceProcess;
let gateway: ServiceProcess;
let gatewayToFake: ServiceProcess;
let gatewayToNowhere: ServiceProcess;
let fakeUserService: ReturnType<typeof Bun.serve>;

const randomHex = (bytes: number) =>
  Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");

/** Calls a service as part of a trace the test started, so its spans are easy to find. */
async function tracedGet(base: string, path: string, headers: Record<string, string> = {}) {
  const traceId = randomHex(16);
  const parentSpanId = randomHex(8);
  const response = await fetch(`${base}${path}`, {
    headers: { traceparent: `00-${traceId}-${parentSpanId}-01`, ...headers },
  });
  return { response, body: await response.json(), traceId, parentSpanId };
}

async function spansOf(traceId: string, count: number): Promise<ReceivedSpan[]> {
  const mine = () => receiver.spans.filter((span) => span.traceId === traceId);
  await receiver.waitForSpans(() => mine().length >= count);
  return mine();
}

/** The trace id of the gateway's traceresponse header (W3C Trace Context Level 2). */
function traceIdOf(response: Response): string {
  const header = response.headers.get("traceresponse") ?? "";
  expect(header).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  return header.split("-")[1] as string;
}

function only<T>(items: T[], what: string): T {
  if (items.length !== 1) throw new Error(`expected one ${what}, found ${items.length}`);
  return items[0] as T;
}

beforeAll(async () => {
  receiver = startOtlpReceiver();
  fakeUserService = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const id = new URL(request.url).pathname.split("/").pop();
      if (id === "500") return Response.json({ error: "boom" }, { status: 500 });
      if (id === "503") return new Response("unavailable", { status: 503 });
      if (id === "7") return new Response("not json", { status: 200 });
      await Bun.sleep(1500); // slower than the gateway's UPSTREAM_TIMEOUT_MS
      return Response.json({ id });
    },
  });
  const nowhere = `http://127.0.0.1:${await freePort()}`;

  const telemetryEnv = {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_BSP_SCHEDULE_DELAY: "50",
    OTEL_BLRP_SCHEDULE_DELAY: "50",
    OTEL_METRIC_EXPORT_INTERVAL: "250",
    OTEL_RESOURCE_ATTRIBUTES: "deployment.environment.name=test,k8s.namespace.name=apps",
    POD_NAME: "pod-from-downward-api",
  };
  userService = await startService(userServiceEntry, { ...telemetryEnv, QUERY_LATENCY_MS: "1" });
  [gateway, gatewayToFake, gatewayToNowhere] = await Promise.all([
    startService(gatewayEntry, { ...telemetryEnv, USER_SERVICE_URL: userService.url }),
    startService(gatewayEntry, {
      ...telemetryEnv,
      USER_SERVICE_URL: `http://127.0.0.1:${fakeUserService.port}`,
      UPSTREAM_TIMEOUT_MS: "300",
    }),
    startService(gatewayEntry, { ...telemetryEnv, USER_SERVICE_URL: nowhere }),
  ]);
}, processTimeoutMs);

afterAll(async () => {
  await Promise.all([gateway, gatewayToFake, gatewayToNowhere, userService].map((s) => s?.stop()));
  await fakeUserService?.stop(true);
  await receiver?.stop();
});

// Concurrent: the tests only send requests of their own and look for their own trace ids (or,
// for metrics and secrets, at everything exported, which the others only add to).
describe.concurrent("answers", () => {
  test("200 with the user as JSON", async () => {
    const response = await fetch(`${gateway.url}/user/123`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("application/json");
    expect(await response.json()).toEqual({
      id: 123,
      name: "Ada Lovelace",
      email: "ada@example.com",
    });
  });

  test("404 JSON for a user that does not exist", async () => {
    const response = await fetch(`${gateway.url}/user/999`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: "user not found",
      trace_id: traceIdOf(response),
    });
  });

  const invalidIds = [
    "abc",
    "-1",
    "1.5",
    "0",
    "1e3",
    "0x1f",
    "%201",
    "12345678901234567890",
    "1".repeat(5000),
    "%00",
    "1%0A",
    "%E0%A4%A",
  ];
  test.each(
    invalidIds.map((id) => [id.length > 24 ? `${id.slice(0, 8)}… (${id.length} chars)` : id, id]),
  )("400 JSON for the invalid id %s", async (_, id) => {
    const response = await fetch(`${gateway.url}/user/${id}`);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: "invalid user id",
      trace_id: traceIdOf(response),
    });
  });

  test("JSON 404 for unknown paths, never a stack trace", async () => {
    const response = await fetch(`${gateway.url}/nope`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: "not found", trace_id: traceIdOf(response) });
  });

  test("502 JSON when user-service is unreachable", async () => {
    const response = await fetch(`${gatewayToNowhere.url}/user/123`);
    expect(response.status).toBe(502);
    expect(await response.json()).toEqual({
      error: "user-service unavailable",
      trace_id: traceIdOf(response),
    });
  });

  test.each(["500", "503", "7"])("502 JSON when user-service answers badly (id %s)", async (id) => {
    const response = await fetch(`${gatewayToFake.url}/user/${id}`);
    expect(response.status).toBe(502);
    expect(await response.json()).toEqual({
      error: "user-service unavailable",
      trace_id: traceIdOf(response),
    });
  });

  test("504 JSON when user-service does not answer within UPSTREAM_TIMEOUT_MS", async () => {
    const started = performance.now();
    const response = await fetch(`${gatewayToFake.url}/user/42`);
    expect(response.status).toBe(504);
    expect(await response.json()).toEqual({
      error: "user-service timed out",
      trace_id: traceIdOf(response),
    });
    expect(performance.now() - started).toBeLessThan(1200);
  });

  test("liveness and readiness probes", async () => {
    for (const service of [gateway, userService]) {
      expect(await (await fetch(`${service.url}/healthz`)).json()).toEqual({ status: "ok" });
      expect(await (await fetch(`${service.url}/readyz`)).json()).toEqual({ status: "ready" });
    }
  });
});

describe.concurrent("telemetry", () => {
  test("one trace across both services, with the right links, names and attributes", async () => {
    const { response, traceId, parentSpanId } = await tracedGet(gateway.url, "/user/123");
    expect(response.status).toBe(200);
    const spans = await spansOf(traceId, 4);
    expect(spans).toHaveLength(4);

    const gatewayServer = only(
      spans.filter(
        (s) => s.kind === "SPAN_KIND_SERVER" && s.resource["service.name"] === "api-gateway",
      ),
      "gateway server span",
    );
    const client = only(
      spans.filter(
        (s) => s.kind === "SPAN_KIND_CLIENT" && s.resource["service.name"] === "api-gateway",
      ),
      "client span",
    );
    const userServer = only(
      spans.filter(
        (s) => s.kind === "SPAN_KIND_SERVER" && s.resource["service.name"] === "user-service",
      ),
      "user-service server span",
    );
    const query = only(
      spans.filter((s) => s.name === "SELECT users"),
      "query span",
    );

    expect(gatewayServer.parentSpanId).toBe(parentSpanId);
    expect(client.parentSpanId).toBe(gatewayServer.spanId);
    expect(userServer.parentSpanId).toBe(client.spanId);
    expect(query.parentSpanId).toBe(userServer.spanId);

    expect(gatewayServer.name).toBe("GET /user/:id");
    expect(gatewayServer.attributes).toEqual({
      "http.request.method": "GET",
      "http.route": "/user/:id",
      "http.response.status_code": 200,
      "url.path": "/user/123",
      "url.scheme": "http",
    });
    expect(gatewayServer.status.code).toBe("STATUS_CODE_UNSET");

    const port = Number(new URL(userService.url).port);
    expect(client.name).toBe("GET");
    expect(client.attributes).toEqual({
      "http.request.method": "GET",
      "server.address": "127.0.0.1",
      "server.port": port,
      "url.full": `${userService.url}/users/123`,
      "http.response.status_code": 200,
    });

    expect(userServer.name).toBe("GET /users/:id");
    expect(userServer.attributes["http.route"]).toBe("/users/:id");
    expect(userServer.attributes["http.response.status_code"]).toBe(200);

    expect(query.kind).toBe("SPAN_KIND_CLIENT");
    expect(query.attributes).toMatchObject({
      "db.system.name": "other_sql",
      "db.collection.name": "users",
      "db.operation.name": "SELECT",
      "db.query.text": "SELECT id, name, email FROM users WHERE id = ?",
      "db.response.returned_rows": 1,
    });

    for (const span of spans)
      expect(span.resource).toMatchObject({
        "service.version": "0.1.0",
        "deployment.environment.name": "test",
        "k8s.namespace.name": "apps",
        "k8s.pod.name": "pod-from-downward-api",
      });
  });

  test("a 4xx is not an error on the server span", async () => {
    const { response, traceId } = await tracedGet(gateway.url, "/user/999");
    expect(response.status).toBe(404);
    const spans = await spansOf(traceId, 4);
    for (const span of spans) expect(span.status.code).not.toBe("STATUS_CODE_ERROR");
    const server = only(
      spans.filter((s) => s.name === "GET /user/:id"),
      "gateway server span",
    );
    expect(server.attributes["http.response.status_code"]).toBe(404);
    expect(server.attributes["error.type"]).toBeUndefined();
  });

  test.each([
    ["a timeout", "42", 504, "timeout"],
    ["a 5xx answer", "500", 502, "500"],
  ])(
    "an upstream failure (%s) is an error on both gateway spans",
    async (_, id, status, errorType) => {
      const { response, traceId } = await tracedGet(gatewayToFake.url, `/user/${id}`);
      expect(response.status).toBe(status);
      const spans = await spansOf(traceId, 2);
      const server = only(
        spans.filter((s) => s.kind === "SPAN_KIND_SERVER"),
        "server span",
      );
      const client = only(
        spans.filter((s) => s.kind === "SPAN_KIND_CLIENT"),
        "client span",
      );
      expect(server.status.code).toBe("STATUS_CODE_ERROR");
      expect(server.attributes["error.type"]).toBe(String(status));
      expect(client.status.code).toBe("STATUS_CODE_ERROR");
      expect(client.attributes["error.type"]).toBe(errorType);
    },
  );

  test("probes stay out of traces and request metrics", async () => {
    await fetch(`${gateway.url}/healthz`);
    await fetch(`${gateway.url}/readyz`);
    await tracedGet(gateway.url, "/user/1"); // a traced request after the probes
    await receiver.waitForSpans((spans) =>
      spans.some((s) => s.attributes["url.path"] === "/user/1"),
    );
    const probe = (path: unknown) => path === "/healthz" || path === "/readyz";
    expect(receiver.spans.filter((s) => probe(s.attributes["url.path"]))).toEqual([]);
    expect(receiver.dataPoints.filter((p) => probe(p.attributes["http.route"]))).toEqual([]);
  });

  test("request duration histograms, client histogram and lookup counter", async () => {
    await fetch(`${gateway.url}/user/123`);
    await fetch(`${gateway.url}/user/999`);
    await fetch(`${gateway.url}/user/abc`);
    await fetch(`${gatewayToNowhere.url}/user/123`);
    const latest = (metric: string, match: Record<string, unknown>) =>
      receiver.dataPoints.findLast(
        (p) =>
          p.metric === metric && Object.entries(match).every(([k, v]) => p.attributes[k] === v),
      );
    const expected: [string, Record<string, unknown>][] = [
      [
        "http.server.request.duration",
        {
          "http.route": "/user/:id",
          "http.request.method": "GET",
          "http.response.status_code": 200,
          "url.scheme": "http",
        },
      ],
      [
        "http.server.request.duration",
        { "http.route": "/user/:id", "http.response.status_code": 404 },
      ],
      [
        "http.server.request.duration",
        { "http.route": "/user/:id", "http.response.status_code": 502 },
      ],
      [
        "http.server.request.duration",
        { "http.route": "/users/:id", "http.response.status_code": 200 },
      ],
      [
        "http.client.request.duration",
        {
          "server.address": "127.0.0.1",
          "http.request.method": "GET",
          "http.response.status_code": 200,
        },
      ],
      ["http.client.request.duration", { "error.type": "ECONNREFUSED" }],
      ["user.lookups", { outcome: "found" }],
      ["user.lookups", { outcome: "not_found" }],
      ["user.lookups", { outcome: "invalid" }],
      ["user.lookups", { outcome: "upstream_error" }],
    ];
    await receiver.waitForDataPoints(() => expected.every(([m, attrs]) => latest(m, attrs)));

    const ok = latest("http.server.request.duration", { "http.response.status_code": 200 });
    expect(ok).toMatchObject({ type: "histogram", unit: "s", explicitBounds: httpDurationBuckets });
    expect(ok?.count).toBeGreaterThan(0);
    const failed = latest("http.server.request.duration", { "http.response.status_code": 502 });
    expect(failed?.attributes["error.type"]).toBe("502");
    expect(latest("user.lookups", { outcome: "found" })).toMatchObject({
      type: "sum",
      unit: "{lookup}",
    });
    expect(latest("user.lookups", { outcome: "found" })?.value).toBeGreaterThan(0);
    expect(latest("user.lookups", { outcome: "found" })?.resource["service.name"]).toBe(
      "api-gateway",
    );
  });

  test("log records carry severity and the active trace and span, also on stdout", async () => {
    const { traceId } = await tracedGet(gateway.url, "/user/123");
    const spans = await spansOf(traceId, 4);
    await receiver.waitForLogs((logs) => logs.filter((l) => l.traceId === traceId).length >= 2);
    for (const service of ["api-gateway", "user-service"]) {
      const record = only(
        receiver.logs.filter(
          (l) => l.traceId === traceId && l.resource["service.name"] === service,
        ),
        `${service} log record`,
      );
      const server = only(
        spans.filter(
          (s) => s.kind === "SPAN_KIND_SERVER" && s.resource["service.name"] === service,
        ),
        "server span",
      );
      expect(record).toMatchObject({
        severityText: "INFO",
        body: "user found",
        spanId: server.spanId,
      });
      expect(record.severityNumber).toBe("SEVERITY_NUMBER_INFO");
      // The same instrumentation scope as the service's spans.
      expect(record.scope).toEqual({ name: service, version: server.scope.version });
      expect(record.scope.version).not.toBe("");
      const process = service === "api-gateway" ? gateway : userService;
      const line = await process.waitForLine((l) => l.trace_id === traceId);
      expect(line).toMatchObject({
        level: "info",
        msg: "user found",
        span_id: server.spanId,
        trace_flags: "01", // sampled, in the W3C form, as the traceparent sent
      });
    }

    // An unsampled caller: the line still names the trace, with the flag cleared.
    const unsampledTraceId = randomHex(16);
    await fetch(`${gateway.url}/user/123`, {
      headers: { traceparent: `00-${unsampledTraceId}-${randomHex(8)}-00` },
    });
    const unsampled = await gateway.waitForLine((l) => l.trace_id === unsampledTraceId);
    expect(unsampled).toMatchObject({ msg: "user found", trace_flags: "00" });

    const failed = await tracedGet(gatewayToNowhere.url, "/user/123");
    await receiver.waitForLogs((logs) => logs.some((l) => l.traceId === failed.traceId));
    const error = receiver.logs.find((l) => l.traceId === failed.traceId);
    expect(error).toMatchObject({ severityText: "ERROR", body: "user-service call failed" });
    expect(error?.attributes.reason).toBe("user-service unreachable");
  });

  test("no header credential, cookie, query secret or body reaches telemetry or stdout", async () => {
    const { traceId } = await tracedGet(gateway.url, `/user/123?api_key=${secrets[2]}`, {
      authorization: secrets[0] as string,
      cookie: secrets[1] as string,
      "x-api-key": secrets[2] as string,
    });
    // A body (on a route that takes none) and credentials on a request that fails.
    const failing = await tracedGet(gatewayToNowhere.url, "/user/123", {
      authorization: secrets[0] as string,
    });
    await fetch(`${gateway.url}/user/123`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: secrets[0] as string },
      body: JSON.stringify({ password: secrets[3] }),
    });
    await spansOf(traceId, 4);
    await spansOf(failing.traceId, 2);
    await receiver.waitForLogs((logs) => logs.filter((l) => l.traceId === traceId).length >= 2);
    await receiver.waitForSpans((spans) =>
      spans.some((s) => s.attributes["http.request.method"] === "POST"),
    );
    const exported = Buffer.concat(receiver.rawBodies).toString("latin1");
    const printed = gateway.output() + userService.output();
    for (const secret of secrets) {
      expect(exported).not.toContain(secret);
      expect(printed).not.toContain(secret);
    }
    // The search above is meaningful: the same bytes do contain what was recorded.
    expect(exported).toContain("/user/123");
  });
});
