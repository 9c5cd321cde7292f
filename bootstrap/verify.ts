// `bun bootstrap/verify.ts`: proves telemetry arrives end to end on the running stack.
// Sends lookups to the gateway, each carrying a `traceparent` with a fresh trace id (the
// gateway's server span continues it), then polls Prometheus, Loki and Tempo until they hold
// those requests' metrics, log lines and trace (spans from both services), or the time is up.
// Loki and Tempo are not published on the host (their APIs can stop them): unless --loki and
// --tempo say where they are, verify reaches them through `kubectl port-forward` for its run.

import { CliError, exitWithError } from "../cli/errors.ts";
import { parseDuration, parseFlags, parseHttpUrl, parseNumber } from "../cli/flags.ts";
import { ROUTE, SERVER, services as SERVICES } from "../gitops/dashboards/telemetry-names.ts";
import { type Forward, portForward } from "./lib/port-forward.ts";
import { silent } from "./lib/reach.ts";
import { TARGETS } from "./open.ts";

const GATEWAY_ROUTE = "/user/:id";
const FOUND_USER_ID = 42;

export interface VerifyOptions {
  gateway: string;
  prometheus: string;
  loki: string;
  tempo: string;
  grafana: string;
  timeoutMs: number;
  pollMs: number;
  requests: number;
  /** How long to wait for anything to answer at each address (default: 15 s, within --timeout). */
  reachMs?: number;
}

/** The command line's options: Loki and Tempo without an address are port-forwarded. */
export type CliOptions = Omit<VerifyOptions, "loki" | "tempo"> & {
  loki?: string;
  tempo?: string;
  /** The kube context of those port-forwards (undefined: kubectl's current context). */
  context?: string;
};

export const defaults: Omit<VerifyOptions, "loki" | "tempo"> = {
  gateway: "http://localhost:8000",
  prometheus: "http://localhost:9090",
  grafana: "http://localhost:3000",
  timeoutMs: 180_000,
  pollMs: 2_000,
  requests: 5,
};

/** How long verify waits for anything to answer at all before its --timeout starts. */
export const reachTimeMs = (o: Pick<VerifyOptions, "reachMs" | "timeoutMs">) =>
  Math.min(o.reachMs ?? 15_000, o.timeoutMs);

export type Pillar = "requests" | "metrics" | "logs" | "traces";

export interface PillarResult {
  pillar: Pillar;
  ok: boolean;
  ms: number;
  /** What was found, or what is still missing. */
  detail: string;
}

// A check answers what is still missing (empty: done) or throws while the API is unreachable.
type Check = () => Promise<string[]>;

const randomHex = (bytes: number) =>
  Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");

/** W3C trace context for one tagged request; sampled so every hop records it. */
export function newTraceparent(): { traceId: string; header: string } {
  const traceId = randomHex(16);
  return { traceId, header: `00-${traceId}-${randomHex(8)}-01` };
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON (e.g. Tempo's plain "trace not found"): keep the text.
  }
  return { status: response.status, body };
}

const describeError = (error: unknown) =>
  error instanceof Error
    ? error.cause instanceof Error
      ? error.cause.message
      : error.message
    : String(error);

// --- Prometheus -------------------------------------------------------------------------

interface PromVector {
  status: "success" | "error";
  error?: string;
  data?: {
    resultType: string;
    result: { metric: Record<string, string>; value: [number, string] }[];
  };
}

// Prometheus's OTLP receiver makes service.name the job label (docs/labels.md).
export const requestCountQuery = `sum by (job, ${ROUTE}) (${SERVER}_count{job=~"${SERVICES.join("|")}"})`;

/** Request counts by service (job) and route, from Prometheus's instant query API. */
export async function requestCounts(prometheus: string): Promise<Map<string, number>> {
  const { status, body } = await getJson(
    `${prometheus}/api/v1/query?query=${encodeURIComponent(requestCountQuery)}`,
  );
  const vector = body as PromVector;
  if (status !== 200 || vector.status !== "success") {
    throw new Error(`Prometheus answered ${status}: ${vector.error ?? JSON.stringify(body)}`);
  }
  const counts = new Map<string, number>();
  for (const { metric, value } of vector.data?.result ?? []) {
    counts.set(`${metric.job} ${metric[ROUTE]}`, Number(value[1]));
  }
  return counts;
}

