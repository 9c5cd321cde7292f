// An idle service still exports a metric every interval, so Prometheus (target_info) can tell
// "idle" from "stopped sending" — the ServiceTelemetryAbsent alert relies on it.
import { afterAll, expect, test } from "bun:test";
import { startOtlpReceiver } from "./testing/otlp-receiver.ts";
import { processTimeoutMs, type ServiceProcess, startService } from "./testing/process.ts";

const receiver = startOtlpReceiver();
let service: ServiceProcess | undefined;
afterAll(async () => {
  await service?.stop();
  await receiver.stop();
});

test(
  "a service that has served no request exports process.uptime every interval",
  async () => {
    service = await startService(`${import.meta.dir}/../user-service/src/index.ts`, {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_METRIC_EXPORT_INTERVAL: "200",
    });
    const uptimes = () =>
      receiver.dataPoints.filter(
        (p) => p.metric === "process.uptime" && p.resource["service.name"] === "user-service",
      );
    await receiver.waitForDataPoints(() => uptimes().length >= 2, 5_000);
    const [first, second] = uptimes();
    expect(first).toMatchObject({ type: "gauge", unit: "s" });
    expect(second?.value as number).toBeGreaterThan(first?.value as number);
    // Besides the SDK's own metrics (its queues exist from the start), no request metric yet.
    const others = receiver.dataPoints.filter(
      (p) => p.metric !== "process.uptime" && !p.metric.startsWith("otel.sdk."),
    );
    expect(others).toEqual([]);
  },
  processTimeoutMs,
);
