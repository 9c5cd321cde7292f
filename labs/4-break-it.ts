// Lab 4: break user-service with ERROR_RATE, and say which alert fires and how long after.
// The answer is checked by the project's alert rules (gitops/alerts) in promtool's rule test
// engine, on series derived from this capture: the label sets Prometheus would hold and the
// error ratio the services really measured, at 600 requests a minute, after an hour of health.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SERVICES, type Service } from "../bootstrap/lib/names.ts";
import { parseDuration } from "../cli/flags.ts";
import { loadRuleGroups } from "../gitops/alerts/rules.ts";
import type { PromSeries } from "../model/prometheus-otlp.ts";
import { type LabCapture, labCapture, total } from "./capture.ts";
import { count, type Lab, NotYet } from "./lab.ts";

const HEALTHY_MINUTES = 60;
const BROKEN_MINUTES = 120;
const PER_MINUTE = 600;
const BASE = "http_server_request_duration_seconds";

/** The share of a service's requests answered 5xx, from its own duration histogram. */
export function errorRatio(capture: LabCapture, service: Service): number {
  const all = total(capture.points, "http.server.request.duration", service);
  const failed = total(capture.points, "http.server.request.duration", service, (a) =>
    /^5/.test(String(a["http.response.status_code"])),
  );
  return all === 0 ? 0 : failed / all;
}

const selector = ({ name, labels }: { name: string; labels: Record<string, string> }) =>
  `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(", ")}}`;

// A counter growing by `healthy` a minute, then by `broken` a minute: promtool's series notation.
const counter = (healthy: number, broken: number) =>
  `0+${healthy}x${HEALTHY_MINUTES} ${healthy * HEALTHY_MINUTES + broken}+${broken}x${BROKEN_MINUTES - 1}`;

function inputSeries(capture: LabCapture) {
  const series = capture.backends.prometheus;
  const find = (service: Service, name: string, match: (l: Record<string, string>) => boolean) =>
    series.find((s: PromSeries) => s.service === service && s.name === name && match(s.labels));
  return SERVICES.flatMap((service) => {
    const errors = Math.round(PER_MINUTE * errorRatio(capture, service));
    const routed = (l: Record<string, string>) => l.http_route !== undefined;
    const template = find(service, `${BASE}_count`, routed);
    const info = find(service, "target_info", () => true);
    if (!template || !info) return [];
    // The labels of a healthy (200) and a failing (500) request of a routed request of this
    // service, as captured; at ERROR_RATE=1 there is no 200 to copy, so it is derived.
    const { error_type: _, ...plain } = template.labels;
    const ok = find(
      service,
      `${BASE}_count`,
      (l) => routed(l) && l.http_response_status_code === "200",
    )?.labels ?? { ...plain, http_response_status_code: "200" };
    const failed = find(service, `${BASE}_count`, (l) =>
      /^5/.test(l.http_response_status_code ?? ""),
    )?.labels ?? { ...plain, http_response_status_code: "500", error_type: "500" };
    const bucket = (le: string) => ({ name: `${BASE}_bucket`, labels: { ...ok, le } });
    return [
      {
        series: selector({ name: `${BASE}_count`, labels: ok }),
        values: counter(PER_MINUTE, PER_MINUTE - errors),
      },
      { series: selector({ name: `${BASE}_count`, labels: failed }), values: counter(0, errors) },
      // Every request is fast: only the 5xx ratio changes.
      { series: selector(bucket("0.25")), values: counter(PER_MINUTE, PER_MINUTE) },
      { series: selector(bucket("+Inf")), values: counter(PER_MINUTE, PER_MINUTE) },
      { series: selector(info), values: `1x${HEALTHY_MINUTES + BROKEN_MINUTES}` },
    ];
  });
}