// The count is of every gateway lookup in the window, not only the tagged ones (a counter has
// no trace ids): other traffic can make it grow too, but it cannot grow unless metrics flow.
function metricsCheck(o: VerifyOptions, before: Map<string, number>, sent: number): Check {
  const gatewayKey = `api-gateway ${GATEWAY_ROUTE}`;
  return async () => {
    const counts = await requestCounts(o.prometheus);
    const missing: string[] = [];
    for (const service of SERVICES) {
      if (![...counts.keys()].some((key) => key.startsWith(`${service} `))) {
        missing.push(`${SERVER}_count{job="${service}"}`);
      }
    }
    const grown = (counts.get(gatewayKey) ?? 0) - (before.get(gatewayKey) ?? 0);
    if (grown < sent) {
      missing.push(`${sent - Math.max(grown, 0)} of ${sent} gateway requests in the request count`);
    }
    return missing;
  };
}

// --- Loki -------------------------------------------------------------------------------

interface LokiStreams {
  status: string;
  data?: {
    resultType: string;
    result: { stream: Record<string, string>; values: [string, string, unknown?][] }[];
  };
}

/** Log lines of the services with these trace ids. Loki indexes service.name as service_name;
 * OTLP log records keep trace_id as structured metadata: filtered after the selector. */
export const logsQuery = (traceIds: string[]) =>
  `{service_name=~"${SERVICES.join("|")}"} | trace_id=~"${traceIds.join("|")}"`;

function logsCheck(o: VerifyOptions, traceIds: string[], sentAtMs: number): Check {
  const query = logsQuery(traceIds);
  return async () => {
    const params = new URLSearchParams({
      query,
      start: String(BigInt(sentAtMs - 60_000) * 1_000_000n),
      end: String(BigInt(Date.now() + 60_000) * 1_000_000n),
      limit: "500",
      direction: "backward",
    });
    const { status, body } = await getJson(`${o.loki}/loki/api/v1/query_range?${params}`);
    const streams = body as LokiStreams;
    if (status !== 200 || streams.status !== "success") {
      throw new Error(
        `Loki answered ${status}: ${typeof body === "string" ? body.trim() : JSON.stringify(body)}`,
      );
    }
    const services = new Set(
      (streams.data?.result ?? [])
        .filter((s) => s.values.length > 0)
        .map((s) => s.stream.service_name),
    );
    return SERVICES.filter((s) => !services.has(s)).map(
      (s) => `log lines of ${s} with the trace ids`,
    );
  };
}

// --- Tempo ------------------------------------------------------------------------------

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string };
}
interface TempoTrace {
  batches?: TempoBatch[];
  resourceSpans?: TempoBatch[];
}
interface TempoBatch {
  resource?: { attributes?: OtlpAttribute[] };
  scopeSpans?: { spans?: unknown[] }[];
  instrumentationLibrarySpans?: { spans?: unknown[] }[];
}

/** Services with at least one span in a trace as Tempo's /api/traces/<id> returns it. */
export function servicesInTrace(trace: TempoTrace): Set<string> {
  const found = new Set<string>();
  for (const batch of trace.batches ?? trace.resourceSpans ?? []) {
    const name = batch.resource?.attributes?.find((a) => a.key === "service.name")?.value
      .stringValue;
    const spans = [
      ...(batch.scopeSpans ?? []),
      ...(batch.instrumentationLibrarySpans ?? []),
    ].flatMap((s) => s.spans ?? []);
    if (name && spans.length > 0) found.add(name);
  }
  return found;
}

function tracesCheck(o: VerifyOptions, traceIds: string[]): Check {
  return async () => {
    let best = new Set<string>();
    for (const id of traceIds) {
      const { status, body } = await getJson(`${o.tempo}/api/traces/${id}`);
      if (status === 404) continue; // not ingested (or not flushed to the querier) yet
      if (status !== 200) throw new Error(`Tempo answered ${status}: ${String(body).trim()}`);
      const services = servicesInTrace(body as TempoTrace);
      if (services.size > best.size) best = services;
      if (SERVICES.every((s) => services.has(s))) return [];
    }
    return SERVICES.filter((s) => !best.has(s)).map((s) => `spans of ${s} in a tagged trace`);
  };
}

// --- driver -----------------------------------------------------------------------------

