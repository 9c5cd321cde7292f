// Process lifecycle: SIGTERM drains and flushes; a dead collector costs nothing visible.
import { afterAll, expect, test } from "bun:test";
import { startOtlpReceiver } from "@sandbox/telemetry/testing";
import {
  freePort,
  processTimeoutMs,
  type ServiceProcess,
  startService,
} from "@sandbox/telemetry/testing/process";

const gatewayEntry = `${import.meta.dir}/index.ts`;
const userServiceEntry = `${import.meta.dir}/../../user-service/src/index.ts`;
const running: ServiceProcess[] = [];
const cleanups: (() => unknown)[] = [];

// The tests run concurrently (mostly they wait: on a query, on an export timeout), each with its own
// processes on ports of their own; whatever is still running is stopped when the file is done.
afterAll(async () => {
  await Promise.all(running.splice(0).map((service) => service.stop("SIGKILL")));
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function startPair(env: Record<string, string>, userServiceEnv: Record<string, string> = {}) {
  const userService = await startService(userServiceEntry, { ...env, ...userServiceEnv });
  const gateway = await startService(gatewayEntry, { ...env, USER_SERVICE_URL: userService.url });
  running.push(userService, gateway);
  return { userService, gateway };
}

async function timed<T>(work: Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await work;
  return [result, performance.now() - started];
}

test.concurrent(
  "SIGTERM finishes the in-flight request, flushes its telemetry and exits 0",
  async () => {
    const receiver = startOtlpReceiver();
    cleanups.push(() => receiver.stop());
    // Nothing is exported on a schedule within the test: whatever arrives came from the flush.
    const { userService, gateway } = await startPair(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_BSP_SCHEDULE_DELAY: "60000",
        OTEL_BLRP_SCHEDULE_DELAY: "60000",
        OTEL_METRIC_EXPORT_INTERVAL: "60000",
      },
      { QUERY_LATENCY_MS: "400" },
    );
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const inFlight = fetch(`${gateway.url}/user/123`, {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    await Bun.sleep(150); // the request is now waiting on the simulated query
    expect(receiver.spans).toEqual([]);

    gateway.process.kill("SIGTERM");
    await Bun.sleep(50); // the gateway stops first, as it would behind a Service
    userService.process.kill("SIGTERM");
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: 123 });

    const [codes, elapsed] = await timed(
      Promise.all([gateway.process.exited, userService.process.exited]),
    );
    expect(codes).toEqual([0, 0]);
    expect(elapsed).toBeLessThan(3000);
    // New connections are refused once it has stopped.
    await expect(fetch(`${gateway.url}/healthz`)).rejects.toThrow();

    const spans = receiver.spans.filter((span) => span.traceId === traceId);
    expect(spans.map((span) => span.name).sort()).toEqual([
      "GET",
      "GET /user/:id",
      "GET /users/:id",
      "SELECT users",
    ]);
    expect(receiver.logs.filter((log) => log.traceId === traceId).map((log) => log.body)).toEqual(
      expect.arrayContaining(["user found"]),
    );
    expect(receiver.logs.map((log) => log.body)).toContain("shutting down");
    expect(receiver.dataPoints.some((p) => p.metric === "user.lookups")).toBe(true);
  },
  processTimeoutMs,
);

test.concurrent(
  "SIGTERM with a collector that never answers still exits 0 within a few seconds",
  async () => {
    // Accepts connections and never replies: exports hang until their timeout.
    const blackHole = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: { data() {} },
    });
    cleanups.push(() => blackHole.stop(true));
    const { gateway } = await startPair({
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${blackHole.port}`,
    });
    expect((await fetch(`${gateway.url}/user/123`)).status).toBe(200);
    const [code, elapsed] = await timed(gateway.stop("SIGTERM"));
    expect(code).toBe(0);
    expect(elapsed).toBeLessThan(4500);
  },
  processTimeoutMs,
);

test.concurrent(
  "an unreachable collector changes no response, costs no speed and is logged rarely",
  async () => {
    const deadCollector = `http://127.0.0.1:${await freePort()}`;
    const [dead, off] = await Promise.all([
      startPair({
        OTEL_EXPORTER_OTLP_ENDPOINT: deadCollector,
        OTEL_BSP_SCHEDULE_DELAY: "20",
        OTEL_BLRP_SCHEDULE_DELAY: "20",
        OTEL_METRIC_EXPORT_INTERVAL: "100",
      }),
      startPair({ OTEL_SDK_DISABLED: "true" }),
    ]);

    const paths = ["/user/123", "/user/999", "/user/abc"];
    const run = async (base: string) => {
      const answers: string[] = [];
      const [, elapsed] = await timed(
        (async () => {
          for (let i = 0; i < 20; i++)
            await Promise.all(
              paths.map(async (path) => {
                const response = await fetch(`${base}${path}`);
                // Trace ids differ from run to run, and there are none with telemetry off.
                const body = (await response.text()).replace(/,"trace_id":"[0-9a-f]{32}"/, "");
                answers.push(`${path} ${response.status} ${body}`);
              }),
            );
        })(),
      );
      return { answers: answers.sort(), elapsed };
    };
    await run(off.gateway.url); // warm-up for both
    await run(dead.gateway.url);
    const withDeadCollector = await run(dead.gateway.url);
    const withoutTelemetry = await run(off.gateway.url);

    expect(withDeadCollector.answers).toEqual(withoutTelemetry.answers);
    // Generous bound for a shared, loaded machine; a blocking export would cost seconds.
    expect(withDeadCollector.elapsed).toBeLessThan(withoutTelemetry.elapsed * 3 + 250);

    await Bun.sleep(300); // several failed export rounds
    for (const service of [dead.gateway, dead.userService]) {
      const failures = service.lines.filter((line) => String(line.msg).startsWith("telemetry:"));
      expect(failures.length).toBeGreaterThanOrEqual(1);
      expect(failures.length).toBeLessThanOrEqual(2);
    }
  },
  processTimeoutMs,
);
