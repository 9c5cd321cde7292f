import { expect, test } from "bun:test";
import { createRateLimitedDiagLogger } from "./diag.ts";

test("export failures are reported once per interval, with a count of the rest", async () => {
  const written: Record<string, unknown>[] = [];
  const logger = createRateLimitedDiagLogger("svc", 100, (record) => written.push(record));
  for (let i = 0; i < 50; i++) logger.error("export failed", new Error("ECONNREFUSED"));
  logger.info("ignored");
  logger.debug("ignored");
  expect(written).toEqual([
    { level: "error", service: "svc", msg: "telemetry: export failed ECONNREFUSED" },
  ]);

  await Bun.sleep(120);
  logger.warn("still failing");
  expect(written).toHaveLength(2);
  expect(written[1]).toMatchObject({ level: "warn", suppressed_since_last: 49 });
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
