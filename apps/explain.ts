// `bun run explain [path] [--json]`: sends one request through the running dev services
// (`bun run dev`), reads its trace back from dev's receiver (GET /dev/traces/<id>), and prints
// per signal what the services emitted and what Prometheus, Loki and Tempo hold of it after the
// Collector as gitops/values configures it, each with a query and a Grafana Explore link
// (apps/backend-report.ts). docs/explain.md says how to read it.
import { SERVICES } from "../bootstrap/lib/names.ts";
import { CliError, exitWithError, formatDuration } from "../cli/errors.ts";
import { envPort, parseDuration, parseFlags } from "../cli/flags.ts";
import type { LogRecord, MetricPoint, Span } from "../model/collected.ts";
import type { Pod } from "../model/collector.ts";
import {
  explainTrace,
  formatReport,
  laptopGrafana,
  podAttributes,
  type TraceTelemetry,
} from "./backend-report.ts";
import { untracedPaths } from "./telemetry/index.ts";

const command = "bun run explain";
const HELP = `usage: ${command} [path] [--json] [--wait <duration>]

Sends GET <path> (default /user/123) to the api-gateway of the running \`bun run dev\`, waits
for its trace at dev's receiver, and prints per signal what was emitted and what Prometheus,
Loki and Tempo hold of it in the cluster, with PromQL, LogQL and TraceQL queries and Grafana
Explore links (docs/explain.md).

Flags:
  --json             the same report as JSON, for scripts
  --wait <duration>  how long to wait for the trace and its metric points (default 10s)
  -h, --help         show this help

Settings: DEV_RECEIVER_PORT (default 4318), as for bun run dev.`;

/** What GET /dev/traces/<id> answers (docs: the dev receiver's query API). */
interface DevTrace {
  traceId: string;
  complete: boolean;
  spans: Span[];
  logs: LogRecord[];
  metrics: MetricPoint[];
}

// Nothing listening answers at once (connection refused); anything slower than this is not dev.
const statusTimeoutMs = 1500;
// The gateway's own upstream timeout is 2 s (UPSTREAM_TIMEOUT_MS); a slower answer is a hang.
const requestTimeoutMs = 5000;
const pollMs = 100;

const describe = (error: unknown) => {
  const { name, code, message } = error as { name?: string; code?: string; message?: string };
  if (name === "TimeoutError") return "no answer in time";
  if (code === "ConnectionRefused" || code === "ECONNREFUSED") return "connection refused";
  return message ?? String(error);
};

/** The dev receiver's status: where dev's gateway listens. */
async function devStatus(receiver: string): Promise<{ gateway: string }> {
  const url = `${receiver}/dev/status`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(statusTimeoutMs) });
  } catch (error) {
    throw new CliError(
      `no dev services running: nothing answers at ${receiver} (dev's receiver, DEV_RECEIVER_PORT; ${describe(error)})`,
      `start them in another terminal with bun run dev, then run ${command} again`,
    );
  }
  const body = (await response.json().catch(() => undefined)) as { gateway?: unknown } | undefined;
  if (!response.ok || typeof body?.gateway !== "string")
    throw new CliError(
      `${receiver} answers, but not as bun run dev's receiver (GET /dev/status: ${response.status})`,
      "dev runs its receiver only without OTEL_EXPORTER_OTLP_ENDPOINT: restart bun run dev without it, or set DEV_RECEIVER_PORT to the port dev uses",
    );
  return { gateway: body.gateway };
}

interface Answer {
  url: string;
  status: number;
  body: string;
  traceId: string;
  durationMs: number;
}

