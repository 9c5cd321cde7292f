// startTelemetry as a real service uses it: which exporter each signal goes to, chosen by the
// standard variables, and the ones the hand-built providers would otherwise ignore.
import { afterAll, expect, test } from "bun:test";
import { type OtlpReceiver, startOtlpReceiver } from "./testing/otlp-receiver.ts";
import {
  freePort,
  type JsonLine,
  processTimeoutMs,
  type ServiceProcess,
  startService,
} from "./testing/process.ts";

// The tests run concurrently (they wait on processes and export delays), each with its own service
// and receiver on ports of their own; what is still running is stopped when the file is done.
const userService = `${import.meta.dir}/../user-service/src/index.ts`;
const apiGateway = `${import.meta.dir}/../api-gateway/src/index.ts`;
const receivers: OtlpReceiver[] = [];
const services: ServiceProcess[] = [];
afterAll(async () => {
  await Promise.all(services.splice(0).map((service) => service.stop()));
  await Promise.all(receivers.splice(0).map((receiver) => receiver.stop()));
});

function startReceiver() {
  const receiver = startOtlpReceiver();
  receivers.push(receiver);
  return receiver;
}

async function start(entry: string, env: Record<string, string>) {
  const service = await startService(entry, env);
  services.push(service);
  return service;
}

async function serveOneRequest(env: Record<string, string>) {
  const service = await start(userService, env);
  const response = await fetch(`${service.url}/users/123?api_key=query-secret`, {
    headers: { authorization: "Bearer header-secret" },
  });
  expect(response.status).toBe(200);
  return service;
}

test.concurrent(
  "console prints spans, metric points and log records on stdout; nothing goes to OTLP",
  async () => {
    const receiver = startReceiver();
    const service = await serveOneRequest({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_TRACES_EXPORTER: "console",
      OTEL_METRICS_EXPORTER: "console",
      OTEL_LOGS_EXPORTER: "console",
      OTEL_METRIC_EXPORT_INTERVAL: "200",
    });
    const deadline = Date.now() + 5000;
    while (!service.output().includes('name: "http.server.request.duration"')) {
      if (Date.now() > deadline) throw new Error(`no metric on stdout:\n${service.output()}`);
      await Bun.sleep(20);
    }
    expect(await service.stop()).toBe(0);
    const output = service.output();
    expect(output).toContain('name: "GET /users/:id"'); // the server span
    expect(output).toContain('"http.route": "/users/:id"');
    expect(output).toContain('severityText: "INFO"'); // a log record
    expect(output).not.toContain("secret");
    expect(receiver.rawBodies).toEqual([]);
  },
  processTimeoutMs,
);

test.concurrent(
  "none switches one signal off; a list sends a signal to both exporters",
  async () => {
    const receiver = startReceiver();
    const service = await serveOneRequest({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_TRACES_EXPORTER: "none",
      OTEL_METRICS_EXPORTER: "otlp",
      OTEL_LOGS_EXPORTER: "otlp,console",
    });
    // SIGTERM flushes every provider, so what was not exported by now never will be.
    expect(await service.stop()).toBe(0);
    expect(receiver.spans).toEqual([]);
    expect(receiver.dataPoints.map((p) => p.metric)).toContain("http.server.request.duration");
    expect(receiver.logs.map((l) => l.body)).toContain("listening");
    expect(service.output()).toContain('body: "listening"');
    expect(service.output()).not.toContain("kind: 1"); // no span on the console either
  },
  processTimeoutMs,
);

test.concurrent(
  "a mistyped exporter keeps the default otlp, and the warning says so",
  async () => {
    const receiver = startReceiver();
    const service = await serveOneRequest({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_TRACES_EXPORTER: "consle",
    });
    await service.stop();
    expect(service.lines).toContainEqual(
      expect.objectContaining({
        level: "warn",
        msg: 'telemetry: OTEL_TRACES_EXPORTER: unsupported "consle" ignored (use otlp, console or none); traces: exporting with otlp',
      }),
    );
    const span = receiver.spans.find((s) => s.name === "GET /users/:id");
    // The SDK's default resource is merged in, as in the OpenTelemetry JS docs' manual set-up.
    expect(span?.resource).toMatchObject({
      "service.name": "user-service",
      "telemetry.sdk.language": "nodejs",
      "telemetry.sdk.name": "opentelemetry",
      "telemetry.sdk.version": "2.12.1",
    });
  },
  processTimeoutMs,
);