/** Grafana Explore showing one trace from the Tempo datasource. */
export function grafanaTraceLink(grafana: string, traceId: string): string {
  const panes = {
    trace: {
      datasource: "tempo",
      queries: [
        {
          refId: "A",
          datasource: { type: "tempo", uid: "tempo" },
          queryType: "traceql",
          query: traceId,
        },
      ],
      range: { from: "now-1h", to: "now" },
    },
  };
  return `${grafana}/explore?schemaVersion=1&orgId=1&panes=${encodeURIComponent(JSON.stringify(panes))}`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Runs a check until it reports nothing missing or the deadline passes.
async function poll(
  pillar: Pillar,
  check: Check,
  started: number,
  deadline: number,
  pollMs: number,
) {
  let missing: string[] = ["no answer yet"];
  for (;;) {
    try {
      missing = await check();
    } catch (error) {
      missing = [`no answer: ${describeError(error)}`];
    }
    const ms = performance.now() - started;
    if (missing.length === 0)
      return { pillar, ok: true, ms, detail: "found" } satisfies PillarResult;
    if (performance.now() + pollMs > deadline) {
      return {
        pillar,
        ok: false,
        ms,
        detail: `missing ${missing.join("; ")}`,
      } satisfies PillarResult;
    }
    await sleep(pollMs);
  }
}

// Sends the tagged lookups; retries while the gateway is not answering yet.
async function sendRequests(
  o: VerifyOptions,
  traceparents: { header: string }[],
  deadline: number,
) {
  let lastProblem = "";
  for (const { header } of traceparents) {
    for (;;) {
      try {
        const response = await fetch(`${o.gateway}/user/${FOUND_USER_ID}`, {
          headers: { traceparent: header },
          signal: AbortSignal.timeout(5_000),
        });
        await response.arrayBuffer();
        if (response.ok) break;
        lastProblem = `gateway answered ${response.status}`;
      } catch (error) {
        lastProblem = `gateway not reachable: ${describeError(error)}`;
      }
      if (performance.now() + o.pollMs > deadline) throw new Error(lastProblem);
      await sleep(o.pollMs);
    }
  }
}

export async function verify(
  o: VerifyOptions,
  report: (line: string) => void = console.log,
): Promise<{ ok: boolean; results: PillarResult[]; traceId: string }> {
  // Nothing listening at all (cluster down, wrong port) is said within seconds, not at the timeout.
  const nobody = await silent(
    [
      // Probe paths that stay out of the telemetry being verified; any HTTP answer will do.
      { name: "api-gateway", url: o.gateway, path: "/healthz" },
      { name: "Prometheus", url: o.prometheus, path: "/-/ready" },
      { name: "Loki", url: o.loki, path: "/ready" },
      { name: "Tempo", url: o.tempo, path: "/ready" },
    ],
    reachTimeMs(o),
  );
  if (nobody.length > 0) {
    throw new CliError(
      `nothing answers at ${nobody.join(", ")}; tried for ${reachTimeMs(o) / 1000} s`,
      "is the cluster up? bun bootstrap/status.ts (bun bootstrap/up.ts starts it; verify needs its Prometheus, Loki and Tempo; other addresses: --gateway, --prometheus, --loki, --tempo)",
    );
  }
  const started = performance.now();
  const deadline = started + o.timeoutMs;
  const tagged = Array.from({ length: o.requests }, newTraceparent);
  const traceIds = tagged.map((t) => t.traceId);
  const traceId = traceIds[0] as string;
  const line = (r: PillarResult) =>
    `${r.ok ? "PASS" : "FAIL"} ${r.pillar.padEnd(8)} ${(r.ms / 1000).toFixed(1).padStart(5)} s  ${r.detail}`;

  // Counts before sending, so the check sees these requests rather than older traffic.
  const before = await requestCounts(o.prometheus).catch(() => new Map<string, number>());
  const sentAtMs = Date.now();
  try {
    await sendRequests(o, tagged, deadline);
  } catch (error) {
    const result: PillarResult = {
      pillar: "requests",
      ok: false,
      ms: performance.now() - started,
      detail: `${o.requests} tagged requests to ${o.gateway} not answered: ${describeError(error)}`,
    };
    report(line(result));
    return { ok: false, results: [result], traceId };
  }
  const sent: PillarResult = {
    pillar: "requests",
    ok: true,
    ms: performance.now() - started,
    detail: `${o.requests} tagged lookups answered by ${o.gateway}`,
  };
  report(line(sent));

  const checks: [Pillar, Check][] = [
    ["metrics", metricsCheck(o, before, o.requests)],
    ["logs", logsCheck(o, traceIds, sentAtMs)],
    ["traces", tracesCheck(o, traceIds)],
  ];
  const results = await Promise.all(
    checks.map(([pillar, check]) =>
      poll(pillar, check, started, deadline, o.pollMs).then((r) => {
        report(line(r));
        return r;
      }),
    ),
  );
  const ok = results.every((r) => r.ok);
  report(`trace in Grafana: ${grafanaTraceLink(o.grafana, traceId)}`);
  if (!ok) {
    report(
      `verify: telemetry incomplete after ${Math.round(o.timeoutMs / 1000)} s: ` +
        results
          .filter((r) => !r.ok)
          .map((r) => `${r.pillar} (${r.detail})`)
          .join(", "),
    );
  }
  return { ok, results: [sent, ...results], traceId };
}

const usage = `usage: bun bootstrap/verify.ts [flags]

  --timeout <duration>        how long to wait for all signals (default 180s; e.g. 300, 5m),
                              after up to 15 s (or the timeout, if shorter) for the four
                              addresses to answer at all: nothing there stops it then
  --poll-interval <duration>  how often to ask each backend (default 2s)
  --requests <n>              tagged lookups to send (default 5)
  --gateway <url>             api-gateway (default ${defaults.gateway})
  --prometheus <url>          Prometheus (default ${defaults.prometheus})
  --loki <url>                Loki (default: a kubectl port-forward to svc/loki-gateway)
  --tempo <url>               Tempo (default: a kubectl port-forward to svc/tempo)
  --context <ctx>             the cluster of those port-forwards (default: kubectl's current context)
  --grafana <url>             Grafana, for the trace link (default ${defaults.grafana})
  -h, --help                  show this help

A duration is a number with an optional unit: ms, s (the default), m or h.`;

export const flags = {
  timeout: { type: "string" },
  "poll-interval": { type: "string" },
  requests: { type: "string" },
  gateway: { type: "string" },
  prometheus: { type: "string" },
  loki: { type: "string" },
  tempo: { type: "string" },
  context: { type: "string" },
  grafana: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const COMMAND = "bun bootstrap/verify.ts";

/** Options from the command line; throws a CliError (problem and fix) on bad input. */
export function parseOptions(argv: string[]): CliOptions {
  const { values } = parseFlags(COMMAND, argv, flags);
  const url = (name: "gateway" | "prometheus" | "grafana") =>
    parseHttpUrl(
      values[name] ?? defaults[name],
      `--${name}`,
      `${COMMAND} --${name} ${defaults[name]}`,
    );
  const forwardable = (name: "loki" | "tempo", example: string) =>
    values[name] === undefined
      ? undefined
      : parseHttpUrl(values[name], `--${name}`, `${COMMAND} --${name} ${example}`);
  return {
    gateway: url("gateway"),
    prometheus: url("prometheus"),
    loki: forwardable("loki", "http://localhost:3100"),
    tempo: forwardable("tempo", "http://localhost:3200"),
    context: values.context,
    grafana: url("grafana"),
    timeoutMs: values.timeout
      ? parseDuration(values.timeout, "--timeout", { min: 1000 })
      : defaults.timeoutMs,
    pollMs: values["poll-interval"]
      ? parseDuration(values["poll-interval"], "--poll-interval", { min: 10 })
      : defaults.pollMs,
    requests: values.requests
      ? parseNumber(values.requests, "--requests", {
          min: 1,
          max: 1000,
          example: `${COMMAND} --requests 5`,
        })
      : defaults.requests,
  };
}

/**
 * The addresses of Loki and Tempo: the given ones, or port-forwards (stopped by `stop`) on the
 * chosen context. The Services are the charts' (bootstrap/open.ts TARGETS).
 */
export async function reachBackends(
  o: CliOptions,
  cwd: string,
): Promise<{ options: VerifyOptions; stop: () => void }> {
  const forwards: Forward[] = [];
  const stop = () => {
    for (const f of forwards) f.stop();
  };
  const address = async (name: "loki" | "tempo") => {
    const given = o[name];
    if (given) return given;
    // The Service, not open.ts's laptop port: kubectl picks a free one, so a forward of yours stays.
    const { namespace, service, servicePort } = TARGETS[name] as (typeof TARGETS)[string];
    const forward = await portForward({ namespace, service, servicePort }, o.context, {
      cwd,
      fix: `is the stack up there? bun bootstrap/status.ts${o.context ? ` --context ${o.context}` : ""} (verify port-forwards Loki and Tempo with kubectl${o.context ? "" : " on its current context; --context picks another"}; or give --loki and --tempo)`,
    });
    forwards.push(forward);
    return forward.url;
  };
  try {
    const [loki, tempo] = [await address("loki"), await address("tempo")];
    return { options: { ...o, loki, tempo }, stop };
  } catch (error) {
    stop();
    throw error;
  }
}

if (import.meta.main) {
  let stop = () => {};
  try {
    const cli = parseOptions(process.argv.slice(2));
    if (process.argv.includes("--help") || process.argv.includes("-h")) {
      console.log(usage);
      process.exit(0);
    }
    const reached = await reachBackends(cli, import.meta.dir);
    stop = reached.stop;
    const options = reached.options;
    console.log(
      // Both waits, up front: a dead address ends the first, not the second.
      `verify: tagged requests → ${options.gateway}; waiting up to ${reachTimeMs(options) / 1000} s for the gateway, Prometheus, Loki and Tempo to answer, then up to ${options.timeoutMs / 1000} s for metrics, logs and traces`,
    );
    const { ok } = await verify(options);
    stop();
    process.exit(ok ? 0 : 1);
  } catch (error) {
    stop();
    exitWithError(error);
  }
}
