// instrumentFetch in one process: an Elysia app served through it, spans in memory, metric points
// collected from the SDK's own reader.
import { beforeEach, expect, test } from "bun:test";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import { Elysia } from "elysia";
import { instrumentFetch, routeRecorder } from "./http-server.ts";
import { inMemoryTracer } from "./testing/in-memory.ts";

const { tracer, finishedSpans, reset } = inMemoryTracer();
const reader = new PeriodicExportingMetricReader({
  exporter: new InMemoryMetricExporter(AggregationTemporality.DELTA),
  exportIntervalMillis: 3_600_000,
});
const meter = new MeterProvider({ readers: [reader] }).getMeter("test");
const app = new Elysia()
  .use(routeRecorder)
  .get("/users/:id", ({ params, status }) =>
    params.id === "0" ? status(500, { error: "boom" }) : { id: params.id },
  )
  .get("/healthz", () => "ok");
const fetch = instrumentFetch(app.fetch, { tracer, meter, untracedPaths: new Set(["/healthz"]) });

/** The histogram's points since the last call, as attribute sets. */
async function durationPoints() {
  const { resourceMetrics } = await reader.collect();
  return resourceMetrics.scopeMetrics
    .flatMap((scope) => scope.metrics)
    .filter((metric) => metric.descriptor.name === "http.server.request.duration")
    .flatMap((metric) => metric.dataPoints.map((point) => point.attributes));
}

beforeEach(async () => {
  reset();
  await durationPoints();
});

test("http.server.request.duration carries the attributes the convention requires, url.scheme included", async () => {
  await fetch(new Request("http://127.0.0.1/users/7?secret=q"));
  await fetch(new Request("https://example.com/users/0"));
  expect(await durationPoints()).toEqual([
    {
      "http.request.method": "GET",
      "url.scheme": "http",
      "http.response.status_code": 200,
      "http.route": "/users/:id",
    },
    {
      "http.request.method": "GET",
      "url.scheme": "https",
      "http.response.status_code": 500,
      "http.route": "/users/:id",
      "error.type": "500",
    },
  ]);
  const [ok, failed] = finishedSpans();
  expect(ok?.name).toBe("GET /users/:id");
  expect(ok?.attributes).toEqual({
    "http.request.method": "GET",
    "url.path": "/users/7",
    "url.scheme": "http",
    "http.response.status_code": 200,
    "http.route": "/users/:id",
  });
  expect(ok?.status.code).toBe(0); // UNSET
  expect(failed?.attributes["url.scheme"]).toBe("https");
  expect(failed?.status.code).toBe(2); // ERROR
});

test("a method outside the convention's list is _OTHER on the metric and kept as the original on the span", async () => {
  await fetch(new Request("http://127.0.0.1/users/7", { method: "PROPFIND" }));
  const [span] = finishedSpans();
  expect(span?.attributes["http.request.method"]).toBe("_OTHER");
  expect(span?.attributes["http.request.method_original"]).toBe("PROPFIND");
  expect(await durationPoints()).toEqual([
    { "http.request.method": "_OTHER", "url.scheme": "http", "http.response.status_code": 404 },
  ]);
});

test("probes make no span and no metric point", async () => {
  expect(await (await fetch(new Request("http://127.0.0.1/healthz"))).text()).toBe("ok");
  expect(finishedSpans()).toEqual([]);
  expect(await durationPoints()).toEqual([]);
});
