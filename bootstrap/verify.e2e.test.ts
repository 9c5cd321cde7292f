// verify.ts against the real services: api-gateway and user-service run as processes and export
// OTLP to a receiver; small stand-ins for the Prometheus, Loki and Tempo query APIs answer from
// what was actually received, naming metrics and their job label the way the Collector and
// Prometheus's OTLP receiver do (gitops/pipeline). This proves the gateway continues verify's
// traceparent, both services' spans share it, their logs carry it, and verify's PromQL selects
// the translated series.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { type OtlpReceiver, startOtlpReceiver } from "../apps/telemetry/testing/otlp-receiver.ts";
import { type ServiceProcess, startService } from "../apps/telemetry/testing/process.ts";
import {
  emittedMetrics,
  prometheusLabelName,
  prometheusMetricName,
  serverDuration,
} from "../gitops/dashboards/telemetry-names.ts";
import { renderPod } from "../gitops/pipeline/capture.ts";
import { collectorModel, enrich } from "../model/collector.ts";
import { resourceLabels } from "../model/prometheus-otlp.ts";
import { promqlSelectors, QuerySyntaxError, selectSeries } from "../model/queries.ts";
import { SERVICES } from "./lib/names.ts";
import { verify } from "./verify.ts";

const apps = join(import.meta.dir, "..", "apps");
let receiver: OtlpReceiver;
let services: ServiceProcess[] = [];
const stops: (() => void)[] = [];

const fastExport = {
  OTEL_METRIC_EXPORT_INTERVAL: "200",
  OTEL_BSP_SCHEDULE_DELAY: "100",
  OTEL_BLRP_SCHEDULE_DELAY: "100",
};

beforeAll(async () => {
  receiver = startOtlpReceiver();
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...fastExport };
  const userService = await startService(join(apps, "user-service/src/index.ts"), {
    ...otel,
    OTEL_SERVICE_NAME: "user-service",
  });
  const gateway = await startService(join(apps, "api-gateway/src/index.ts"), {
    ...otel,
    OTEL_SERVICE_NAME: "api-gateway",
    USER_SERVICE_URL: userService.url,
  });
  services = [userService, gateway];
});

afterAll(async () => {
  for (const stop of stops) stop();
  await Promise.all(services.map((s) => s.stop("SIGTERM")));
  await receiver?.stop();
});

const serve = (fetch: (request: Request) => Response) => {
  const server = Bun.serve({ port: 0, fetch });
  stops.push(() => server.stop(true));
  return `http://localhost:${server.port}`;
};

// Prometheus: the latest cumulative count per (service, attributes), with the names and the job
// label the pipeline gives them (the Collector as configured, then Prometheus's OTLP receiver:
// gitops/pipeline), answering only for series the query's selector matches.
async function prometheusFromOtlp() {
  const count = `${prometheusMetricName(serverDuration)}_count`;
  const route = prometheusLabelName("http.route");
  const collector = collectorModel();
  const pods = Object.fromEntries(
    await Promise.all(SERVICES.map(async (s) => [s, (await renderPod(s)).pod] as const)),
  );
  return serve((request) => {
    const query = new URL(request.url).searchParams.get("query") ?? "";
    let selectors: ReturnType<typeof promqlSelectors>;
    try {
      selectors = promqlSelectors(query);
    } catch (error) {
      // As Prometheus answers a query it cannot parse.
      const message = error instanceof QuerySyntaxError ? error.message : String(error);
      return Response.json(
        { status: "error", errorType: "bad_data", error: message },
        { status: 400 },
      );
    }
    const selector = selectors.find((s) => s.metric === count);
    if (!selector) {
      return Response.json({ status: "success", data: { resultType: "vector", result: [] } });
    }
    const latest = new Map<string, { job: string; route: string; count: number }>();
    for (const p of receiver.dataPoints.filter((d) => d.metric === serverDuration.name)) {
      const resource = Object.fromEntries(
        Object.entries(p.resource).map(([k, v]) => [k, String(v)]),
      );
      const pod = pods[resource["service.name"] ?? ""];
      if (!pod) throw new Error(`no pod for ${resource["service.name"]}`);
      const job = resourceLabels(enrich(collector, "metrics", resource, pod), {}).job ?? "";
      const series = { name: count, labels: { job, [route]: String(p.attributes["http.route"]) } };
      if (selectSeries([{ ...series, service: job }], selector).length === 0) continue;
      latest.set(`${job} ${JSON.stringify(p.attributes)}`, {
        job,
        route: String(p.attributes["http.route"]),
        count: p.count ?? 0,
      });
    }
    const byRoute = new Map<string, { job: string; route: string; count: number }>();
    for (const s of latest.values()) {
      const key = `${s.job} ${s.route}`;
      byRoute.set(key, { ...s, count: (byRoute.get(key)?.count ?? 0) + s.count });
    }
    const result = [...byRoute.values()].map((s) => ({
      metric: { job: s.job, [route]: s.route },
      value: [Date.now() / 1000, String(s.count)],
    }));
    return Response.json({ status: "success", data: { resultType: "vector", result } });
  });
}

