// `bun run trace <id>`: one trace from the receiver of a running `bun run dev`
// (docs/services.md#the-dev-receiver): its spans as a tree with their log records, and the metric
// points the request touched. The id may be pasted as it came: a trace id, a `traceresponse`
// header value, or a log line holding a trace_id.
import { CliError, exitWithError } from "../cli/errors.ts";
import { envPort, parseFlags } from "../cli/flags.ts";
import type { MetricPoint } from "../model/collected.ts";
import {
  defaultDevReceiverPort,
  isTraceId,
  type TraceDetail,
  type TraceSummary,
} from "./dev-receiver.ts";
import { traceTree } from "./dev-view.ts";

const usage = `usage: bun run trace <trace id>

Prints one trace kept by a running \`bun run dev\`: the spans as a tree with their log records,
then the metric points of the exports after the request (other requests in the same export
interval may have changed them too). The id may be pasted as it came:
  bun run trace 4bf92f3577b34da6a3ce929d0e0e4736
  bun run trace 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01   (a traceresponse header)
  bun run trace '{"level":"info",...,"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736",...}'

settings (environment variables):
  DEV_RECEIVER_PORT   where dev's receiver listens on 127.0.0.1 (default ${defaultDevReceiverPort})`;

// Bounded waits: for dev to answer at all, and for a trace still arriving to complete.
const answerWithinMs = 2000;
const completeWithinMs = 2000;
const arriveWithinMs = 1000;

/** The one trace id (32 hex digits) in what was pasted, or undefined. */
export function traceIdIn(text: string): string | undefined {
  const ids = new Set(
    [...text.matchAll(/(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])/gi)].map((m) => m[0].toLowerCase()),
  );
  const [id] = ids;
  return ids.size === 1 && id && isTraceId(id) ? id : undefined;
}

async function main(argv: string[]) {
  const { values, positionals } = parseFlags(
    "bun run trace",
    argv,
    { help: { type: "boolean", short: "h" } },
    { positionals: true },
  );
  if (values.help) return console.log(usage);
  const port = envPort(process.env, "DEV_RECEIVER_PORT", defaultDevReceiverPort, "bun run trace");
  const pasted = positionals.join(" ").trim();
  if (!pasted)
    throw new CliError(
      "which trace? bun run trace needs a trace id",
      "bun run trace <id>, the id from a response's traceresponse header or a log line's trace_id",
    );
  const traceId = traceIdIn(pasted);
  if (!traceId)
    throw new CliError(
      `${JSON.stringify(pasted.length > 80 ? `${pasted.slice(0, 77)}...` : pasted)} holds no trace id (32 hex digits, once)`,
      "bun run trace <id>, the id from a response's traceresponse header or a log line's trace_id",
    );
  const base = `http://127.0.0.1:${port}`;
  // A response just answered: its spans may still be on their way (dev exports every 100 ms).
  let trace = await ask<TraceDetail>(base, `/dev/traces/${traceId}`, port, arriveWithinMs);
  // Just answered: wait (bounded) until its spans are all in and each service's metrics came.
  const deadline = Date.now() + completeWithinMs;
  while (!settled(trace) && Date.now() < deadline) {
    await Bun.sleep(100);
    trace = await ask<TraceDetail>(base, `/dev/traces/${traceId}`, port);
  }
  console.log(render(trace).join("\n"));
}

const servicesOf = (trace: TraceDetail, of: "spans" | "metrics") =>
  new Set(trace[of].map((record) => record.resource.attributes["service.name"]));
const settled = (trace: TraceDetail) =>
  trace.complete && servicesOf(trace, "metrics").size === servicesOf(trace, "spans").size;

