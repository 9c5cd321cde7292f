// `bun run traffic`: a steady mix of user lookups against the gateway, so the dashboards and
// alerts have something to show. Prints a rate/error/latency line every second (rewritten in
// place on a terminal, plain lines otherwise); stops on Ctrl-C or after --duration.

import { CliError, exitWithError } from "../cli/errors.ts";
import { envPort, parseDuration, parseFlags, parseHttpUrl, parseNumber } from "../cli/flags.ts";
import { answers } from "./lib/reach.ts";

export type Kind = "found" | "not_found" | "invalid";
const kinds: Kind[] = ["found", "not_found", "invalid"];

// Ids the user-service knows, ids it does not, and ids the services reject as malformed.
const paths: Record<Kind, string[]> = {
  found: ["/user/1", "/user/42", "/user/123", "/user/777"],
  not_found: ["/user/404", "/user/999999", "/user/31337"],
  invalid: ["/user/abc", "/user/0", "/user/12x"],
};

export interface TrafficOptions {
  gateway: string;
  rate: number;
  mix: Record<Kind, number>;
  /** Milliseconds; undefined runs until stopped. */
  durationMs?: number;
}

/** Smooth weighted round-robin: the exact mix, evenly spread (no bursts of one kind). */
export function mixer(mix: Record<Kind, number>): () => Kind {
  const total = kinds.reduce((sum, k) => sum + mix[k], 0);
  const current: Record<Kind, number> = { found: 0, not_found: 0, invalid: 0 };
  return () => {
    let best: Kind = "found";
    for (const k of kinds) {
      current[k] += mix[k];
      if (current[k] > current[best]) best = k;
    }
    current[best] -= total;
    return best;
  };
}

// --- what came back ----------------------------------------------------------------------

/** An answer as api-gateway gives it (apps/api-gateway/src/app.ts), or not one of those. */
export type Answer = Kind | "error" | "other";
const answerKinds: Answer[] = [...kinds, "other", "error"];

const isObject = (body: unknown): body is Record<string, unknown> =>
  typeof body === "object" && body !== null;
const errorOf = (body: unknown) => (isObject(body) ? body.error : undefined);

/**
 * What an answer is, by status and JSON shape: the user (200 {id, name, email}), 404
 * {"error":"user not found"}, 400 {"error":"invalid user id"}; a 5xx is an error; anything
 * else (user-service's 404 {"error":"not found"} for /user/…, another server's page) is other.
 */
export function classify(status: number, body: unknown): Answer {
  if (status >= 500) return "error";
  if (
    status === 200 &&
    isObject(body) &&
    typeof body.id === "number" &&
    typeof body.name === "string" &&
    typeof body.email === "string"
  )
    return "found";
  if (status === 404 && errorOf(body) === "user not found") return "not_found";
  if (status === 400 && errorOf(body) === "invalid user id") return "invalid";
  return "other";
}

// What api-gateway answers each kind of lookup with, for the warning when it did not.
const expected: Record<Kind, string> = {
  found: "200 with the user",
  not_found: '404 {"error":"user not found"}',
  invalid: '400 {"error":"invalid user id"}',
};
const asked: Record<Kind, string> = {
  found: "a user that exists",
  not_found: "a user that does not exist",
  invalid: "a malformed id",
};

/** An answer in a few words: its status and the shape of its body, never more than a line. */
function describeAnswer(status: number, contentType: string, text: string, body: unknown) {
  const error = errorOf(body);
  if (typeof error === "string") return `${status} {"error":${JSON.stringify(error)}}`;
  if (body !== undefined) return `${status} JSON ${JSON.stringify(body).slice(0, 40)}`;
  const type = contentType.split(";")[0] || "no content type";
  const start = text.trim().replace(/\s+/g, " ").slice(0, 30);
  return `${status} ${type}${start ? ` ${JSON.stringify(start)}` : ""}`;
}

