// The shared service pieces, in process with the SDK switched off.
import { describe, expect, test } from "bun:test";
import { startTelemetry } from "@sandbox/telemetry";
import { envNumber, parseUserId, serviceApp } from "./index.ts";

describe("parseUserId", () => {
  test.each([
    ["1", 1],
    ["123", 123],
    ["999999999", 999_999_999],
  ])("%p is the id %p", (raw, id) => expect(parseUserId(raw)).toBe(id));

  test.each([
    "",
    "0",
    "007",
    "-1",
    "+1",
    "1.0",
    "1e3",
    " 1",
    "1 ",
    "0x1f",
    "1000000000",
    "١٢٣",
    "1\n",
  ])("%p is not an id", (raw) => expect(parseUserId(raw)).toBeUndefined());
});

describe("envNumber", () => {
  test("a missing or blank value gives the default", () => {
    expect(envNumber({}, "X", 7)).toBe(7);
    expect(envNumber({ X: " " }, "X", 7)).toBe(7);
  });
  test("a value in range is read", () =>
    expect(envNumber({ X: "0.25" }, "X", 0, { max: 1 })).toBe(0.25));
  test("anything else is an error naming the variable", () => {
    expect(() => envNumber({ X: "1.5" }, "X", 0, { max: 1 })).toThrow(
      'X must be a number from 0 to 1, got "1.5"',
    );
    expect(() => envNumber({ X: "ten" }, "X", 0)).toThrow("X must be a number");
    // Decimal only: Number() would read these as 16, 1000 and 2.
    for (const raw of ["0x10", "1e3", "0b10", "Infinity", "+5", ".5"])
      expect(() => envNumber({ X: raw }, "X", 0)).toThrow(`X must be a number from 0 to`);
  });
});

describe("serviceApp", () => {
  const telemetry = startTelemetry({ name: "test", version: "0" }, { OTEL_SDK_DISABLED: "true" });
  const request = (path: string) => new Request(`http://localhost${path}`);

  test("readiness turns 503 once shutdown has begun; liveness stays 200", async () => {
    const lifecycle = { ready: true };
    const app = serviceApp(telemetry, lifecycle);
    expect((await app.handle(request("/readyz"))).status).toBe(200);
    lifecycle.ready = false;
    const response = await app.handle(request("/readyz"));
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ status: "shutting down" });
    expect((await app.handle(request("/healthz"))).status).toBe(200);
  });

  test("an unexpected error is a JSON 500 without a stack trace", async () => {
    const app = serviceApp(telemetry, { ready: true }).get("/boom", () => {
      throw new Error("kaboom at /secret/path.ts:12");
    });
    const response = await app.handle(request("/boom"));
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: "internal error" });
  });
});
