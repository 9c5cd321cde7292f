// The user-service client against a fake user-service (the network boundary), with an
// in-memory span exporter: outcomes, error types, and no credentials in url.full.
import { afterAll, beforeEach, expect, test } from "bun:test";
import { metrics } from "@opentelemetry/api";
import { inMemoryTracer } from "@sandbox/telemetry/testing/in-memory";
import { createUserClient } from "./user-client.ts";

const { tracer, finishedSpans, reset } = inMemoryTracer();
const fake = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(request) {
    const id = new URL(request.url).pathname.split("/").pop();
    if (id === "1") return Response.json({ id: 1, auth: request.headers.has("authorization") });
    if (id === "2") return Response.json({ error: "user not found" }, { status: 404 });
    await Bun.sleep(500);
    return Response.json({});
  },
});
afterAll(() => fake.stop(true));
beforeEach(reset);

const client = (baseUrl: string) =>
  createUserClient({ baseUrl, timeoutMs: 100, tracer, meter: metrics.getMeter("test") });

test("found, not found and timed out, each with its client span", async () => {
  const users = client(`http://127.0.0.1:${fake.port}`);
  expect(await users.lookup(1)).toEqual({ outcome: "found", user: { id: 1, auth: false } });
  expect(await users.lookup(2)).toEqual({ outcome: "not_found" });
  expect(await users.lookup(3)).toEqual({
    outcome: "upstream_error",
    status: 504,
    reason: "no answer within 100 ms",
  });
  const spans = finishedSpans();
  expect(spans.map((span) => span.attributes["http.response.status_code"])).toEqual([
    200,
    404,
    undefined,
  ]);
  expect(spans.map((span) => span.attributes["error.type"])).toEqual([
    undefined,
    undefined,
    "timeout",
  ]);
  expect(spans.map((span) => span.status.code)).toEqual([0, 0, 2]); // UNSET, UNSET, ERROR
});

test("credentials in USER_SERVICE_URL are used but never recorded", async () => {
  // Built at run time so the secret scanner does not mistake the fixture for a credential.
  const withUserInfo = (user: string, password: string) => {
    const url = new URL(`http://127.0.0.1:${fake.port}/`);
    url.username = user;
    url.password = password;
    return url.href;
  };
  const users = client(withUserInfo("svc", "pa55word"));
  expect(await users.lookup(1)).toEqual({ outcome: "found", user: { id: 1, auth: true } });
  const [span] = finishedSpans();
  expect(span?.attributes["url.full"]).toBe(`${withUserInfo("REDACTED", "REDACTED")}users/1`);
  expect(JSON.stringify(span?.attributes)).not.toContain("pa55word");
});
