// The alert rules, checked and unit-tested with promtool (Debian package `prometheus`).
// Each scenario feeds series into promtool's rule test engine: their names and labels are the
// ones the pipeline really produces (gitops/pipeline/capture.ts through model/), their values are made up per scenario, and states which alerts fire, and which stay silent, at given times.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SERVICES, type Service } from "../../bootstrap/lib/names.ts";
import { backends } from "../../model/backends.ts";
import { prometheusValues } from "../../model/prometheus-otlp.ts";
import { loadYaml } from "../../model/yaml.ts";
import { readRunbooks, runbookUrl } from "../dashboards/runbooks.ts";
import { SDK } from "../dashboards/telemetry-names.ts";
import { captureServices } from "../pipeline/capture.ts";
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

async function run(args: string[]): Promise<{ ok: boolean; output: string }> {
  const proc = Bun.spawn([promtool as string, ...args], { cwd: work, stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { ok: code === 0, output: `${stdout}${stderr}` };
}

// --- synthetic input --------------------------------------------------------------------

const MINUTES = 180;
type Job = Service;

// The series each service really produces in Prometheus (gitops/pipeline: the services' OTLP
// output through the Collector and the OTLP receiver); only their values are made up here.
const { prometheus: modelled } = backends(await captureServices());

function modelSeries(service: Service, name: string, match: (labels: Labels) => boolean) {
  const found = modelled.find((s) => s.service === service && s.name === name && match(s.labels));
  if (!found) throw new Error(`the pipeline model has no ${name} of ${service} like that`);
  return found.labels;
}
type Labels = Record<string, string>;
const selector = (name: string, labels: Labels) =>
  `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(", ")}}`;
/** The job label Prometheus gives a service's series. */
const jobOf = (service: Service) => modelSeries(service, "target_info", () => true).job as string;

/** Per-minute request counts of one service: ok (non-5xx) and 5xx, and how many were slow. */
interface Traffic {
  ok: number;
  errors: number;
  slow: number;
}
const healthy: Traffic = { ok: 600, errors: 0, slow: 0 };

/** Traffic that changes over time: each phase lasts `minutes`. */
type Phase = Traffic & { minutes: number };

// A counter series: 0 at minute 0, then growing by each phase's per-minute amount.
function counter(series: string, phases: Phase[], perMinute: (p: Phase) => number) {
  let value = 0;
  const parts = ["0"];
  for (const phase of phases) {
    const step = perMinute(phase);
    parts.push(`${value + step}+${step}x${phase.minutes - 1}`);
    value += step * phase.minutes;
  }
  return { series, values: parts.join(" ") };
}

function trafficSeries(service: Service, traffic: Traffic | Phase[]) {
  const phases = Array.isArray(traffic) ? traffic : [{ ...traffic, minutes: MINUTES }];
  const base = "http_server_request_duration_seconds";
  const is5xx = (l: Labels) => /^5/.test(l.http_response_status_code ?? "");
  const ok = modelSeries(service, `${base}_count`, (l) => !is5xx(l) && l.http_route !== undefined);
  const failed = modelSeries(service, `${base}_count`, is5xx);
  const bucket = (le: string) =>
    modelSeries(
      service,
      `${base}_bucket`,
      (l) => Object.entries(ok).every(([k, v]) => l[k] === v) && l.le === le,
    );
  return [
    counter(selector(`${base}_count`, ok), phases, (p) => p.ok),
    counter(selector(`${base}_count`, failed), phases, (p) => p.errors),
    counter(selector(`${base}_bucket`, bucket("0.25")), phases, (p) => p.ok + p.errors - p.slow),
    counter(selector(`${base}_bucket`, bucket("+Inf")), phases, (p) => p.ok + p.errors),
  ];
}

/** Whether a service's metrics reach Prometheus at a minute (not while the collector is down). */
type Arrives = (minute: number) => boolean;
const always: Arrives = () => true;

/** Values minute by minute; "_" where there is no sample. */
const perMinute = (value: (minute: number) => number | undefined) =>
  Array.from({ length: MINUTES + 1 }, (_, minute) => String(value(minute) ?? "_")).join(" ");

// target_info as the OTLP receiver writes it while a service sends metrics.
const targetInfo = (service: Service, arrives: Arrives) => ({
  series: selector(
    "target_info",
    modelSeries(service, "target_info", () => true),
  ),
  values: perMinute((minute) => (arrives(minute) ? 1 : undefined)),
});

// The SDK's counts of processed spans and log records, by error_type.
type Signal = "traces" | "logs";
const processed: Record<Signal, string> = {
  traces: SDK.spans.processed,
  logs: SDK.logs.processed,
};

/** A loss counter of a service's SDK: its total at each minute; none before the first loss. */
interface Loss {
  service: Service;
  signal: Signal;
  error: "queue_full" | "OTLPExporterError";
  total: (minute: number) => number | undefined;
}

function sdkSeries(service: Service, arrives: Arrives, losses: Loss[]) {
  const series = (signal: Signal, error: string | undefined, total: Loss["total"]) => ({
    series: selector(
      processed[signal],
      modelSeries(service, processed[signal], (l) => l.error_type === error),
    ),
    values: perMinute((minute) => (arrives(minute) ? total(minute) : undefined)),
  });
  return [
    // Exported: 600 a minute.
    ...(["traces", "logs"] as const).map((signal) =>
      series(signal, undefined, (minute) => 600 * minute),
    ),
    ...losses
      .filter((loss) => loss.service === service)
      .map((loss) => series(loss.signal, loss.error, loss.total)),
  ];
}

function input(
  traffic: Partial<Record<Job, Traffic | Phase[]>>,
  arrives: Partial<Record<Job, Arrives>> = {},
  losses: Loss[] = [],
) {
  return SERVICES.flatMap((service) => [
    ...trafficSeries(service, traffic[service] ?? healthy),
    targetInfo(service, arrives[service] ?? always),
    ...sdkSeries(service, arrives[service] ?? always, losses),
  ]);
}

// --- expectations -----------------------------------------------------------------------

const alertNames = [
  ...new Set(groups.flatMap((g) => g.rules.flatMap((r: Rule) => (r.alert ? [r.alert] : [])))),
];

/** The alert as promtool reports it: labels from the rule, annotations with $labels.job filled. */
function firing(alert: string, job: Job, severity: "critical" | "warning", labels: Labels = {}) {
  const rule = groups
    .flatMap((g) => g.rules)
    .find(
      (r) =>
        r.alert === alert &&
        r.labels?.severity === severity &&
        (r.labels.job === undefined || r.labels.job === jobOf(job)) &&
        Object.entries(labels).every(([k, v]) => r.labels?.[k] === v),
    );
  if (!rule)
    throw new Error(`no rule ${alert} with severity ${severity} ${JSON.stringify(labels)}`);
  const annotations = Object.fromEntries(
    Object.entries(rule.annotations ?? {}).map(([k, v]) => [
      k,
      v.replaceAll("{{ $labels.job }}", jobOf(job)),
    ]),
  );
  return { exp_labels: { ...rule.labels, job: jobOf(job) }, exp_annotations: annotations };
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

// Each scenario is its own promtool process and test file: they run concurrently.
describe("alert rules (promtool)", () => {
  test.concurrent("the PrometheusRule manifests hold valid rules", async () => {
    const result = await run(["check", "rules", rulesFile]);
    expect(result.output).toContain("SUCCESS");
    expect(result.ok).toBe(true);
  });

  test.concurrent("Prometheus keeps at least the longest window any rule looks back over", () => {
    const days = (d: string) => {
      const m = /^(\d+)(m|h|d|w)$/.exec(d);
      if (!m) throw new Error(`unexpected duration ${d}`);
      return Number(m[1]) * { m: 1 / 1440, h: 1 / 24, d: 1, w: 7 }[m[2] as "m" | "h" | "d" | "w"];
    };
    const windows = groups.flatMap((g) =>
      g.rules.flatMap((r) => [...r.expr.matchAll(/\[(\d+[mhdw])\]/g)].map((m) => m[1] as string)),
    );
    const longest = Math.max(...windows.map(days));
    const spec = loadYaml<{ prometheus: { prometheusSpec: { retention: string } } }>(
      prometheusValues,
    ).prometheus.prometheusSpec;
    expect(longest).toBe(3);
    expect(days(spec.retention)).toBeGreaterThanOrEqual(longest);
  });

  test.concurrent("every alert has summary, description, its runbook in Grafana and a dashboard link", () => {
    const runbooks = readRunbooks();
    const alerts = groups.flatMap((g) => g.rules).filter((r) => r.alert);
    expect(alerts.length).toBeGreaterThan(0);
    for (const rule of alerts) {
      const a = rule.annotations ?? {};
      expect(a.summary, rule.alert).toBeTruthy();
      expect(a.description, rule.alert).toBeTruthy();
      const url = runbookUrl(runbooks, rule.alert ?? "");
      expect(url, `a "## ${rule.alert}" section in gitops/alerts/runbooks.md`).toBeDefined();
      expect(a.runbook_url, `${rule.alert} runbook_url`).toBe(url as string);
      expect(a.dashboard, rule.alert).toStartWith("http://localhost:3000/d/service-overview/");
    }
    // And no runbook for an alert that does not exist.
    const names = new Set(alerts.map((rule) => rule.alert));
    for (const { alert } of runbooks) expect(names.has(alert), alert).toBe(true);
  });

  test.concurrent("Alertmanager sends nowhere: the chart's default null receiver is kept", async () => {
    const values = Bun.YAML.parse(
      await Bun.file(join(import.meta.dir, "../values/kube-prometheus-stack.yaml")).text(),
    ) as {
      alertmanager?: { enabled?: boolean; config?: { receivers?: Record<string, unknown>[] } };
    };
    expect(values.alertmanager?.enabled ?? true).toBe(true);
    // Unset, the chart (88.5.3) routes every alert to its receiver "null", which has no
    // integrations. If the values ever set a config, its receivers must not notify anything.
    for (const receiver of values.alertmanager?.config?.receivers ?? []) {
      expect(Object.keys(receiver).filter((k) => k.endsWith("_configs"))).toEqual([]);
    }
  });

  test.concurrent("healthy traffic: no alert fires", async () => {
    const result = await promtoolTest(
      "healthy",
      input({ "user-service": { ok: 600, errors: 1, slow: 3 } }),
      [...expectAt("10m"), ...expectAt("60m"), ...expectAt("170m")],
    );
    expect(result.output).toContain("SUCCESS");
  });

  test.concurrent("10% errors: availability pages (critical) after 2m, ticket (warning) after 15m", async () => {
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

  test.concurrent("2% errors: only the slow-burn ticket (warning) fires, no page", async () => {
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

  test.concurrent("the demo loop: on a young cluster, ERROR_RATE 0.5 pages within about 6 minutes", async () => {
    // An hour of healthy traffic, then 50% errors. The 6h window holds only the data there is
    // (70 minutes), so the 6h/30m pair (> 6 x 0.5% = 3%) trips after ~4 minutes, then `for: 2m`.
    // The ticket (warning, 1d/2h > 1.5%) follows once its `for: 15m` has passed.
    const result = await promtoolTest(
      "demo-loop",
      input({
        "user-service": [
          { ok: 600, errors: 0, slow: 0, minutes: 60 },
          { ok: 300, errors: 300, slow: 0, minutes: 60 },
        ],
      }),
      [
        ...expectAt("63m"),
        ...expectAt("70m", [
          [
            "ServiceAvailabilityBudgetBurn",
            [firing("ServiceAvailabilityBudgetBurn", "user-service", "critical")],
          ],
        ]),
        ...expectAt("80m", [
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

  test.concurrent("all requests slower than 250 ms: latency pages (critical)", async () => {
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

  test.concurrent("5% slow requests: only the latency ticket (warning) fires", async () => {
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

  test.concurrent("a service stops sending telemetry: absent alert for it alone, after 10m + 5m", async () => {
    const result = await promtoolTest(
      "telemetry-stops",
      // user-service's metrics stop at minute 30; api-gateway keeps sending.
      input({ "user-service": { ok: 0, errors: 0, slow: 0 } }, { "user-service": (m) => m <= 30 }),
      [
        ...expectAt("40m"), // last sample 10m ago: still inside the window
        ...expectAt("60m", [
          ["ServiceTelemetryAbsent", [firing("ServiceTelemetryAbsent", "user-service", "warning")]],
        ]),
      ],
    );
    expect(result.output).toContain("SUCCESS");
  });

  const dropped = (job: Job, signal: Signal) =>
    firing("ServiceTelemetryDropped", job, "warning", { signal });

  test.concurrent("a 20-minute collector outage: afterwards the SDK's losses arrive and ServiceTelemetryDropped fires for 15 minutes", async () => {
    // user-service's metrics stop at minute 60 and come back at 80 with the loss counters,
    // which are born already high: nothing of them reached Prometheus before.
    const back = (total: number) => (minute: number) => (minute >= 80 ? total : undefined);
    const result = await promtoolTest(
      "collector-outage",
      input({}, { "user-service": (m) => m < 60 || m >= 80 }, [
        { service: "user-service", signal: "traces", error: "queue_full", total: back(4000) },
        { service: "user-service", signal: "traces", error: "OTLPExporterError", total: back(512) },
        { service: "user-service", signal: "logs", error: "queue_full", total: back(2000) },
      ]),
      [
        ...expectAt("50m"),
        ...expectAt("78m", [
          ["ServiceTelemetryAbsent", [firing("ServiceTelemetryAbsent", "user-service", "warning")]],
        ]),
        ...expectAt("81m", [
          [
            "ServiceTelemetryDropped",
            [dropped("user-service", "traces"), dropped("user-service", "logs")],
          ],
        ]),
        ...expectAt("94m", [
          [
            "ServiceTelemetryDropped",
            [dropped("user-service", "traces"), dropped("user-service", "logs")],
          ],
        ]),
        ...expectAt("96m"),
      ],
    );
    expect(result.output).toContain("SUCCESS");
  });

  test.concurrent("a span queue too small for the load: fires with the first drop, resolves 15 minutes after the last", async () => {
    // The collector is up; api-gateway drops 10 spans a minute from minute 30 to 60.
    const total = (minute: number) => (minute < 30 ? undefined : 10 * (Math.min(minute, 60) - 29));
    const result = await promtoolTest(
      "queue-too-small",
      input({}, {}, [{ service: "api-gateway", signal: "traces", error: "queue_full", total }]),
      [
        ...expectAt("20m"),
        ...expectAt("30m", [["ServiceTelemetryDropped", [dropped("api-gateway", "traces")]]]),
        ...expectAt("70m", [["ServiceTelemetryDropped", [dropped("api-gateway", "traces")]]]),
        ...expectAt("80m"),
      ],
    );
    expect(result.output).toContain("SUCCESS");
  });

  test.concurrent("the harness is not vacuous: a wrong expectation makes promtool fail", async () => {
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