/** GET <path> at the gateway; the trace id from its W3C Trace Context Level 2 traceresponse. */
async function send(gateway: string, path: string): Promise<Answer> {
  const url = `${gateway}${path}`;
  const started = performance.now();
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(requestTimeoutMs) });
  } catch (error) {
    throw new CliError(
      `dev's api-gateway at ${gateway} did not answer GET ${path} (${describe(error)})`,
      "look at bun run dev's terminal for why; restart it if a service stopped",
    );
  }
  const body = await response.text();
  const durationMs = performance.now() - started;
  const traceresponse = response.headers.get("traceresponse") ?? "";
  const traceId = /^00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(traceresponse)?.[1];
  // The answer of service-kit's handler for a path no route matches.
  const error = (() => {
    try {
      return (JSON.parse(body) as { error?: unknown }).error;
    } catch {
      return undefined;
    }
  })();
  if (response.status === 404 && error === "not found")
    throw new CliError(
      `${path} is not a route of api-gateway (it answered 404 "not found")`,
      `ask for one of its routes, GET /user/:id: ${command} /user/123`,
    );
  if (!traceId)
    throw new CliError(
      `api-gateway answered ${response.status} without a traceresponse header: nothing traced the request`,
      "restart bun run dev without OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none (telemetry off, or no trace exporter)",
    );
  return { url, status: response.status, body, traceId, durationMs };
}

/** What an incomplete trace still lacks, in words. */
function missing(trace: DevTrace): string {
  const ids = new Set(trace.spans.map((s) => s.spanId));
  const orphans = trace.spans.filter((s) => s.parentSpanId && !ids.has(s.parentSpanId));
  if (!trace.spans.some((s) => !s.parentSpanId)) return "its root span";
  if (orphans.length)
    return orphans
      .map((s) => `the parent of ${s.resource.attributes["service.name"]} "${s.name}"`)
      .join(", ");
  return "spans still arriving";
}

/**
 * The services with spans in the trace but no metric point yet: dev attaches each service's first
 * metric export after the request, and the services export on their own intervals.
 */
function metricsMissing(trace: DevTrace): string[] {
  const service = (r: { resource: { attributes: Record<string, string> } }) =>
    r.resource.attributes["service.name"] ?? "";
  const reported = new Set(trace.metrics.map(service));
  return [...new Set(trace.spans.map(service))].filter((s) => !reported.has(s));
}

/** The trace from dev's receiver once it is complete and its metric points are in. */
async function waitForTrace(receiver: string, traceId: string, waitMs: number): Promise<DevTrace> {
  const deadline = Date.now() + waitMs;
  let last: DevTrace | undefined;
  let lastProblem = "";
  for (;;) {
    try {
      const response = await fetch(`${receiver}/dev/traces/${traceId}`, {
        signal: AbortSignal.timeout(Math.max(100, Math.min(1000, deadline - Date.now()))),
      });
      if (response.ok) {
        last = (await response.json()) as DevTrace;
        if (last.complete && metricsMissing(last).length === 0) return last;
      } else if (response.status !== 404) {
        lastProblem = `GET /dev/traces/${traceId}: ${response.status} ${(await response.text()).trim()}`;
      }
    } catch (error) {
      lastProblem = `dev's receiver: ${describe(error)}`;
    }
    if (Date.now() + pollMs > deadline) break;
    await Bun.sleep(pollMs);
  }
  const waited = formatDuration(waitMs);
  const again = `${command} --wait ${Math.ceil((waitMs * 3) / 1000)}s`;
  if (!last)
    throw new CliError(
      `trace ${traceId} did not reach dev's receiver within ${waited}${lastProblem ? ` (${lastProblem})` : ""}`,
      `dev shows only what the services export over OTLP: check that bun run dev's first lines say traces go to its receiver (no OTEL_TRACES_EXPORTER=none or console), then ${again}`,
    );
  if (!last.complete)
    throw new CliError(
      `trace ${traceId} is incomplete after ${waited}: ${last.spans.length} spans in, waiting for ${missing(last)}`,
      `a service may have exported late or lost spans (bun run dev's terminal says); try ${again}`,
    );
  console.error(
    `warning: no metric point from ${metricsMissing(last).join(" or ")} arrived within ${waited}; the report lacks its Prometheus series (is OTEL_METRICS_EXPORTER set in bun run dev's environment?)`,
  );
  return last;
}

