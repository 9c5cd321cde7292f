// The dev receiver fed by the real services, as under `bun run dev`: both run as processes and
// export OTLP to it; the JSON query API is checked against what the responses said.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startDevReceiver, type TraceDetail, type TraceSummary } from "./dev-receiver.ts";
import {
  processTimeoutMs,
  type ServiceProcess,
  startService,
} from "./telemetry/testing/process.ts";

const receiver = startDevReceiver({
  port: 0,
  gateway: "http://localhost:4000",
  userService: "http://localhost:4001",
});
let services: ServiceProcess[] = [];
let gatewayUrl = "";

beforeAll(async () => {
  const otlp = {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_BSP_SCHEDULE_DELAY: "50",
    OTEL_BLRP_SCHEDULE_DELAY: "50",
    OTEL_METRIC_EXPORT_INTERVAL: "200",
  };
  const userService = await startService(`${import.meta.dir}/user-service/src/index.ts`, otlp);
  const gateway = await startService(`${import.meta.dir}/api-gateway/src/index.ts`, {
    ...otlp,
    USER_SERVICE_URL: userService.url,
  });
  services = [gateway, userService];
  gatewayUrl = gateway.url;
}, processTimeoutMs);

afterAll(async () => {
  await Promise.all(services.map((service) => service.stop("SIGKILL")));
  await receiver.stop();
});

const api = async (path: string) => {
  const response = await fetch(`${receiver.url}${path}`);
  return { status: response.status, body: await response.json() };
};

/** Asks the gateway, then waits until dev holds the complete trace with its metric points. */
async function request(path: string) {
  const response = await fetch(`${gatewayUrl}${path}`);
  const body = await response.json();
  const [, traceId, spanId] = response.headers.get("traceresponse")?.split("-") ?? [];
  const deadline = Date.now() + 5000;
  for (;;) {
    const { status, body: trace } = await api(`/dev/traces/${traceId}`);
    const detail = trace as TraceDetail;
    const services = new Set(detail.metrics?.map((m) => m.resource.attributes["service.name"]));
    if (status === 200 && detail.complete && services.size === 2)
      return { response, body, traceId, spanId, trace: detail };
    if (Date.now() > deadline) throw new Error(`trace ${traceId}: ${JSON.stringify(trace)}`);
    await Bun.sleep(50);
  }
}

test(
  "a request's trace: its spans, its logs, and the metric points it touched, found by its traceresponse",
  async () => {
    const { response, traceId, spanId, trace } = await request("/user/123");
    expect(response.status).toBe(200);
    // The traceresponse names the gateway's SERVER span, the root of the trace.
    const root = trace.spans.find((span) => !span.parentSpanId);
    expect(root).toMatchObject({ spanId, name: "GET /user/:id", kind: "SPAN_KIND_SERVER" });
    expect(root?.resource.attributes["service.name"]).toBe("api-gateway");
    expect(trace.spans.map((s) => s.name).sort()).toEqual(
      ["GET", "GET /user/:id", "GET /users/:id", "SELECT users"].sort(),
    );
    expect(trace.spans.every((span) => span.traceId === traceId)).toBe(true);
    expect(trace.logs.map((log) => [log.resource.attributes["service.name"], log.body])).toEqual(
      expect.arrayContaining([
        ["api-gateway", "user found"],
        ["user-service", "user found"],
      ]),
    );
    // What this request added: its own streams, none of another status, no gauge, no otel.sdk.*.
    const streams = trace.metrics.map(
      (m) =>
        `${m.resource.attributes["service.name"]} ${m.metric} ${m.attributes["http.response.status_code"] ?? m.attributes.outcome}`,
    );
    expect(streams.sort()).toEqual([
      "api-gateway http.client.request.duration 200",
      "api-gateway http.server.request.duration 200",
      "api-gateway user.lookups found",
      "user-service http.server.request.duration 200",
    ]);
    const gatewayRequests = trace.metrics.find(
      (m) =>
        m.metric === "http.server.request.duration" && m.attributes["http.route"] === "/user/:id",
    );
    expect(gatewayRequests).toMatchObject({ type: "histogram", unit: "s", count: 1 });
  },
  processTimeoutMs,
);

test(
  "an error's body names its trace; the list shows it newest first; bad ids are 400 and 404",
  async () => {
    const { response, body, traceId, trace } = await request("/user/9999");
    expect(response.status).toBe(404);
    expect(body).toEqual({ error: "user not found", trace_id: traceId });
    expect(trace.metrics.map((m) => `${m.metric} ${m.attributes.outcome ?? ""}`)).toContain(
      "user.lookups not_found",
    );

    const list = (await api("/dev/traces")).body as TraceSummary[];
    expect(list[0]).toMatchObject({
      traceId,
      root: "api-gateway GET /user/:id",
      status: 404,
      complete: true,
    });
    expect(list[0]?.durationMs).toBeGreaterThan(0);
    expect(await api("/dev/status")).toEqual({
      status: 200,
      body: {
        gateway: "http://localhost:4000",
        userService: "http://localhost:4001",
        traces: list.length,
      },
    });

    expect(await api("/dev/traces/abc")).toEqual({
      status: 400,
      body: { error: '"abc" is not a trace id (32 hex digits)' },
    });
    const unknown = "0123456789abcdef0123456789abcdef";
    expect(await api(`/dev/traces/${unknown}`)).toEqual({
      status: 404,
      body: { error: `trace ${unknown} is not among the ${list.length} traces dev keeps` },
    });
  },
  processTimeoutMs,
);
