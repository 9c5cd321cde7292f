// user-service as a real process: its knobs (ERROR_RATE, QUERY_LATENCY_MS), the failure
// telemetry they produce, start-up validation, and running with the SDK switched off.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type OtlpReceiver, startOtlpReceiver } from "@sandbox/telemetry/testing";
import {
  processTimeoutMs,
  type ServiceProcess,
  startService,
} from "@sandbox/telemetry/testing/process";

const entry = `${import.meta.dir}/index.ts`;
let receiver: OtlpReceiver;
// The disabled service's own receiver: what the failing one exports never lands in it.
let disabledReceiver: OtlpReceiver;
let failing: ServiceProcess;
let disabled: ServiceProcess;

beforeAll(async () => {
  receiver = startOtlpReceiver();
  disabledReceiver = startOtlpReceiver();
  [failing, disabled] = await Promise.all([
    startService(entry, {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: "50",
      OTEL_BLRP_SCHEDULE_DELAY: "50",
      ERROR_RATE: "1",
      QUERY_LATENCY_MS: "300",
    }),
    startService(entry, {
      OTEL_SDK_DISABLED: "true",
      OTEL_EXPORTER_OTLP_ENDPOINT: disabledReceiver.url,
      OTEL_METRIC_EXPORT_INTERVAL: "50",
    }),
  ]);
}, processTimeoutMs);

afterAll(async () => {
  await Promise.all([failing?.stop(), disabled?.stop()]);
  await Promise.all([receiver?.stop(), disabledReceiver?.stop()]);
});

// All tests are concurrent: each talks to a process (and receiver) no other test uses.

test.concurrent("ERROR_RATE=1 fails every query: 500 JSON, error spans and an error log", async () => {
  const traceId = "0af7651916cd43dd8448eb211c80319c";
  const started = performance.now();
  const response = await fetch(`${failing.url}/users/123`, {
    headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01` },
  });
  expect(performance.now() - started).toBeGreaterThanOrEqual(300); // QUERY_LATENCY_MS
  expect(response.status).toBe(500);
  expect(await response.json()).toEqual({ error: "database error", trace_id: traceId });
  // The caller's trace, continued by user-service's SERVER span.
  const [version, respondedTrace, serverSpanId, flags] =
    response.headers.get("traceresponse")?.split("-") ?? [];
  expect([version, respondedTrace, flags]).toEqual(["00", traceId, "01"]);

  await receiver.waitForSpans((spans) => spans.filter((s) => s.traceId === traceId).length >= 2);
  const spans = receiver.spans.filter((s) => s.traceId === traceId);
  const query = spans.find((s) => s.name === "SELECT users");
  const server = spans.find((s) => s.name === "GET /users/:id");
  expect(query?.status.code).toBe("STATUS_CODE_ERROR");
  expect(query?.attributes["error.type"]).toBe("QueryFailed");
  expect(server?.status.code).toBe("STATUS_CODE_ERROR");
  expect(server?.attributes["error.type"]).toBe("500");
  expect(server?.spanId).toBe(serverSpanId);

  await receiver.waitForLogs((logs) => logs.some((l) => l.traceId === traceId));
  expect(receiver.logs.find((l) => l.traceId === traceId)).toMatchObject({
    severityText: "ERROR",
    body: "user query failed",
    spanId: server?.spanId,
  });
});

test.concurrent("OTEL_SDK_DISABLED=true: answers as usual, logs JSON lines, exports nothing", async () => {
  const response = await fetch(`${disabled.url}/users/123`);
  expect(response.status).toBe(200);
  expect(await response.json()).toMatchObject({ id: 123, name: "Ada Lovelace" });
  expect(await disabled.waitForLine((line) => line.msg === "user found")).toMatchObject({
    level: "info",
    service: "user-service",
    "user.id": 123,
  });
  await Bun.sleep(200); // several metric intervals, had they been honoured
  const exported = disabledReceiver.rawBodies.length;
  await fetch(`${disabled.url}/users/999`);
  await Bun.sleep(200);
  expect(disabledReceiver.rawBodies.length).toBe(exported);
  expect(disabledReceiver.spans.filter((s) => s.attributes["url.path"] === "/users/999")).toEqual(
    [],
  );
});

test.concurrent.each([
  ["ERROR_RATE", "2", "ERROR_RATE must be a number from 0 to 1"],
  ["QUERY_LATENCY_MS", "fast", "QUERY_LATENCY_MS must be a number"],
  ["PORT", "-1", "PORT must be a number from 0 to 65535"],
])("%s=%s is refused at start-up with a clear message", async (name, value, message) => {
  const child = Bun.spawn([process.execPath, entry], {
    env: { ...process.env, OTEL_SDK_DISABLED: "true", PORT: "0", [name]: value },
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(await child.exited).toBe(1);
  const output =
    (await new Response(child.stdout).text()) + (await new Response(child.stderr).text());
  expect(JSON.parse(output.trim())).toMatchObject({ level: "error", service: "user-service" });
  expect(output).toContain(message);
  expect(output).not.toContain("    at ");
});

test.concurrent("a port already in use is one clear line and exit 1, not a stack trace", async () => {
  const taken = Bun.serve({ port: 0, fetch: () => new Response("other") });
  try {
    const child = Bun.spawn([process.execPath, entry], {
      env: { ...process.env, OTEL_SDK_DISABLED: "true", PORT: String(taken.port) },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(await child.exited).toBe(1);
    const output =
      (await new Response(child.stdout).text()) + (await new Response(child.stderr).text());
    expect(output.trim().split("\n")).toHaveLength(1);
    expect(JSON.parse(output)).toMatchObject({
      level: "error",
      service: "user-service",
      msg: `port ${taken.port} is already in use: stop what listens there, or pick another port`,
    });
  } finally {
    taken.stop(true);
  }
});
