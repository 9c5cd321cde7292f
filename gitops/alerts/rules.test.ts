// The alert rules, checked and unit-tested with promtool (Debian package `prometheus`).
// Each scenario feeds synthetic series shaped like the OTLP receiver's output into promtool's
// rule test engine and states which alerts fire, and which stay silent, at given times.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadRuleGroups, type Rule } from "./rules.ts";

const promtool = Bun.which("promtool");
if (!promtool) {
  throw new Error(
    "promtool not found: install Debian's prometheus package (apt-get install prometheus)",
  );
}

const work = mkdtempSync(join(tmpdir(), "alert-rules-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const groups = await loadRuleGroups();
const rulesFile = join(work, "rules.yaml");
await Bun.write(rulesFile, JSON.stringify({ groups }));

function run(args: string[]): { ok: boolean; output: string } {
  const proc = Bun.spawnSync([promtool as string, ...args], { cwd: work });
  return { ok: proc.exitCode === 0, output: `${proc.stdout}${proc.stderr}` };
}

// --- synthetic input --------------------------------------------------------------------

const MINUTES = 180;
type Job = "api-gateway" | "user-service";

/** Per-minute request counts of one service: ok (non-5xx) and 5xx, and how many were slow. */
interface Traffic {
  ok: number;
  errors: number;
  slow: number;
}
const healthy: Traffic = { ok: 600, errors: 0, slow: 0 };

// One counter series growing by `perMinute` each minute, for `minutes` minutes.
const counter = (series: string, perMinute: number, minutes = MINUTES) => ({
  series,
  values: `0+${perMinute}x${minutes}`,
});

function trafficSeries(job: Job, t: Traffic) {
  const base = "http_server_request_duration_seconds";
  const ok = `job="${job}", http_route="/users/:id", http_request_method="GET"`;
  const total = t.ok + t.errors;
  return [
    counter(`${base}_count{${ok}, http_response_status_code="200"}`, t.ok),
    counter(`${base}_count{${ok}, http_response_status_code="500"}`, t.errors),
    counter(`${base}_bucket{${ok}, le="0.25"}`, total - t.slow),
    counter(`${base}_bucket{${ok}, le="+Inf"}`, total),
  ];
}

// target_info as the OTLP receiver writes it while a service sends metrics.
const targetInfo = (job: Job, minutes = MINUTES) => ({
  series: `target_info{job="${job}", instance="${job}-1"}`,
  values: `1x${minutes}`,
});

function input(
  traffic: Partial<Record<Job, Traffic>>,
  telemetryMinutes: Partial<Record<Job, number>> = {},
) {
  return (["api-gateway", "user-service"] as const).flatMap((job) => [
    ...trafficSeries(job, traffic[job] ?? healthy),
    targetInfo(job, telemetryMinutes[job] ?? MINUTES),
  ]);
}

// --- expectations -----------------------------------------------------------------------

const alertNames = [
  ...new Set(groups.flatMap((g) => g.rules.flatMap((r: Rule) => (r.alert ? [r.alert] : [])))),
];

/** The alert as promtool reports it: labels from the rule, annotations with $labels.job filled. */
function firing(alert: string, job: Job, severity: "critical" | "warning") {
  const rule = groups
    .flatMap((g) => g.rules)
    .find(
      (r) =>
        r.alert === alert &&
        r.labels?.severity === severity &&
        (r.labels.job === undefined || r.labels.job === job),
    );
  if (!rule) throw new Error(`no rule ${alert} with severity ${severity}`);
  const annotations = Object.fromEntries(
    Object.entries(rule.annotations ?? {}).map(([k, v]) => [
      k,
      v.replaceAll("{{ $labels.job }}", job),
    ]),
  );
  return { exp_labels: { ...rule.labels, job }, exp_annotations: annotations };
}

type Firing = ReturnType<typeof firing>;

/** At each time, exactly these alerts fire; every other alert name is asserted silent. */
function expectAt(time: string, fired: [alert: string, Firing[]][] = []) {
  const byName = new Map(fired);
  return alertNames.map((alertname) => ({
    eval_time: time,
    alertname,
    exp_alerts: byName.get(alertname) ?? [],
  }));
}

function promtoolTest(name: string, series: ReturnType<typeof input>, checks: object[]) {
  const file = join(work, `${name.replace(/\W+/g, "-")}.test.yaml`);
  const spec = {
    rule_files: [rulesFile],
    evaluation_interval: "1m",
    tests: [{ interval: "1m", input_series: series, alert_rule_test: checks }],
  };
  return Bun.write(file, JSON.stringify(spec)).then(() => run(["test", "rules", file]));
}

// --- the tests --------------------------------------------------------------------------

describe("alert rules (promtool)", () => {
  test("the PrometheusRule manifests hold valid rules", () => {
    const result = run(["check", "rules", rulesFile]);
    expect(result.output).toContain("SUCCESS");
    expect(result.ok).toBe(true);
  });

  test("every alert has summary, description, a README runbook anchor and a dashboard link", async () => {
    const readme = await Bun.file(join(import.meta.dir, "../../README.md")).text();
    const alerts = groups.flatMap((g) => g.rules).filter((r) => r.alert);
    expect(alerts.length).toBeGreaterThan(0);
    for (const rule of alerts) {
      const a = rule.annotations ?? {};
      expect(a.summary, rule.alert).toBeTruthy();
      expect(a.description, rule.alert).toBeTruthy();
      const anchor = a.runbook_url?.match(/README\.md#(runbook-[a-z]+)$/)?.[1];
      expect(anchor, `${rule.alert} runbook_url`).toBe(`runbook-${rule.alert?.toLowerCase()}`);
      expect(readme, `README anchor for ${rule.alert}`).toContain(`<a id="${anchor}"></a>`);
      expect(a.dashboard, rule.alert).toStartWith("http://localhost:3000/d/service-overview/");
    }
  });

  test("healthy traffic: no alert fires", async () => {
    const result = await promtoolTest(
      "healthy",
      input({ "user-service": { ok: 600, errors: 1, slow: 3 } }),
      [...expectAt("10m"), ...expectAt("60m"), ...expectAt("170m")],
    );
    expect(result.output).toContain("SUCCESS");
  });

  test("10% errors: availability pages (critical) after 2m, ticket (warning) after 15m", async () => {
    const result = await promtoolTest(
      "error-spike",
      input({ "user-service": { ok: 540, errors: 60, slow: 0 } }),
      [
        ...expectAt("2m"), // pending: `for: 2m` not yet elapsed
        ...expectAt("10m", [
          [
            "ServiceAvailabilityBudgetBurn",
            [firing("ServiceAvailabilityBudgetBurn", "user-service", "critical")],
          ],
        ]),
        ...expectAt("30m", [
          [
            "ServiceAvailabilityBudgetBurn",
            [
              firing("ServiceAvailabilityBudgetBurn", "user-service", "critical"),
              firing("ServiceAvailabilityBudgetBurn", "user-service", "warning"),
            ],
          ],
        ]),
      ],
    );
    expect(result.output).toContain("SUCCESS");
  });

  test("2% errors: only the slow-burn ticket (warning) fires, no page", async () => {
    const result = await promtoolTest(
      "error-leak",
      input({ "user-service": { ok: 588, errors: 12, slow: 0 } }),
      [
        ...expectAt("10m"),
        ...expectAt("60m", [
          [
            "ServiceAvailabilityBudgetBurn",
            [firing("ServiceAvailabilityBudgetBurn", "user-service", "warning")],
          ],
        ]),
      ],
    );
    expect(result.output).toContain("SUCCESS");
  });

  test("all requests slower than 250 ms: latency pages (critical)", async () => {
    const result = await promtoolTest(
      "all-slow",
      input({ "api-gateway": { ok: 600, errors: 0, slow: 600 } }),
      [
        ...expectAt("2m"),
        ...expectAt("10m", [
          [
            "ServiceLatencyBudgetBurn",
            [firing("ServiceLatencyBudgetBurn", "api-gateway", "critical")],
          ],
        ]),
      ],
    );
    expect(result.output).toContain("SUCCESS");
  });

  test("5% slow requests: only the latency ticket (warning) fires", async () => {
    const result = await promtoolTest(
      "some-slow",
      input({ "user-service": { ok: 600, errors: 0, slow: 30 } }),
      [
        ...expectAt("10m"),
        ...expectAt("60m", [
          [
            "ServiceLatencyBudgetBurn",
            [firing("ServiceLatencyBudgetBurn", "user-service", "warning")],
          ],
        ]),
      ],
    );
    expect(result.output).toContain("SUCCESS");
  });

  test("a service stops sending telemetry: absent alert for it alone, after 10m + 5m", async () => {
    const result = await promtoolTest(
      "telemetry-stops",
      // user-service's metrics stop at minute 30; api-gateway keeps sending.
      input({ "user-service": { ok: 0, errors: 0, slow: 0 } }, { "user-service": 30 }),
      [
        ...expectAt("40m"), // last sample 10m ago: still inside the window
        ...expectAt("60m", [
          ["ServiceTelemetryAbsent", [firing("ServiceTelemetryAbsent", "user-service", "warning")]],
        ]),
      ],
    );
    expect(result.output).toContain("SUCCESS");
  });

  test("the harness is not vacuous: a wrong expectation makes promtool fail", async () => {
    const result = await promtoolTest("wrong-expectation", input({}), [
      ...expectAt("10m", [
        [
          "ServiceAvailabilityBudgetBurn",
          [firing("ServiceAvailabilityBudgetBurn", "api-gateway", "critical")],
        ],
      ]),
    ]);
    expect(result.ok).toBe(false);
    expect(result.output).toContain("FAILED");
  });
});