interface Counts {
  sent: number;
  done: number;
  /** 5xx answers and requests without an answer (refused, reset, timed out). */
  errors: number;
  /** Answers, but not the one api-gateway gives that lookup (e.g. --gateway is another server). */
  unexpected: number;
  /** Requests sent, by what they asked for. */
  byKind: Record<Kind, number>;
  /** What came back, by the gateway's answer shapes (no answer counts as an error). */
  answers: Record<Answer, number>;
  /** What came back, by HTTP status ("none": no answer). */
  byStatus: Record<string, number>;
}
/** One report interval; latencies are kept per window only, so a long run stays small. */
interface Window extends Counts {
  latencies: number[];
}
const emptyCounts = (): Counts => ({
  sent: 0,
  done: 0,
  errors: 0,
  unexpected: 0,
  byKind: { found: 0, not_found: 0, invalid: 0 },
  answers: { found: 0, not_found: 0, invalid: 0, other: 0, error: 0 },
  byStatus: {},
});
const emptyWindow = (): Window => ({ ...emptyCounts(), latencies: [] });

const quantile = (sorted: number[], q: number) =>
  sorted.length
    ? (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number)
    : 0;
const percent = (n: number, of: number) => `${(of ? (100 * n) / of : 0).toFixed(1)}%`;

/** One status line for a window of `seconds`: what came back, and how fast. */
export function statusLine(w: Window, seconds: number): string {
  const sorted = [...w.latencies].sort((a, b) => a - b);
  const a = w.answers;
  return (
    `${(w.done / seconds).toFixed(1).padStart(6)} req/s  ` +
    `found ${a.found} not_found ${a.not_found} invalid ${a.invalid}` +
    (a.other ? ` other ${a.other}` : "") +
    `  errors ${percent(w.errors, w.done)}  ` +
    (w.unexpected ? `unexpected ${percent(w.unexpected, w.done)}  ` : "") +
    `p50 ${quantile(sorted, 0.5).toFixed(0)} ms  p95 ${quantile(sorted, 0.95).toFixed(0)} ms`
  );
}

/** The totals in two lines: what came back by the gateway's shapes, and by status. */
export function totalLines(total: Counts, gateway: string): string[] {
  const a = total.answers;
  const statuses = Object.entries(total.byStatus)
    .sort(([x], [y]) => x.localeCompare(y))
    .map(([status, n]) => `${status} ${n}`);
  return [
    `traffic: sent ${total.done} requests to ${gateway}: found ${a.found}, not found ${a.not_found}, ` +
      `invalid ${a.invalid}, other ${a.other}; ${total.errors} errors (5xx or no answer)` +
      (total.unexpected ? `; ${total.unexpected} answered unlike api-gateway` : ""),
    `traffic: by status: ${statuses.join(", ") || "none"}`,
  ];
}

export interface TrafficIo {
  write: (text: string) => void;
  isTTY: boolean;
  signal?: AbortSignal;
  /** Seconds between status lines. */
  reportEverySeconds?: number;
}

