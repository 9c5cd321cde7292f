// `bun run bench`: what the services' telemetry costs, measured against the uninstrumented limit.
// Three configurations of api-gateway → user-service run side by side as real processes:
//   on   telemetry exporting to a live OTLP sink (bench/otlp-sink.ts, its own process)
//   off  OTEL_SDK_DISABLED=true (no providers, no instrumentation)
//   down telemetry on, collector unreachable (a closed port)
// Each is warmed up, then loaded in interleaved rounds (on, off, down, on, …) so drift on a
// noisy machine hits all alike: closed loop at fixed connections (wrk, or the Bun client), then
// open loop at half the uninstrumented capacity and at half the slowest one's. All of it twice:
// at the services' default query latency (realistic) and at QUERY_LATENCY_MS=1 (CPU-bound), unless
// --query-latency-ms picks one. Results: a table per regime, and bench/results/latest.json.
import { existsSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, resolve } from "node:path";
import type { Subprocess } from "bun";
import { freePort } from "../apps/telemetry/testing/process.ts";
import { CliError, exitWithError } from "../cli/errors.ts";
import { parseFlags, parseNumber } from "../cli/flags.ts";
import { cpuTimeMs, machine, rssMb } from "./proc.ts";
import {
  buildReport,
  type ConfigName,
  configNames,
  type Delivered,
  formatTable,
  type Report,
  type Rss,
  type Run,
  type ServiceName,
  services,
} from "./report.ts";
import { type LoadResult, median } from "./stats.ts";
import { runWrk } from "./wrk.ts";

const COMMAND = "bun run bench";
const usage = `usage: bun run bench [--duration S] [--rounds N] [--warmup S] [--connections C]
       [--query-latency-ms MS] [--client wrk|bun] [--memory-limit-mb MB]
       [--service-env NAME=VALUE]... [--apps DIR] [--out FILE]

Measures what the instrumentation costs: the services with telemetry on, off, and with the
collector down, under the same load; writes the ratios to --out (docs/performance.md).

  --duration S, --rounds N, --warmup S, --connections C
                     seconds per round (15), rounds per regime (3), warm-up seconds (15), and
                     concurrent connections (32)
  --client wrk|bun   the load generator (default wrk when installed)
  --out FILE         where the results go (default bench/results/latest.json)
  --query-latency-ms runs one regime at that latency (default: the service's default, then 1).
  --memory-limit-mb sizes the services' JavaScript heap as a pod's memory limit does (Bun reads
    the cgroup limit; default 256, the chart's limit; 0 leaves it to the machine's RAM).
  --service-env adds a variable to every service (e.g. OTEL_BSP_MAX_EXPORT_BATCH_SIZE=1024),
    to measure a setting.
  --apps runs the services from another checkout's apps/ folder (before/after comparisons).
  -h, --help         this text`;