// Loki: OTLP log records; service.name → service_name, trace_id as structured metadata.
function lokiFromOtlp() {
  return serve((request) => {
    const query = new URL(request.url).searchParams.get("query") ?? "";
    const ids = /trace_id=~"([^"]*)"/.exec(query)?.[1]?.split("|") ?? [];
    const result = receiver.logs
      .filter((log) => ids.includes(log.traceId))
      .map((log) => ({
        stream: { service_name: String(log.resource["service.name"]), trace_id: log.traceId },
        values: [[`${Date.now()}000000`, String(log.body)]],
      }));
    return Response.json({ status: "success", data: { resultType: "streams", result, stats: {} } });
  });
}

// Tempo: the spans of one trace, grouped by resource as /api/traces/<id> returns them.
function tempoFromOtlp() {
  return serve((request) => {
    const id = new URL(request.url).pathname.split("/").at(-1) ?? "";
    const spans = receiver.spans.filter((s) => s.traceId === id);
    if (spans.length === 0) return new Response("trace not found\n", { status: 404 });
    const services = [...new Set(spans.map((s) => String(s.resource["service.name"])))];
    return Response.json({
      batches: services.map((service) => ({
        resource: { attributes: [{ key: "service.name", value: { stringValue: service } }] },
        scopeSpans: [
          {
            spans: spans
              .filter((s) => s.resource["service.name"] === service)
              .map((s) => ({ traceId: Buffer.from(id, "hex").toString("base64"), name: s.name })),
          },
        ],
      })),
    });
  });
}

test("verify passes against the real services' telemetry", async () => {
  const lines: string[] = [];
  const result = await verify(
    {
      gateway: services[1]?.url as string,
      prometheus: await prometheusFromOtlp(),
      loki: lokiFromOtlp(),
      tempo: tempoFromOtlp(),
      grafana: "http://localhost:3000",
      timeoutMs: 8_000,
      pollMs: 100,
      requests: 2,
    },
    (line) => lines.push(line),
  );
  expect(lines.join("\n")).not.toContain("FAIL");
  expect(result.ok).toBe(true);
  // The trace verify links to holds the gateway's server span and user-service's spans.
  const names = receiver.spans.filter((s) => s.traceId === result.traceId).map((s) => s.name);
  expect(names).toContain("GET /user/:id");
  expect(names).toContain("GET /users/:id");
});

test("the services emit exactly the metrics the dashboards and alerts are written against", async () => {
  // Runs after the test above, so every instrument has recorded something.
  await receiver.waitForDataPoints((points) =>
    emittedMetrics.every((m) => points.some((p) => p.metric === m.name)),
  );
  for (const declared of emittedMetrics) {
    const points = receiver.dataPoints.filter((p) => p.metric === declared.name);
    expect(points[0]?.unit, declared.name).toBe(declared.unit);
    expect(points[0]?.type, declared.name).toBe(
      declared.type === "counter" || declared.type === "updowncounter" ? "sum" : declared.type,
    );
    if (declared.type !== "histogram")
      expect(points[0]?.monotonic, declared.name).toBe(declared.type === "counter");
    const keys = new Set(points.flatMap((p) => Object.keys(p.attributes)));
    for (const key of keys)
      expect(declared.attributes, `${declared.name} attribute`).toContain(key);
  }
});
