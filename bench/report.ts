// Turns the bench's raw runs into the report: per-configuration figures, the paired ratios the
// targets are judged on, and a printable table.
import { type LoadResult, median, medianOfPairs } from "./stats.ts";

export const configNames = ["on", "off", "down"] as const;
export type ConfigName = (typeof configNames)[number];
export const services = ["api-gateway", "user-service"] as const;
export type ServiceName = (typeof services)[number];

export interface Run extends LoadResult {
  config: ConfigName;
  round: number;
  /**
   * closed: fixed connections, as fast as it goes; open: fixed rate, half the uninstrumented
   * capacity; open_unsaturated: fixed rate, half the slowest configuration's capacity.
   */
  kind: "closed" | "open" | "open_unsaturated";
  cpu_ms_per_request: Record<ServiceName, number>;
  /** The OTLP sink's CPU per request (config "on" only): a cost a real collector moves away. */
  sink_cpu_ms_per_request?: number;
}

export interface Rss {
  /** Idle, after start-up, before any load. */
  before: number;
  /** After the last run. */
  after: number;
  /** Highest sample, taken after every run. */
  peak: number;
  /** Every sample in order (MB): shows whether memory levels off. */
  samples: number[];
}

export interface Delivered {
  requests: number;
  spans: number;
  log_records: number;
  export_bytes: number;
  export_requests: Record<string, number>;
}

/** Judged in the realistic regime (the services' default query latency). */
export const targets = {
  throughput_ratio_on_off: { min: 0.8 },
  throughput_ratio_down_off: { min: 0.85 },
  rss_growth_mb_down: { max: 64 },
} as const;

export interface Verdict {
  value: number;
  min?: number;
  max?: number;
  met: boolean;
}

const round2 = (value: number) => Math.round(value * 100) / 100;

export function buildReport({
  runs,
  rss,
  delivered,
  rate,
  unsaturatedRate,
  machine,
  settings,
}: {
  runs: Run[];
  rss: Record<ConfigName, Record<ServiceName, Rss>>;
  delivered?: Delivered;
  rate: number;
  unsaturatedRate: number;
  machine: Record<string, unknown>;
  settings: Record<string, unknown>;
}) {
  const closed = runs.filter((run) => run.kind === "closed");
  const open = runs.filter((run) => run.kind === "open");
  const unsaturated = runs.filter((run) => run.kind === "open_unsaturated");
  const is = (config: ConfigName) => (run: Run) => run.config === config;
  const medianOf = (list: Run[], config: ConfigName, pick: (run: Run) => number) =>
    round2(median(list.filter(is(config)).map(pick)));

  const configs = Object.fromEntries(
    configNames.map((config) => [
      config,
      {
        closed_loop: {
          rps: medianOf(closed, config, (r) => r.rps),
          p50_ms: medianOf(closed, config, (r) => r.p50_ms),
          p99_ms: medianOf(closed, config, (r) => r.p99_ms),
          errors: closed.filter(is(config)).reduce((sum, r) => sum + r.errors, 0),
        },
        fixed_rate: {
          rate,
          p50_ms: medianOf(open, config, (r) => r.p50_ms),
          p99_ms: medianOf(open, config, (r) => r.p99_ms),
          errors: open.filter(is(config)).reduce((sum, r) => sum + r.errors, 0),
        },
        fixed_rate_unsaturated: {
          rate: unsaturatedRate,
          p50_ms: medianOf(unsaturated, config, (r) => r.p50_ms),
          p99_ms: medianOf(unsaturated, config, (r) => r.p99_ms),
          errors: unsaturated.filter(is(config)).reduce((sum, r) => sum + r.errors, 0),
        },
        cpu_ms_per_request: Object.fromEntries(
          services.map((s) => [
            s,
            Math.round(
              median(closed.filter(is(config)).map((r) => r.cpu_ms_per_request[s])) * 1000,
            ) / 1000,
          ]),
        ) as Record<ServiceName, number>,
        rss_mb: rss[config],
      },
    ]),
  ) as Record<
    ConfigName,
    {
      closed_loop: { rps: number; p50_ms: number; p99_ms: number; errors: number };
      fixed_rate: { rate: number; p50_ms: number; p99_ms: number; errors: number };
      fixed_rate_unsaturated: { rate: number; p50_ms: number; p99_ms: number; errors: number };
      cpu_ms_per_request: Record<ServiceName, number>;
      rss_mb: Record<ServiceName, Rss>;
    }
  >;

  const ratio = (a: ConfigName) =>
    Math.round(medianOfPairs(closed, is(a), is("off"), (x, y) => x.rps / y.rps) * 1000) / 1000;
  const p99Overhead = (a: ConfigName, list = open) =>
    round2(medianOfPairs(list, is(a), is("off"), (x, y) => x.p99_ms - y.p99_ms));
  const cpuRatio = (a: ConfigName, s: ServiceName) =>
    round2(
      medianOfPairs(
        closed,
        is(a),
        is("off"),
        (x, y) => x.cpu_ms_per_request[s] / y.cpu_ms_per_request[s],
      ),
    );
  const growth = (config: ConfigName) =>
    round2(Math.max(...services.map((s) => rss[config][s].peak - rss[config][s].before)));

  const figures = {
    throughput_ratio_on_off: ratio("on"),
    throughput_ratio_down_off: ratio("down"),
    p99_overhead_ms_fixed_rate: p99Overhead("on"),
    p99_overhead_ms_fixed_rate_down: p99Overhead("down"),
    p99_overhead_ms_unsaturated: p99Overhead("on", unsaturated),
    p99_overhead_ms_unsaturated_down: p99Overhead("down", unsaturated),
    rss_growth_mb_down: growth("down"),
    rss_growth_mb_on: growth("on"),
    rss_growth_mb_off: growth("off"),
    cpu_ratio_on_off: Object.fromEntries(services.map((s) => [s, cpuRatio("on", s)])),
    cpu_ratio_down_off: Object.fromEntries(services.map((s) => [s, cpuRatio("down", s)])),
  };
  const met = Object.fromEntries(
    Object.entries(targets).map(([name, target]) => {
      const value = figures[name as keyof typeof targets];
      return [
        name,
        { value, ...target, met: "min" in target ? value >= target.min : value <= target.max },
      ];
    }),
  ) as Record<keyof typeof targets, Verdict>;
  const telemetry = delivered && {
    ...delivered,
    spans_per_request: round2(delivered.spans / delivered.requests),
    log_records_per_request: round2(delivered.log_records / delivered.requests),
    export_bytes_per_request: Math.round(delivered.export_bytes / delivered.requests),
  };
  const sinkCpu = median(
    closed.filter(is("on")).map((r) => r.sink_cpu_ms_per_request ?? Number.NaN),
  );
  return {
    machine,
    settings: { ...settings, fixed_rate: rate, unsaturated_rate: unsaturatedRate },
    ...figures,
    targets: met,
    configs,
    sink_cpu_ms_per_request_on: Math.round(sinkCpu * 1000) / 1000,
    telemetry_delivered_on: telemetry,
    rounds: runs,
  };
}