function options() {
  const { values } = parseFlags(COMMAND, Bun.argv.slice(2), {
    duration: { type: "string", default: "15" },
    rounds: { type: "string", default: "3" },
    warmup: { type: "string", default: "15" },
    connections: { type: "string", default: "32" },
    "query-latency-ms": { type: "string" },
    client: { type: "string" },
    "service-env": { type: "string", multiple: true, default: [] },
    "memory-limit-mb": { type: "string", default: "256" },
    apps: { type: "string", default: `${import.meta.dir}/../apps` },
    out: { type: "string", default: `${import.meta.dir}/results/latest.json` },
    help: { type: "boolean", short: "h", default: false },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const positive = (name: "duration" | "rounds" | "warmup" | "connections") =>
    parseNumber(String(values[name]), `--${name}`, {
      min: 1,
      example: `${COMMAND} --${name} ${name === "connections" ? 32 : 3}`,
    });
  const client = values.client ?? (Bun.which("wrk") ? "wrk" : "bun");
  if (client !== "wrk" && client !== "bun")
    throw new CliError(`--client must be wrk or bun, got "${client}"`, `${COMMAND} --client bun`);
  if (client === "wrk" && !Bun.which("wrk"))
    throw new CliError("wrk is not installed", `apt-get install wrk, or ${COMMAND} --client bun`);
  const latency = values["query-latency-ms"];
  const queryLatencyMs =
    latency === undefined
      ? undefined
      : parseNumber(latency, "--query-latency-ms", {
          min: 0,
          integer: false,
          example: `${COMMAND} --query-latency-ms 5`,
        });
  const serviceEnv: Record<string, string> = {};
  for (const pair of values["service-env"] as string[]) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(pair);
    if (!match)
      throw new CliError(
        `--service-env wants NAME=VALUE, got ${JSON.stringify(pair)}`,
        `${COMMAND} --service-env OTEL_BSP_MAX_EXPORT_BATCH_SIZE=1024`,
      );
    serviceEnv[match[1] as string] = match[2] as string;
  }
  const memoryLimitMb = parseNumber(String(values["memory-limit-mb"]), "--memory-limit-mb", {
    min: 0,
    example: `${COMMAND} --memory-limit-mb 256`,
  });
  // What Bun does in a pod: JavaScriptCore paces its heap against the cgroup memory limit.
  if (memoryLimitMb > 0) serviceEnv.BUN_JSC_forceRAMSize = String(memoryLimitMb * 1024 * 1024);
  const apps = values.apps as string;
  for (const service of services)
    if (!existsSync(`${apps}/${service}/src/index.ts`))
      throw new CliError(
        `--apps ${apps} has no ${service}/src/index.ts: it takes a checkout's apps/ folder`,
        `${COMMAND} --apps ../other-checkout/apps`,
      );
  const out = values.out as string;
  checkWritable(out);
  return {
    apps,
    memoryLimitMb,
    serviceEnv,
    duration: positive("duration"),
    rounds: positive("rounds"),
    warmup: positive("warmup"),
    connections: positive("connections"),
    queryLatencyMs,
    client,
    out,
  };
}

/** The results file must be writable before a run of minutes, not after it. */
function checkWritable(out: string) {
  const dir = dirname(resolve(out));
  if (existsSync(out) && statSync(out).isDirectory())
    throw new CliError(
      `--out ${out} is a folder; it names the results file`,
      `${COMMAND} --out ${out.replace(/\/+$/, "")}/latest.json`,
    );
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new CliError(
      `--out ${out}: the folder ${dir} does not exist`,
      `mkdir -p ${dir}, or pick an existing folder for --out`,
    );
}

const children: Subprocess[] = [];
const killAll = () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
};

function spawn(command: string[], env: Record<string, string>, logPath: string): Subprocess {
  // Service stdout (a JSON line per request) goes to a file, as a container runtime would take it.
  const child = Bun.spawn(command, {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdout: Bun.file(logPath),
    stderr: Bun.file(`${logPath}.err`),
  });
  children.push(child);
  return child;
}

/** Waits for a service's /readyz; if it exits or stays silent, says where its output is. */
async function waitReady(
  name: string,
  url: string,
  child: Subprocess,
  logPath: string,
): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await Bun.sleep(100);
  }
  throw new CliError(
    child.exitCode === null
      ? `${name} did not answer ${url} within 20 s`
      : `${name} exited with code ${child.exitCode} before it was ready`,
    `read its output: ${logPath} and ${logPath}.err`,
  );
}

interface Deployment {
  config: ConfigName;
  url: string;
  processes: Record<ServiceName, Subprocess>;
}

async function deploy(
  config: ConfigName,
  telemetryEnv: Record<string, string>,
  queryLatencyMs: number | undefined,
  logDir: string,
  apps: string,
): Promise<Deployment> {
  const [userPort, gatewayPort] = [await freePort(), await freePort()];
  const userLog = `${logDir}/${config}-user-service.log`;
  const gatewayLog = `${logDir}/${config}-api-gateway.log`;
  const user = spawn(
    [process.execPath, `${apps}/user-service/src/index.ts`],
    {
      ...telemetryEnv,
      PORT: String(userPort),
      ...(queryLatencyMs === undefined ? {} : { QUERY_LATENCY_MS: String(queryLatencyMs) }),
    },
    userLog,
  );
  const gateway = spawn(
    [process.execPath, `${apps}/api-gateway/src/index.ts`],
    {
      ...telemetryEnv,
      PORT: String(gatewayPort),
      USER_SERVICE_URL: `http://127.0.0.1:${userPort}`,
    },
    gatewayLog,
  );
  await waitReady(`user-service (${config})`, `http://127.0.0.1:${userPort}/readyz`, user, userLog);
  await waitReady(
    `api-gateway (${config})`,
    `http://127.0.0.1:${gatewayPort}/readyz`,
    gateway,
    gatewayLog,
  );
  const url = `http://127.0.0.1:${gatewayPort}/user/123`;
  const check = await fetch(url);
  if (check.status !== 200) throw new Error(`${config}: GET ${url} answered ${check.status}`);
  return { config, url, processes: { "api-gateway": gateway, "user-service": user } };
}