/** GET from dev's receiver; every way it can fail is an error and a fix. */
async function ask<T>(base: string, path: string, port: number, waitMs = 0): Promise<T> {
  // A collector of the user's own on 4318, say: dev then sends to it and keeps nothing.
  const notDev = new CliError(
    `what answers on 127.0.0.1:${port} is not bun run dev's receiver (a collector?)`,
    `run dev's receiver on another port, without OTEL_EXPORTER_OTLP_ENDPOINT: DEV_RECEIVER_PORT=${port + 1} bun run dev, then DEV_RECEIVER_PORT=${port + 1} bun run trace <id>`,
  );
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(answerWithinMs) });
  } catch (error) {
    const timedOut = (error as Error).name === "TimeoutError";
    throw new CliError(
      timedOut
        ? `bun run dev's receiver on 127.0.0.1:${port} did not answer within ${answerWithinMs / 1000} s`
        : `bun run dev is not running: nothing answers on 127.0.0.1:${port} (DEV_RECEIVER_PORT)`,
      // With OTEL_EXPORTER_OTLP_ENDPOINT set, dev sends everything to that collector instead.
      "start it in another terminal: bun run dev (without OTEL_EXPORTER_OTLP_ENDPOINT, which sends telemetry to a collector instead of dev's receiver)",
    );
  }
  const body = (await response.json().catch(() => undefined)) as
    | (T & { error?: string })
    | undefined;
  if (response.ok && body) return body;
  if (response.status === 404 && body?.error?.startsWith("trace ")) {
    if (waitMs > 0) {
      await Bun.sleep(100);
      return ask<T>(base, path, port, waitMs - 100);
    }
    const [newest] = await ask<TraceSummary[]>(base, "/dev/traces", port);
    // Which receiver was asked: a second dev on another DEV_RECEIVER_PORT keeps other traces.
    const otherDev = `; a dev on another port: DEV_RECEIVER_PORT=<its port> bun run trace ${traceIdIn(path) ?? "<id>"}`;
    throw new CliError(
      `${body.error} (asked ${base}, DEV_RECEIVER_PORT=${port})`,
      (newest
        ? `bun run trace with the id of a recent response; the newest dev keeps: bun run trace ${newest.traceId}`
        : "send a request first (curl -si localhost:4000/user/123), then bun run trace with its traceresponse") +
        otherDev,
    );
  }
  throw notDev;
}

const unitText = (unit: string) => (unit === "1" || unit === "" ? "" : ` ${unit}`);

/** A metric point in one line: service, name, attributes, and what it has counted so far. */
function pointLine(point: MetricPoint): string {
  const attributes = Object.entries(point.attributes)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  const total =
    point.type === "histogram"
      ? `count ${point.count}  sum ${Number(point.sum?.toPrecision(4))}${unitText(point.unit)}`
      : `${point.value}${unitText(point.unit)}`;
  const service = point.resource.attributes["service.name"] ?? "?";
  return `  ${service.padEnd(12)}  ${point.metric} ${point.type}  {${attributes}}  ${total}`;
}

function render(trace: TraceDetail): string[] {
  const spans = trace.spans.map((span) => ({ ...span, resource: span.resource.attributes }));
  const { lines } = traceTree(trace.traceId, spans, trace.logs);
  if (!trace.complete)
    lines.push(
      `  (still arriving after ${completeWithinMs / 1000} s: a span's parent is missing, or spans keep coming)`,
    );
  // Metric points carry no trace id, so which of them this request fed cannot be told apart from
  // what another request added in the same export interval; narrowing them by the spans'
  // attributes would drop points that are the request's own (user.lookups{outcome} has no span
  // attribute to match). So the header says what the list is.
  lines.push(
    "",
    "── metric points of the exports after this request (totals since each service started;",
    "   other requests in the same export interval may have changed some of them, or added their own)",
  );
  lines.push(...trace.metrics.map(pointLine));
  const missing = [...servicesOf(trace, "spans")].filter(
    (service) => !servicesOf(trace, "metrics").has(service),
  );
  if (missing.length)
    lines.push(`  (no metric export from ${missing.join(", ")} after this request yet)`);
  return lines;
}

if (import.meta.main) await main(process.argv.slice(2)).catch(exitWithError);