/** Runs until the duration passes or the signal aborts; returns the totals. */
export async function runTraffic(o: TrafficOptions, io: TrafficIo): Promise<Counts> {
  const next = mixer(o.mix);
  const total = emptyCounts();
  let window = emptyWindow();
  const inFlight = new Set<Promise<void>>();
  const started = performance.now();
  const reportMs = (io.reportEverySeconds ?? 1) * 1000;
  let lastReport = started;
  const print = (line: string) => io.write(io.isTTY ? `\r\x1b[2K${line}` : `${line}\n`);
  // Each kind of mismatch once: a run of 10 000 wrong answers is one warning, not 10 000.
  const warned = new Set<string>();
  const warn = (path: string, kind: Kind, answer: string) => {
    if (warned.has(`${kind} ${answer}`)) return;
    warned.add(`${kind} ${answer}`);
    io.write(
      `${io.isTTY ? "\r\x1b[2K" : ""}traffic: warning: ${path} asks for ${asked[kind]}; the answer was ${answer}, ` +
        `api-gateway answers ${expected[kind]}\n`,
    );
  };

  const send = (kind: Kind) => {
    const list = paths[kind];
    const path = list[(total.sent + window.sent) % list.length] as string;
    window.sent++;
    window.byKind[kind]++;
    const t0 = performance.now();
    const request = fetch(`${o.gateway}${path}`, { signal: AbortSignal.timeout(10_000) })
      .then(async (response) => {
        const text = await response.text();
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        const answer = classify(response.status, body);
        const contentType = response.headers.get("content-type") ?? "";
        if (answer !== kind && answer !== "error")
          warn(path, kind, describeAnswer(response.status, contentType, text, body));
        return { status: String(response.status), answer };
      })
      .catch(() => ({ status: "none", answer: "error" as const }))
      .then(({ status, answer }) => {
        window.done++;
        window.answers[answer]++;
        window.byStatus[status] = (window.byStatus[status] ?? 0) + 1;
        if (answer === "error") window.errors++;
        else if (answer !== kind) window.unexpected++;
        window.latencies.push(performance.now() - t0);
      });
    inFlight.add(request);
    request.finally(() => inFlight.delete(request));
  };

  const flush = () => {
    const now = performance.now();
    print(statusLine(window, (now - lastReport) / 1000));
    total.sent += window.sent;
    total.done += window.done;
    total.errors += window.errors;
    total.unexpected += window.unexpected;
    for (const k of kinds) total.byKind[k] += window.byKind[k];
    for (const a of answerKinds) total.answers[a] += window.answers[a];
    for (const [status, n] of Object.entries(window.byStatus))
      total.byStatus[status] = (total.byStatus[status] ?? 0) + n;
    window = emptyWindow();
    lastReport = now;
  };

  // Open loop: request n is due at n / rate seconds, however slow the answers are.
  const intervalMs = 1000 / o.rate;
  let due = 0;
  const end = o.durationMs === undefined ? Number.POSITIVE_INFINITY : started + o.durationMs;
  while (!io.signal?.aborted) {
    const now = performance.now();
    if (now >= end) break;
    while (started + due * intervalMs <= now) {
      send(next());
      due++;
    }
    if (now - lastReport >= reportMs) flush();
    const wait =
      Math.min(started + due * intervalMs, lastReport + reportMs, end) - performance.now();
    await new Promise((resolve) => setTimeout(resolve, Math.max(1, wait)));
  }
  await Promise.all(inFlight);
  flush();
  if (io.isTTY) io.write("\n");
  return total;
}

/** "found=70,not_found=20,invalid=10" → weights (kinds left out get 0). */
export function parseMix(raw: string): Record<Kind, number> {
  const mix: Record<Kind, number> = { found: 0, not_found: 0, invalid: 0 };
  for (const part of raw.split(",")) {
    const [kind, weight] = part.split("=").map((s) => s.trim());
    if (!kinds.includes(kind as Kind) || !weight || !/^\d+$/.test(weight)) {
      throw new CliError(
        `--mix must look like found=70,not_found=20,invalid=10, got "${raw}"`,
        `${COMMAND} --mix found=70,not_found=20,invalid=10`,
      );
    }
    mix[kind as Kind] = Number(weight);
  }
  if (kinds.every((k) => mix[k] === 0))
    throw new CliError("--mix needs at least one weight above 0", `${COMMAND} --mix found=1`);
  return mix;
}

const COMMAND = "bun run traffic";
/** Where `bun bootstrap/up.ts` publishes the gateway, and where `bun run dev` runs it. */
export const CLUSTER_GATEWAY = "http://localhost:8000";
export const devGateway = (env: Record<string, string | undefined>) =>
  `http://localhost:${envPort(env, "API_GATEWAY_PORT", 4000, "bun run traffic")}`;

