import { expect, test } from "bun:test";
import { buildReport, type ConfigName, formatTable, type Run } from "./report.ts";
import { parseWrkReport } from "./wrk.ts";

const run = (
  config: ConfigName,
  round: number,
  kind: Run["kind"],
  rps: number,
  p99: number,
): Run => ({
  config,
  round,
  kind,
  requests: rps * 10,
  rps,
  p50_ms: p99 / 4,
  p99_ms: p99,
  max_ms: p99 * 2,
  errors: 0,
  cpu_ms_per_request: {
    "api-gateway": config === "off" ? 0.05 : 0.06,
    "user-service": config === "off" ? 0.03 : 0.04,
  },
});

const rss = (before: number, peak: number) => ({
  "api-gateway": { before, after: peak - 1, peak, samples: [peak, peak - 1] },
  "user-service": { before, after: before + 5, peak: before + 5, samples: [before + 5] },
});

const report = buildReport({
  runs: [
    run("on", 1, "closed", 950, 10),
    run("off", 1, "closed", 1000, 9),
    run("down", 1, "closed", 800, 12),
    run("on", 2, "closed", 860, 10),
    run("off", 2, "closed", 900, 9),
    run("down", 2, "closed", 720, 12),
    run("on", 1, "open", 450, 2.5),
    run("off", 1, "open", 450, 2),
    run("down", 1, "open", 450, 3.5),
    run("on", 1, "open_unsaturated", 360, 2.2),
    run("off", 1, "open_unsaturated", 360, 2),
    run("down", 1, "open_unsaturated", 360, 2.4),
  ],
  rss: { on: rss(60, 90), off: rss(60, 80), down: rss(60, 130) },
  delivered: {
    requests: 1000,
    spans: 4000,
    log_records: 2000,
    export_bytes: 1_200_000,
    export_requests: { "/v1/traces": 10 },
  },
  rate: 450,
  unsaturatedRate: 360,
  machine: { cpu_model: "Test CPU", cores: 2 },
  settings: { rounds: 2 },
});

test("the judged figures come from per-round pairs and per-service RSS growth", () => {
  expect(report.throughput_ratio_on_off).toBe(0.953); // median of 0.95 and 0.956
  expect(report.throughput_ratio_down_off).toBe(0.8);
  expect(report.p99_overhead_ms_fixed_rate).toBe(0.5);
  expect(report.p99_overhead_ms_fixed_rate_down).toBe(1.5);
  expect(report.p99_overhead_ms_unsaturated).toBe(0.2);
  expect(report.p99_overhead_ms_unsaturated_down).toBe(0.4);
  expect(report.rss_growth_mb_down).toBe(70);
  expect(report.cpu_ratio_on_off).toEqual({ "api-gateway": 1.2, "user-service": 1.33 });
  expect(report.targets.throughput_ratio_on_off.met).toBe(true);
  expect(report.targets.throughput_ratio_down_off.met).toBe(false);
  expect(report.targets.rss_growth_mb_down.met).toBe(false);
  expect(report.telemetry_delivered_on?.spans_per_request).toBe(4);
  expect(report.configs.off.closed_loop.rps).toBe(950);
  expect(report.rounds).toHaveLength(12);
});

test("the table shows every configuration and every verdict", () => {
  const table = formatTable(report);
  for (const line of ["on ", "off ", "down "]) expect(table).toContain(`\n${line}`);
  expect(table).toContain("throughput_ratio_down_off: 0.8 (target ≥ 0.85) MISSED");
  expect(table).toContain("rss_growth_mb_down: 70 (target ≤ 64) MISSED");
  expect(table).toContain("4 spans and 2 log records per request");
});

test("wrk's JSON summary becomes a load result", () => {
  const result = parseWrkReport(
    '{"requests":30000,"duration_us":15000000,"failed":1,"non_2xx_3xx":2,"p50_us":2500,"p99_us":12000,"max_us":40000}',
  );
  expect(result).toEqual({
    requests: 30000,
    rps: 2000,
    p50_ms: 2.5,
    p99_ms: 12,
    max_ms: 40,
    errors: 3,
  });
  expect(() => parseWrkReport('{"requests":1}')).toThrow("wrk report lacks duration_us");
});