const randomHex = (bytes: number) =>
  Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");

/** api-gateway in front of user-service, each with its own settings; one call with a traceparent. */
async function callThroughGateway(
  gatewayEnv: Record<string, string>,
  userServiceEnv: Record<string, string>,
) {
  const users = await start(userService, userServiceEnv);
  const gateway = await start(apiGateway, { ...gatewayEnv, USER_SERVICE_URL: users.url });
  const traceId = randomHex(16);
  const response = await fetch(`${gateway.url}/user/123`, {
    headers: { traceparent: `00-${traceId}-${randomHex(8)}-01`, baggage: "tenant=sandbox" },
  });
  expect(response.status).toBe(200);
  const found = (line: JsonLine) => line.msg === "user found";
  return {
    traceId,
    gatewayLine: await gateway.waitForLine(found),
    userServiceLine: await users.waitForLine(found),
  };
}

test.concurrent(
  "traces off: the caller's traceparent still reaches user-service, and both log its trace id",
  async () => {
    const off = {
      OTEL_TRACES_EXPORTER: "none",
      OTEL_METRICS_EXPORTER: "none",
      OTEL_LOGS_EXPORTER: "none",
    };
    const { traceId, gatewayLine, userServiceLine } = await callThroughGateway(off, off);
    expect(gatewayLine.trace_id).toBe(traceId);
    // user-service only knows the trace id from the traceparent the gateway sent it.
    expect(userServiceLine.trace_id).toBe(traceId);
  },
  processTimeoutMs,
);