/**
 * The pods the services run in on the cluster, which the Collector looks up: rendered with helm,
 * offline. Where no helm runs (the pinned one is a Linux x86-64 binary), why, for the report.
 */
async function renderedPods(): Promise<Record<string, Pod> | CliError> {
  try {
    // Imported here, not above: --help and bad input never reach for helm.
    const { renderPod } = await import("../gitops/pipeline/capture.ts");
    const rendered = await Promise.all(SERVICES.map(renderPod));
    return Object.fromEntries(rendered.map(({ pod }, i) => [SERVICES[i], pod]));
  } catch (error) {
    if (error instanceof CliError) return error;
    // A helm on PATH that runs but cannot render the chart: the report goes on without the pods.
    const lines = String((error as Error).message ?? error).split("\n");
    const said = lines.length > 1 ? `: ${lines.at(-1)?.trim()}` : "";
    return new CliError(
      `${lines[0]?.replace(/:$/, "")}${said}`,
      "check that `helm template service gitops/charts/service` works with it",
    );
  }
}

async function main() {
  const { values, positionals } = parseFlags(
    command,
    process.argv.slice(2),
    {
      json: { type: "boolean" },
      wait: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    { positionals: true },
  );
  if (values.help) return console.log(HELP);
  if (positionals.length > 1)
    throw new CliError(
      `one path at a time, got ${positionals.length}: ${positionals.join(" ")}`,
      `${command} ${positionals[0]}`,
    );
  const path = positionals[0] ?? "/user/123";
  if (!path.startsWith("/"))
    throw new CliError(
      `the path must start with /, got ${JSON.stringify(path)}`,
      `${command} /${path.replace(/^[a-z]+:\/\/[^/]*\/?/i, "")}`,
    );
  // The services leave their probes out of traces and metrics (telemetry's untracedPaths).
  const { pathname } = new URL(path, "http://gateway");
  if (untracedPaths.has(pathname))
    throw new CliError(
      `${pathname} is a probe of the services: probes are not traced, by design, so there is no trace to explain`,
      `ask for a route instead: ${command} /user/123`,
    );
  const waitMs = values.wait
    ? parseDuration(values.wait, "--wait", { min: 100, max: 600_000 })
    : 10_000;
  const receiver = `http://127.0.0.1:${envPort(process.env, "DEV_RECEIVER_PORT", 4318, command)}`;

  const { gateway } = await devStatus(receiver);
  const rendering = renderedPods();
  const answer = await send(gateway, path);
  const trace = await waitForTrace(receiver, answer.traceId, waitMs);
  const telemetry: TraceTelemetry = trace;
  const grafana = laptopGrafana();
  const pods = await rendering;
  const report = explainTrace(telemetry, pods instanceof CliError ? undefined : pods, grafana);
  // One line instead of the cluster's labels: which they are, and why they are missing here.
  const note =
    pods instanceof CliError
      ? `without the pods (${pods.message.replace(/^helm: /, "")}), the report lacks what the Collector's k8s_attributes adds from them on the cluster: ${podAttributes(telemetry).join(", ")}; ${pods.fix}`
      : undefined;
  const request = {
    method: "GET",
    url: answer.url,
    status: answer.status,
    durationMs: Number(answer.durationMs.toFixed(1)),
  };
  if (values.json)
    return console.log(
      JSON.stringify({ request, grafana: grafana.url, ...(note && { note }), ...report }, null, 2),
    );
  console.log(
    `GET ${path} → ${answer.status} from api-gateway in ${request.durationMs} ms, trace ${answer.traceId}\n` +
      "What the backends hold of it in the cluster: the services' telemetry through the Collector as\n" +
      "gitops/values configures it, with the pods gitops/charts/service renders. The links open the\n" +
      `laptop stack's Grafana (${grafana.url}; bun bootstrap/open.ts grafana on a cluster without ports).\n`,
  );
  if (note) console.log(`note: ${note}\n`);
  process.stdout.write(formatReport(report));
}

await main().catch(exitWithError);