/** The options; `gateway` is undefined when not given (then findGateway picks one). */
export function parseOptions(
  argv: string[],
): Omit<TrafficOptions, "gateway"> & { gateway?: string; help: boolean } {
  const { values } = parseFlags(COMMAND, argv, {
    gateway: { type: "string" },
    rate: { type: "string" },
    mix: { type: "string" },
    duration: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  return {
    gateway:
      values.gateway === undefined
        ? undefined
        : parseHttpUrl(values.gateway, "--gateway", `${COMMAND} --gateway ${CLUSTER_GATEWAY}`),
    rate: parseNumber(values.rate ?? "10", "--rate", {
      min: 0.1,
      max: 1000,
      integer: false,
      example: `${COMMAND} --rate 10`,
    }),
    mix: parseMix(values.mix ?? "found=70,not_found=20,invalid=10"),
    durationMs:
      values.duration === undefined
        ? undefined
        : parseDuration(values.duration, "--duration", { min: 100 }),
    help: values.help ?? false,
  };
}

/**
 * The gateway to load: the one given, or the cluster's, or the `bun run dev` one, whichever
 * answers. When none does, say so within seconds, with the likely fix.
 */
export async function findGateway(
  given: string | undefined,
  env: Record<string, string | undefined>,
  note: (line: string) => void,
  windowMs = 3_000,
): Promise<string> {
  const dev = devGateway(env);
  if (given) {
    if (await answers(`${given}/healthz`, windowMs)) return given;
    throw new CliError(
      `nothing answers at ${given}`,
      given === dev
        ? "start the services: bun run dev"
        : `is the cluster up? bun bootstrap/status.ts; for bun run dev: ${COMMAND} --gateway ${dev}`,
    );
  }
  const [cluster, local] = await Promise.all([
    answers(`${CLUSTER_GATEWAY}/healthz`, windowMs),
    answers(`${dev}/healthz`, windowMs),
  ]);
  if (cluster) return CLUSTER_GATEWAY;
  if (local) {
    note(
      `traffic: nothing answers at ${CLUSTER_GATEWAY} (the cluster); using ${dev} (bun run dev)`,
    );
    return dev;
  }
  throw new CliError(
    `nothing answers at ${CLUSTER_GATEWAY} (the cluster's gateway) nor at ${dev} (bun run dev)`,
    `start one: bun bootstrap/up.ts, or bun run dev in another terminal; or name it: ${COMMAND} --gateway <url>`,
  );
}

const usage = `usage: ${COMMAND} [--gateway URL] [--rate N] [--mix found=70,not_found=20,invalid=10] [--duration 5m]

  --gateway URL   the api-gateway (default: ${CLUSTER_GATEWAY}, the cluster's; else the bun run dev one,
                  ${devGateway({})}, when only that answers)
  --rate N        requests per second (default 10, at most 1000)
  --mix ...       weights of found / not_found / invalid lookups
  --duration D    stop after D (e.g. 30s, 5m); default: until Ctrl-C`;

async function main(): Promise<void> {
  const parsed = parseOptions(process.argv.slice(2));
  if (parsed.help) return console.log(usage);
  const gateway = await findGateway(parsed.gateway, process.env, (line) => console.log(line));
  const options: TrafficOptions = { ...parsed, gateway };
  const stop = new AbortController();
  process.on("SIGINT", () => stop.abort());
  process.on("SIGTERM", () => stop.abort());
  const mix = kinds.map((k) => `${k}=${options.mix[k]}`).join(",");
  console.log(
    `traffic: ${options.rate} req/s (${mix}) → ${options.gateway}` +
      (options.durationMs ? ` for ${options.durationMs / 1000} s` : "; Ctrl-C stops"),
  );
  const total = await runTraffic(options, {
    write: (text) => process.stdout.write(text),
    isTTY: Boolean(process.stdout.isTTY),
    signal: stop.signal,
  });
  for (const line of totalLines(total, options.gateway)) console.log(line);
  // Not one answer shaped like api-gateway's: whatever answers there, it is not api-gateway.
  if (total.done > total.errors && total.unexpected === total.done - total.errors)
    throw new CliError(
      `no answer from ${options.gateway} was api-gateway's (200 with the user, 404 "user not found", 400 "invalid user id")`,
      `point --gateway at api-gateway: ${COMMAND} --gateway http://localhost:4000 (bun run dev)`,
    );
  if (total.done > 0 && total.errors === total.done) {
    throw new CliError(
      `every request to ${options.gateway} failed`,
      "is the stack healthy? bun bootstrap/status.ts (for bun run dev: look at its terminal)",
    );
  }
}

if (import.meta.main) await main().catch(exitWithError);