test.concurrent(
  "OTEL_PROPAGATORS: without tracecontext no traceparent is read or sent; unshipped ones are named",
  async () => {
    const receiver = startReceiver();
    const { traceId, gatewayLine, userServiceLine } = await callThroughGateway(
      { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_PROPAGATORS: "b3,baggage" },
      { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
    );
    // The gateway started a trace of its own, and user-service one more.
    expect(gatewayLine.trace_id).toBeString();
    expect(gatewayLine.trace_id).not.toBe(traceId);
    expect(userServiceLine.trace_id).toBeString();
    expect(userServiceLine.trace_id).not.toBe(gatewayLine.trace_id);
    const gateway = services.find((service) => service.lines.includes(gatewayLine));
    expect(gateway?.lines).toContainEqual(
      expect.objectContaining({
        level: "warn",
        msg: 'telemetry: OTEL_PROPAGATORS: unsupported "b3" ignored (use tracecontext, baggage or none); propagation: baggage',
      }),
    );
  },
  processTimeoutMs,
);

/**
 * user-service exporting metrics only, to a port nothing listens on, every 300 ms: shorter than
 * the OTLP exporter's 10 s timeout, within which it retries a refused connection.
 */
async function exportingToNowhere(env: Record<string, string> = {}) {
  return start(userService, {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
    OTEL_TRACES_EXPORTER: "none",
    OTEL_LOGS_EXPORTER: "none",
    OTEL_METRIC_EXPORT_INTERVAL: "300",
    ...env,
  });
}
const telemetryLine = (level: string) => (line: JsonLine) =>
  line.level === level && String(line.msg).startsWith("telemetry: ");

test.concurrent(
  "a refused metrics export is reported with its cause, not as a timeout",
  async () => {
    const service = await exportingToNowhere();
    const reported = await service.waitForLine(telemetryLine("error"));
    expect(reported.msg).toContain("ECONNREFUSED");
    await Bun.sleep(700); // two more failed exports: within the minute, counted, not printed
    expect(service.lines.filter(telemetryLine("error"))).toHaveLength(1);
  },
  processTimeoutMs,
);

test.concurrent(
  "OTEL_LOG_LEVEL: none silences the SDK's diagnostics, debug shows the exporter's work",
  async () => {
    const [silent, verbose] = await Promise.all([
      exportingToNowhere({ OTEL_LOG_LEVEL: "none" }),
      exportingToNowhere({ OTEL_LOG_LEVEL: "DEBUG" }),
    ]);
    await verbose.waitForLine(telemetryLine("error"));
    expect(verbose.lines.filter(telemetryLine("debug")).length).toBeGreaterThan(0);
    await Bun.sleep(300); // silent has failed at least as often by now
    expect(silent.lines.filter((line) => String(line.msg).startsWith("telemetry: "))).toEqual([]);
  },
  processTimeoutMs,
);

test.concurrent(
  "OTEL_SDK_DISABLED=true wins over the exporter variables: nothing is instrumented",
  async () => {
    const service = await serveOneRequest({
      OTEL_SDK_DISABLED: "true",
      OTEL_TRACES_EXPORTER: "console",
      OTEL_METRICS_EXPORTER: "console",
      OTEL_LOGS_EXPORTER: "console",
      OTEL_METRIC_EXPORT_INTERVAL: "100",
    });
    await Bun.sleep(300);
    await service.stop();
    // Only the JSON log lines: every line of stdout parses.
    const printed = service.output().trim().split("\n");
    expect(printed.length).toBeGreaterThan(0);
    expect(service.lines).toHaveLength(printed.length);
  },
  processTimeoutMs,
);

test.concurrent(
  "OTEL_BLRP_SCHEDULE_DELAY reaches the log processor the SDK would leave at 1 s",
  async () => {
    const receiver = startReceiver();
    const service = await serveOneRequest({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BLRP_SCHEDULE_DELAY: "60000",
    });
    await Bun.sleep(1500);
    expect(receiver.logs).toEqual([]);
    await service.stop(); // the SIGTERM flush sends them
    expect(receiver.logs.map((l) => l.body)).toContain("listening");
  },
  processTimeoutMs,
);

test.concurrent(
  "the SDK's own metrics count spans and log records dropped on a full queue and failed exports",
  async () => {
    const receiver = startReceiver();
    const service = await startService(userService, {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_METRIC_EXPORT_INTERVAL: "100",
      OTEL_BSP_SCHEDULE_DELAY: "20",
      OTEL_BLRP_SCHEDULE_DELAY: "20",
      OTEL_BSP_MAX_QUEUE_SIZE: "4",
      OTEL_BLRP_MAX_QUEUE_SIZE: "4",
    });
    services.push(service);
    // The collector stalls: the first batch of each queue hangs in export, the queues fill up and
    // what else the requests produce is dropped. Then the stalled exports are refused.
    const refuse = receiver.stallTracesAndLogs();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        fetch(`${service.url}/users/${i + 1}`).then((r) => r.arrayBuffer()),
      ),
    );
    await refuse();
    const point = (metric: string, attributes: Record<string, unknown> = {}) =>
      receiver.dataPoints.findLast(
        (p) =>
          p.metric === metric &&
          Object.entries(attributes).every(([key, value]) => p.attributes[key] === value),
      );
    const signals = [
      { processor: "otel.sdk.processor.span", unit: "{span}", type: "batching_span_processor" },
      { processor: "otel.sdk.processor.log", unit: "{log_record}", type: "batching_log_processor" },
    ];
    const failure = (error: string) => ({ "error.type": error });
    await receiver.waitForDataPoints(() =>
      signals.every(
        ({ processor }) =>
          point(`${processor}.processed`, failure("queue_full")) &&
          point(`${processor}.processed`, failure("OTLPExporterError")),
      ),
    );
    for (const { processor, unit, type } of signals) {
      const component = { "otel.component.type": type, "otel.component.name": `${type}/0` };
      const dropped = point(`${processor}.processed`, { ...component, ...failure("queue_full") });
      expect(dropped).toMatchObject({ unit, type: "sum", monotonic: true });
      expect(dropped?.value).toBeGreaterThan(0);
      expect(point(`${processor}.processed`, failure("OTLPExporterError"))?.value).toBeGreaterThan(
        0,
      );
      expect(point(`${processor}.queue.capacity`, component)).toMatchObject({
        unit,
        monotonic: false,
        value: 4,
      });
      expect(point(`${processor}.queue.size`, component)?.value).toBeLessThanOrEqual(4);
    }
    // Every log record the service made; spans are not counted as they start (a cost per span).
    expect(point("otel.sdk.log.created")?.value).toBeGreaterThanOrEqual(20);
    expect(point("otel.sdk.span.started")).toBeUndefined();
  },
  processTimeoutMs,
);
