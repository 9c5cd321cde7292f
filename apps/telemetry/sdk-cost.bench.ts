// `bun run bench:sdk`: what the official SDK costs on Bun per span, log record and metric point,
// in CPU time of this process, split into recording (on the request path) and exporting (batched,
// serialized to OTLP/protobuf and POSTed by the official exporters to a sink in another process).
// The attribute sets are those of a request in the services. Figures for docs/performance.md.
import { metrics, trace } from "@opentelemetry/api";
import { logs, SeverityNumber } from "@opentelemetry/api-logs";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-proto";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { BatchLogRecordProcessor, LoggerProvider } from "@opentelemetry/sdk-logs";
import { MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { CliError, exitWithError } from "../../cli/errors.ts";
import { parseFlags, parseNumber } from "../../cli/flags.ts";
import { buildResource } from "./config.ts";
import { freePort } from "./testing/process.ts";

const usage = `usage: bun run bench:sdk [ITEMS]

Measures what the official OpenTelemetry SDK costs on Bun, in CPU microseconds of this process
per span, log record and histogram point: recording them, and exporting them (batched, OTLP/
protobuf) to a receiver in another process. Prints one JSON line. See docs/performance.md.

  ITEMS        items of each kind per measurement (default 10000, 100 to 15000)
  -h, --help   show this help`;

// Each batch holds 512 items and a flush sends at most 30 at once: 15 000 items fit.
const MAX_ITEMS = 15_000;
let count = 10_000;
try {
  const { values, positionals } = parseFlags(
    "bun run bench:sdk",
    process.argv.slice(2),
    { help: { type: "boolean", short: "h" } },
    { positionals: true },
  );
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const [items, ...extra] = positionals;
  if (extra.length)
    throw new CliError(
      `unexpected argument ${JSON.stringify(extra[0])}`,
      "bun run bench:sdk 10000",
    );
  if (items !== undefined)
    count = parseNumber(items, "ITEMS", {
      min: 100,
      max: MAX_ITEMS,
      example: "bun run bench:sdk 10000",
    });
} catch (error) {
  exitWithError(error);
}
const port = await freePort();
const sink = Bun.spawn(
  [process.execPath, `${import.meta.dir}/../../bench/otlp-sink.ts`, String(port)],
  {
    stdout: "ignore",
  },
);
// Whatever happens below (an export error ends the process), the sink goes with it.
process.on("exit", () => sink.kill());
const url = `http://127.0.0.1:${port}`;
for (let tries = 0; ; tries++) {
  try {
    await fetch(`${url}/stats`);
    break;
  } catch (error) {
    if (tries > 100) throw error;
    await Bun.sleep(50);
  }
}

const resource = buildResource({ name: "sdk-cost", version: "0" }, {});
/** CPU microseconds of this process per item while `work` runs (and its exports finish). */
async function cpuPerItem(work: () => void | Promise<void>): Promise<number> {
  Bun.gc(true);
  const before = process.cpuUsage();
  await work();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / count;
}
const batches = <T>(each: (i: number) => T) => {
  for (let i = 0; i < count; i++) each(i);
};

const spanAttributes = {
  "http.request.method": "GET",
  "url.path": "/users/123",
  "url.scheme": "http",
};
const endAttributes = {
  "http.request.method": "GET",
  "http.response.status_code": 200,
  "http.route": "/users/:id",
};
// Large enough that nothing is dropped: all `count` items are exported. A flush sends every batch
// at once, and the exporter takes at most 30 at a time: 512 per batch suits up to 15 000 items.
const queue = { maxQueueSize: count, maxExportBatchSize: 512, scheduledDelayMillis: 60_000 };

const tracerProvider = new NodeTracerProvider({
  resource,
  spanProcessors: [
    new BatchSpanProcessor(new OTLPTraceExporter({ url: `${url}/v1/traces` }), queue),
  ],
});
tracerProvider.register();
const tracer = trace.getTracer("sdk-cost");
const span = () => {
  const s = tracer.startSpan("GET", { attributes: spanAttributes });
  s.updateName("GET /users/:id");
  s.setAttributes(endAttributes);
  s.end();
};

const loggerProvider = new LoggerProvider({
  resource,
  processors: [
    new BatchLogRecordProcessor({
      exporter: new OTLPLogExporter({ url: `${url}/v1/logs` }),
      ...queue,
    }),
  ],
});
logs.setGlobalLoggerProvider(loggerProvider);
const logger = logs.getLogger("sdk-cost");
const logRecord = () =>
  logger.emit({
    severityNumber: SeverityNumber.INFO,
    severityText: "INFO",
    body: "user found",
    attributes: { "user.id": 123 },
  });

const reader = new PeriodicExportingMetricReader({
  exporter: new OTLPMetricExporter({ url: `${url}/v1/metrics` }),
  exportIntervalMillis: 60_000,
});
metrics.setGlobalMeterProvider(new MeterProvider({ resource, readers: [reader] }));
const histogram = metrics.getMeter("sdk-cost").createHistogram("http.server.request.duration");
const metricPoint = (i: number) => histogram.record(0.005 + (i % 100) / 1000, endAttributes);

// Warm the JIT up on everything first, then measure.
for (const warm of [span, logRecord, metricPoint]) batches(warm);
await tracerProvider.forceFlush();
await loggerProvider.forceFlush();

const figures = {
  span_record_us: await cpuPerItem(() => batches(span)),
  span_export_us: await cpuPerItem(() => tracerProvider.forceFlush()),
  log_record_us: await cpuPerItem(() => batches(logRecord)),
  log_export_us: await cpuPerItem(() => loggerProvider.forceFlush()),
  metric_point_record_us: await cpuPerItem(() => batches(metricPoint)),
};
const rounded = Object.fromEntries(
  Object.entries(figures).map(([name, value]) => [name, Math.round(value * 100) / 100]),
);
const stats = (await (await fetch(`${url}/stats`)).json()) as { spans: number; logRecords: number };
console.log(JSON.stringify({ items: count, ...rounded, sink: stats }));
await Promise.all([tracerProvider.shutdown(), loggerProvider.shutdown()]);
process.exit(0);
