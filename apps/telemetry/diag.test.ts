import { expect, test } from "bun:test";
import { createRateLimitedDiagLogger } from "./diag.ts";

test("export failures are reported once per interval, with a count of the rest", async () => {
  const written: Record<string, unknown>[] = [];
  const logger = createRateLimitedDiagLogger("svc", 100, (record) => written.push(record));
  for (let i = 0; i < 50; i++) logger.error("export failed", new Error("ECONNREFUSED"));
  expect(written).toEqual([
    { level: "error", service: "svc", msg: "telemetry: export failed ECONNREFUSED" },
  ]);

  await Bun.sleep(120);
  logger.error("still failing");
  expect(written).toHaveLength(2);
  expect(written[1]).toMatchObject({ level: "error", suppressed_since_last: 49 });
});

test("an exception flattened to JSON by the SDK is printed without its stack", () => {
  const written: Record<string, unknown>[] = [];
  const logger = createRateLimitedDiagLogger("svc", 100, (record) => written.push(record));
  logger.error(
    JSON.stringify({
      message: "connect ECONNREFUSED 127.0.0.1:9",
      code: "ECONNREFUSED",
      stack: "Error: connect ECONNREFUSED 127.0.0.1:9\n    at afterConnect (node:net:2001:39)",
    }),
  );
  expect(written).toEqual([
    { level: "error", service: "svc", msg: "telemetry: connect ECONNREFUSED 127.0.0.1:9" },
  ]);
});

test("each level has its own window: the SDK's info note never hides the error after it", () => {
  const written: Record<string, unknown>[] = [];
  const logger = createRateLimitedDiagLogger("svc", 100, (record) => written.push(record));
  // What the OTLP exporter and the span processor report for one refused export, twice.
  for (let i = 0; i < 2; i++) {
    logger.info("Export retry time 1043ms exceeds remaining timeout 180ms, not retrying further.");
    logger.error("connect ECONNREFUSED 127.0.0.1:9");
  }
  expect(written.map((record) => [record.level, record.msg])).toEqual([
    [
      "info",
      "telemetry: Export retry time 1043ms exceeds remaining timeout 180ms, not retrying further.",
    ],
    ["error", "telemetry: connect ECONNREFUSED 127.0.0.1:9"],
  ]);
});

test("debug and verbose, asked for with OTEL_LOG_LEVEL, are every line", () => {
  const written: Record<string, unknown>[] = [];
  const logger = createRateLimitedDiagLogger("svc", 100, (record) => written.push(record));
  for (let i = 0; i < 3; i++) logger.debug("items to be sent");
  logger.verbose("Scheduling export retry in 1000ms");
  expect(written).toHaveLength(4);
  expect(written[3]).toEqual({
    level: "debug",
    service: "svc",
    msg: "telemetry: Scheduling export retry in 1000ms",
  });
});

test("an object the SDK passes (a detected resource's attributes) is printed as JSON", () => {
  const written: Record<string, unknown>[] = [];
  const logger = createRateLimitedDiagLogger("svc", 100, (record) => written.push(record));
  logger.debug("EnvDetector found resource.", { "service.name": "svc" });
  expect(written).toEqual([
    {
      level: "debug",
      service: "svc",
      msg: 'telemetry: EnvDetector found resource. {"service.name":"svc"}',
    },
  ]);
});