async function loadClient(args: string[]): Promise<LoadResult> {
  const child = Bun.spawn([process.execPath, `${import.meta.dir}/load-client.ts`, ...args], {
    stdout: "pipe",
    stderr: "pipe",
  });
  children.push(child);
  const [out, err, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  if (code !== 0) throw new Error(`load client failed (exit ${code}): ${err}`);
  return JSON.parse(out.trim().split("\n").pop() as string);
}

type Options = ReturnType<typeof options>;

/** One regime: every configuration deployed at this query latency (undefined: the default). */
async function measure(opts: Options, queryLatencyMs: number | undefined) {
  const logDir = await mkdtemp(`${tmpdir()}/bench-`);
  const started = Date.now();
  const machineInfo = await machine();
  console.log(
    `bench: ${machineInfo.cpu_model}, ${machineInfo.cores} cores, load ${machineInfo.loadavg_at_start.join(" ")}; client ${opts.client}, ${opts.connections} connections, ${opts.rounds} rounds × ${opts.duration} s, warm-up ${opts.warmup} s; heap sized for ${opts.memoryLimitMb || "the machine's"} MB; services from ${opts.apps}; logs in ${logDir}`,
  );

  const sinkPort = await freePort();
  const sink = spawn(
    [process.execPath, `${import.meta.dir}/otlp-sink.ts`, String(sinkPort)],
    {},
    `${logDir}/sink.log`,
  );
  const sinkUrl = `http://127.0.0.1:${sinkPort}`;
  await waitReady("the OTLP sink", `${sinkUrl}/stats`, sink, `${logDir}/sink.log`);
  const closedUrl = `http://127.0.0.1:${await freePort()}`; // nothing listens there

  const envs: Record<ConfigName, Record<string, string>> = {
    on: { OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl },
    off: { OTEL_SDK_DISABLED: "true" },
    down: { OTEL_EXPORTER_OTLP_ENDPOINT: closedUrl },
  };
  const deployments = {} as Record<ConfigName, Deployment>;
  for (const config of configNames)
    deployments[config] = await deploy(
      config,
      { ...opts.serviceEnv, ...envs[config] },
      queryLatencyMs,
      logDir,
      opts.apps,
    );

  const rss = {} as Record<ConfigName, Record<ServiceName, Rss>>;
  for (const config of configNames) {
    rss[config] = {} as Record<ServiceName, Rss>;
    for (const s of services) {
      const mb = await rssMb(deployments[config].processes[s].pid);
      rss[config][s] = { before: mb, after: mb, peak: mb, samples: [] };
    }
  }
  const sampleRss = async (config: ConfigName) => {
    for (const s of services) {
      const mb = await rssMb(deployments[config].processes[s].pid);
      const entry = rss[config][s];
      entry.after = mb;
      entry.peak = Math.max(entry.peak, mb);
      entry.samples.push(Math.round(mb * 10) / 10);
    }
  };

  const requestsSent: Record<ConfigName, number> = { on: 0, off: 0, down: 0 };
  const closedLoad = (url: string, seconds: number) =>
    opts.client === "wrk"
      ? runWrk(url, opts.connections, seconds)
      : loadClient(["closed", url, String(opts.connections), String(seconds)]);
  const openLoad = (url: string, rate: number, seconds: number) =>
    loadClient(["open", url, String(rate), String(seconds), String(opts.connections)]);

  /** Runs one load, charging each service's CPU time to the requests it served. */
  async function measured(
    config: ConfigName,
    round: number,
    kind: Run["kind"],
    load: () => Promise<LoadResult>,
  ): Promise<Run> {
    const d = deployments[config];
    const pids = services.map((s) => d.processes[s].pid);
    const cpuBefore = await Promise.all([...pids, sink.pid].map(cpuTimeMs));
    const result = await load();
    const cpuAfter = await Promise.all([...pids, sink.pid].map(cpuTimeMs));
    requestsSent[config] += result.requests;
    await sampleRss(config);
    const perRequest = (i: number) =>
      ((cpuAfter[i] as number) - (cpuBefore[i] as number)) / result.requests;
    const run: Run = {
      config,
      round,
      kind,
      ...result,
      cpu_ms_per_request: { "api-gateway": perRequest(0), "user-service": perRequest(1) },
      ...(config === "on" ? { sink_cpu_ms_per_request: perRequest(2) } : {}),
    };
    console.log(
      `  round ${round} ${kind.padEnd(6)} ${config.padEnd(4)} ${Math.round(run.rps)} req/s  p50 ${run.p50_ms.toFixed(2)} ms  p99 ${run.p99_ms.toFixed(2)} ms  cpu ms/req gateway ${run.cpu_ms_per_request["api-gateway"].toFixed(3)} user-service ${run.cpu_ms_per_request["user-service"].toFixed(3)}${run.errors ? `  ${run.errors} errors` : ""}`,
    );
    return run;
  }

  console.log(`warm-up: ${opts.warmup} s per configuration`);
  for (const config of configNames) {
    const warm = await closedLoad(deployments[config].url, opts.warmup);
    requestsSent[config] += warm.requests;
    await sampleRss(config);
  }

  const rewarm = Math.min(3, opts.warmup);
  const runs: Run[] = [];
  console.log("closed loop:");
  for (let round = 1; round <= opts.rounds; round++)
    for (const config of configNames) {
      requestsSent[config] += (await closedLoad(deployments[config].url, rewarm)).requests;
      runs.push(
        await measured(config, round, "closed", () =>
          closedLoad(deployments[config].url, opts.duration),
        ),
      );
    }

  const capacityOf = (config: ConfigName) =>
    median(runs.filter((r) => r.config === config && r.kind === "closed").map((r) => r.rps));
  const halfOf = (capacity: number) => Math.max(10, Math.round(capacity / 2 / 10) * 10);
  const rate = halfOf(capacityOf("off"));
  // Where instrumentation saturates the machine, p99 at the first rate is mostly queueing; the
  // second rate stays below every configuration's capacity, so p99 shows the instrumentation.
  const unsaturatedRate = halfOf(Math.min(...configNames.map(capacityOf)));
  for (const [kind, fixedRate, label] of [
    ["open", rate, "half the uninstrumented capacity"],
    ["open_unsaturated", unsaturatedRate, "half the slowest configuration's capacity"],
  ] as const) {
    console.log(`open loop at ${fixedRate} req/s (${label}):`);
    for (let round = 1; round <= opts.rounds; round++)
      for (const config of configNames) {
        requestsSent[config] += (
          await openLoad(deployments[config].url, fixedRate, rewarm)
        ).requests;
        runs.push(
          await measured(config, round, kind, () =>
            openLoad(deployments[config].url, fixedRate, opts.duration),
          ),
        );
      }
  }

  // SIGTERM flushes every provider, so the sink has all of "on"'s telemetry afterwards.
  for (const config of configNames)
    for (const s of services) deployments[config].processes[s].kill("SIGTERM");
  await Promise.all(children.filter((c) => c !== sink).map((c) => c.exited));
  const stats = (await (await fetch(`${sinkUrl}/stats`)).json()) as {
    requests: Record<string, number>;
    bytes: Record<string, number>;
    spans: number;
    logRecords: number;
  };
  sink.kill("SIGTERM");
  const delivered: Delivered = {
    requests: requestsSent.on,
    spans: stats.spans,
    log_records: stats.logRecords,
    export_bytes: Object.values(stats.bytes).reduce((a, b) => a + b, 0),
    export_requests: stats.requests,
  };

  const report = buildReport({
    runs,
    rss,
    delivered,
    rate,
    unsaturatedRate,
    machine: {
      ...machineInfo,
      loadavg_at_end: (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).map(Number),
    },
    settings: {
      client: opts.client,
      connections: opts.connections,
      duration_s: opts.duration,
      rounds: opts.rounds,
      warmup_s: opts.warmup,
      query_latency_ms: queryLatencyMs ?? "service default",
      service_env: opts.serviceEnv,
      memory_limit_mb: opts.memoryLimitMb,
      apps: opts.apps,
      started_at: new Date(started).toISOString(),
      elapsed_s: Math.round((Date.now() - started) / 1000),
    },
  });
  console.log(`\n${formatTable(report)}`);
  await rm(logDir, { recursive: true, force: true });
  return report;
}

async function main() {
  const opts = options();
  const regimes: [string, number | undefined][] =
    opts.queryLatencyMs === undefined
      ? [
          ["realistic", undefined],
          ["cpu_bound", 1],
        ]
      : [[`query_latency_ms_${opts.queryLatencyMs}`, opts.queryLatencyMs]];
  const reports: Record<string, Report> = {};
  for (const [name, queryLatencyMs] of regimes) {
    console.log(`\n== ${name}: QUERY_LATENCY_MS ${queryLatencyMs ?? "default"}`);
    reports[name] = await measure(opts, queryLatencyMs);
  }
  await Bun.write(opts.out, `${JSON.stringify({ regimes: reports }, null, 2)}\n`);
  console.log(`\nwrote ${opts.out}`);
}

process.on("SIGINT", () => {
  killAll();
  process.exit(130);
});
try {
  await main();
} catch (error) {
  killAll();
  exitWithError(error);
}