export type Report = ReturnType<typeof buildReport>;

const pad = (value: unknown, width: number) => String(value).padStart(width);

export function formatTable(report: Report): string {
  const header = `${"config".padEnd(6)} ${pad("req/s", 8)} ${pad("p50", 7)} ${pad("p99", 7)} │ ${pad("rate", 6)} ${pad("p50", 7)} ${pad("p99", 7)} │ ${pad("rate", 6)} ${pad("p50", 7)} ${pad("p99", 7)} │ ${pad("cpu gw", 7)} ${pad("cpu us", 7)} │ ${pad("rss gw", 13)} ${pad("rss us", 13)}`;
  const ms = (value: number) => `${value.toFixed(2)}`;
  const rows = configNames.map((name) => {
    const c = report.configs[name];
    const rss = (s: ServiceName) =>
      `${Math.round(c.rss_mb[s].before)}→${Math.round(c.rss_mb[s].after)}`;
    return `${name.padEnd(6)} ${pad(Math.round(c.closed_loop.rps), 8)} ${pad(ms(c.closed_loop.p50_ms), 7)} ${pad(ms(c.closed_loop.p99_ms), 7)} │ ${pad(c.fixed_rate.rate, 6)} ${pad(ms(c.fixed_rate.p50_ms), 7)} ${pad(ms(c.fixed_rate.p99_ms), 7)} │ ${pad(c.fixed_rate_unsaturated.rate, 6)} ${pad(ms(c.fixed_rate_unsaturated.p50_ms), 7)} ${pad(ms(c.fixed_rate_unsaturated.p99_ms), 7)} │ ${pad(c.cpu_ms_per_request["api-gateway"].toFixed(3), 7)} ${pad(c.cpu_ms_per_request["user-service"].toFixed(3), 7)} │ ${pad(rss("api-gateway"), 13)} ${pad(rss("user-service"), 13)}`;
  });
  const verdicts = Object.entries(report.targets).map(([name, t]) => {
    const bound = t.min !== undefined ? `≥ ${t.min}` : `≤ ${t.max}`;
    return `  ${name}: ${t.value} (target ${bound}) ${t.met ? "met" : "MISSED"}`;
  });
  const delivered = report.telemetry_delivered_on;
  return [
    "closed loop (req/s, latency ms) │ fixed rate: ½ off capacity │ fixed rate: ½ slowest capacity │ CPU ms per request │ RSS MB before→after",
    header,
    ...rows,
    "",
    ...verdicts,
    `  p99 overhead at ½ the slowest configuration's capacity (no saturation): on ${report.p99_overhead_ms_unsaturated} ms, down ${report.p99_overhead_ms_unsaturated_down} ms`,
    `  cpu ratio on/off: ${JSON.stringify(report.cpu_ratio_on_off)}; down/off: ${JSON.stringify(report.cpu_ratio_down_off)}`,
    `  rss growth MB (peak − idle): on ${report.rss_growth_mb_on}, off ${report.rss_growth_mb_off}, down ${report.rss_growth_mb_down}`,
    ...(delivered
      ? [
          `  delivered (on): ${delivered.spans_per_request} spans and ${delivered.log_records_per_request} log records per request, ${delivered.export_bytes_per_request} OTLP bytes per request`,
        ]
      : []),
  ].join("\n");
}