async function promtool(args: string[], cwd: string) {
  const binary = Bun.which("promtool");
  if (!binary)
    throw new NotYet(
      "promtool is not installed: it runs the alert rules",
      "apt-get install prometheus (Debian's package brings promtool)",
    );
  const proc = Bun.spawn([binary, ...args], { cwd, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { ok: code === 0, output: out + err };
}

export const lab: Lab = {
  title: "Break it",
  goal:
    "Make user-service fail a share of its lookups with ERROR_RATE, then say which alert fires " +
    "and how many minutes after the failures start, on a cluster that had an hour of healthy traffic.",
  files: ["gitops/services/user-service.yaml", "gitops/alerts/service-slos.yaml"],
  hints: [
    'In gitops/services/user-service.yaml set `ERROR_RATE: "0.5"` under `env:` ' +
      "(the share of lookups answered 500). On the cluster: commit and push, Argo CD rolls it out.",
    "The alerts are in gitops/alerts/service-slos.yaml: burn-rate pairs of a long and a short " +
      "window over the 5xx ratio, then `for:`. Answer with the alert's name and the minutes, " +
      "e.g. `bun run lab 4 check SomeAlert 9m`.",
    "The long window holds only the data there is: after an hour of health, a 6h ratio is the " +
      "errors over 60 minutes plus the broken ones. Add the rule's `for:` to when both windows trip.",
  ],
  check: "bun run lab 4 check <alert name> <minutes, e.g. 9m>",
  async verify([alert, after], ok) {
    const capture = await labCapture("lookups", { learnerSettings: true });
    const ratio = errorRatio(capture, "user-service");
    if (ratio === 0)
      throw new NotYet(
        `user-service answered none of ${count(capture.sent, "lookup")} with a 5xx (ERROR_RATE=${capture.env["user-service"].ERROR_RATE ?? "unset"})`,
        lab.hints[0] as string,
      );
    ok(`user-service answered ${(ratio * 100).toFixed(0)}% of its requests 5xx`);
    if (!alert || !after)
      throw new NotYet("no answer yet: which alert fires, and when", lab.hints[1] as string);
    const minutes = parseDuration(after, "the time", { min: 60_000 }) / 60_000;
    if (!Number.isInteger(minutes))
      throw new NotYet(
        `${after} is not whole minutes`,
        "promtool evaluates once a minute: e.g. 9m",
      );
    const work = mkdtempSync(join(tmpdir(), "lab-4-"));
    try {
      await Bun.write(join(work, "rules.yaml"), JSON.stringify({ groups: await loadRuleGroups() }));
      const firing = `max(ALERTS{alertname=${JSON.stringify(alert)}, alertstate="firing", job="user-service"})`;
      // As promtool prints times in its failures (Prometheus durations: 1h4m).
      const at = (minute: number) => {
        const [h, m] = [
          Math.floor((HEALTHY_MINUTES + minute) / 60),
          (HEALTHY_MINUTES + minute) % 60,
        ];
        return `${h ? `${h}h` : ""}${m || !h ? `${m}m` : ""}`;
      };
      const spec = {
        rule_files: ["rules.yaml"],
        evaluation_interval: "1m",
        tests: [
          {
            interval: "1m",
            input_series: inputSeries(capture),
            promql_expr_test: [
              // promtool evaluates the rule groups in no fixed order, so the alert may read a
              // recording rule a minute late: the answer may be a minute off either way.
              { expr: firing, eval_time: at(minutes - 2), exp_samples: [] },
              {
                expr: firing,
                eval_time: at(minutes + 1),
                exp_samples: [{ labels: "{}", value: 1 }],
              },
            ],
          },
        ],
      };
      await Bun.write(join(work, "lab.test.yaml"), JSON.stringify(spec));
      const result = await promtool(["test", "rules", "lab.test.yaml"], work);
      if (!result.ok) {
        const early = result.output.includes(`time: ${at(minutes - 2)},`);
        throw new NotYet(
          `promtool: ${alert} ${early ? `already fires ${minutes - 2} minutes in` : `is not firing for user-service ${minutes + 1} minutes in`}`,
          lab.hints[early ? 2 : 1] as string,
        );
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    ok(
      `promtool, with the rules of gitops/alerts: ${alert} starts firing for user-service ${count(minutes, "minute")} in (±1)`,
    );
  },
};
