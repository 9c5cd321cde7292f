// Our counters and histograms must collect to what the SDK's own instruments collect.
import { describe, expect, test } from "bun:test";
import type { Meter } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AggregationTemporality,
  DataPointType,
  MeterProvider,
  MetricReader,
  type ResourceMetrics,
} from "@opentelemetry/sdk-metrics";
import { httpDurationBuckets } from "./http-server.ts";
import { requestMetrics } from "./request-metrics.ts";

class CollectingReader extends MetricReader {
  protected async onForceFlush() {}
  protected async onShutdown() {}
}

const resource = resourceFromAttributes({ "service.name": "api-gateway" });
const scope = { name: "api-gateway", version: "0.1.0" };

/** The SDK's meter, and ours over it, both collected by one reader. */
function meters() {
  const counted = requestMetrics(scope, resource);
  const reader = new CollectingReader({ metricProducers: [counted.producer] });
  const provider = new MeterProvider({ resource, readers: [reader] });
  const sdk = provider.getMeter("sdk");
  return { sdk, ours: counted.meter(sdk), reader };
}

async function collect(reader: MetricReader): Promise<ResourceMetrics> {
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).toEqual([]);
  return resourceMetrics;
}

/** Each metric's data points without times, by scope name then metric name. */
function pointsOf(metrics: ResourceMetrics) {
  return Object.fromEntries(
    metrics.scopeMetrics.flatMap(({ scope: { name: scopeName }, metrics: list }) =>
      list.map((metric) => [
        `${scopeName}:${metric.descriptor.name}`,
        {
          descriptor: metric.descriptor,
          temporality: metric.aggregationTemporality,
          type: metric.dataPointType,
          points: metric.dataPoints
            .map(({ attributes, value }) => ({ attributes, value }))
            .sort((a, b) =>
              JSON.stringify(a.attributes).localeCompare(JSON.stringify(b.attributes)),
            ),
        },
      ]),
    ),
  );
}

/** The same measurements through a meter, as the services make them. */
function measure(meter: Meter) {
  const duration = meter.createHistogram("http.server.request.duration", {
    description: "Duration of HTTP server requests.",
    unit: "s",
    advice: { explicitBucketBoundaries: httpDurationBuckets },
  });
  const lookups = meter.createCounter("user.lookups", { description: "Lookups by outcome." });
  const ok = { "http.request.method": "GET", "http.response.status_code": 200 };
  for (const value of [0, 0.005, 0.0050001, 0.3, 9.99, 10, 42, 0.001]) duration.record(value, ok);
  // Another object with the same content, keys in another order: the same series.
  duration.record(0.02, { "http.response.status_code": 200, "http.request.method": "GET" });
  duration.record(1.5, { "http.request.method": "GET", "http.response.status_code": 502 });
  duration.record(-1, ok); // ignored, as the SDK ignores it
  duration.record(Number.NaN, ok);
  lookups.add(1, { outcome: "found" });
  lookups.add(2, { outcome: "found" });
  lookups.add(1, { outcome: "not_found" });
  lookups.add(-5, { outcome: "found" }); // ignored
  meter.createHistogram("never.recorded");
}

describe("requestMetrics", () => {
  test("collects what the SDK's instruments collect for the same measurements", async () => {
    const { sdk, ours, reader } = meters();
    measure(sdk);
    measure(ours);
    const points = pointsOf(await collect(reader));
    for (const name of ["http.server.request.duration", "user.lookups"])
      expect(points[`api-gateway:${name}`]).toEqual(points[`sdk:${name}`] as never);
    expect(points["api-gateway:http.server.request.duration"]).toMatchObject({
      temporality: AggregationTemporality.CUMULATIVE,
      type: DataPointType.HISTOGRAM,
    });
    expect(points["api-gateway:user.lookups"]?.points.map((point) => point.value)).toEqual([3, 1]);
    // Instruments without measurements are not exported, by either.
    expect(Object.keys(points).filter((name) => name.endsWith("never.recorded"))).toEqual([]);
  });

  test("sums are cumulative across collections, with a start time per series", async () => {
    const { ours, reader } = meters();
    const lookups = ours.createCounter("user.lookups");
    const found = { outcome: "found" };
    lookups.add(1, found);
    const first = (await collect(reader)).scopeMetrics[0]?.metrics[0]?.dataPoints[0];
    lookups.add(1, found);
    const second = (await collect(reader)).scopeMetrics[0]?.metrics[0]?.dataPoints[0];
    expect([first?.value, second?.value]).toEqual([1, 2]);
    expect(second?.startTime).toEqual(first?.startTime as never);
  });

  test("keeps its own copy of an attribute set", async () => {
    const { ours, reader } = meters();
    const attributes: Record<string, string> = { outcome: "found" };
    ours.createCounter("user.lookups").add(1, attributes);
    attributes.outcome = "changed";
    const point = (await collect(reader)).scopeMetrics[0]?.metrics[0]?.dataPoints[0];
    expect(point?.attributes).toEqual({ outcome: "found" });
  });

  test("past the SDK's cardinality limit, further sets go to one overflow series, as there", async () => {
    const { sdk, ours, reader } = meters();
    for (const meter of [sdk, ours]) {
      const counter = meter.createCounter("requests");
      for (let i = 0; i < 2100; i++) counter.add(1, { id: i });
    }
    const collected = await collect(reader);
    const [sdkPoints, ourPoints] = ["sdk", "api-gateway"].map((name) => {
      const metrics = pointsOf(collected)[`${name}:requests`];
      return metrics?.points ?? [];
    }) as [{ attributes: object; value: unknown }[], { attributes: object; value: unknown }[]];
    const overflow = (points: typeof ourPoints) =>
      points.find((point) => "otel.metric.overflow" in point.attributes)?.value;
    expect(ourPoints.length).toBe(sdkPoints.length);
    expect(overflow(ourPoints)).toBe(overflow(sdkPoints));
    expect(overflow(ourPoints)).toBeGreaterThan(0);
  });

  test("gauges and everything else are the SDK meter's", async () => {
    const { ours, reader } = meters();
    ours.createObservableGauge("process.uptime").addCallback((result) => result.observe(7));
    const metrics = await collect(reader);
    expect(metrics.scopeMetrics.map((scopeMetrics) => scopeMetrics.scope.name)).toEqual(["sdk"]);
    expect(metrics.scopeMetrics[0]?.metrics[0]?.dataPoints[0]?.value).toBe(7);
  });
});
