import { expect, test } from "bun:test";
import type { ReceivedSpan } from "../apps/telemetry/testing/otlp-receiver.ts";
import { selectSpans } from "./traceql.ts";

const span = (name: string, attributes: Record<string, unknown>, service: string) =>
  ({ name, attributes, resource: { "service.name": service } }) as unknown as ReceivedSpan;
const spans = [
  span("SELECT users", { "app.user.found": false, rows: 0 }, "user-service"),
  span("SELECT users", { "app.user.found": true, rows: 1 }, "user-service"),
  span("GET", { "app.user.found": "false" }, "api-gateway"),
];
const names = (query: string) => selectSpans(spans, query).map((s) => s.resource["service.name"]);

test("conditions joined by && select spans, scoped or not, typed as Tempo types them", () => {
  expect(
    selectSpans(spans, '{ span.app.user.found = false && resource.service.name = "user-service" }'),
  ).toEqual([spans[0] as ReceivedSpan]);
  expect(names('{ span.app.user.found = "false" }')).toEqual(["api-gateway"]);
  expect(names("{ .rows >= 1 }")).toEqual(["user-service"]);
  expect(names('{ name = "GET" }')).toEqual(["api-gateway"]);
  // != matches only spans that have the attribute, of that type.
  expect(names("{ span.rows != 0 }")).toEqual(["user-service"]);
});

test("what it cannot read is an error naming the part", () => {
  expect(() => selectSpans(spans, "{ span.a = 1 || span.b = 2 }")).toThrow("not understood");
  expect(() => selectSpans(spans, "span.a = 1")).toThrow("one spanset filter");
});
