// Lab 2: an instrument of your own, its name in Prometheus, and a query for it.
import type { ReceivedDataPoint } from "../apps/telemetry/testing/otlp-receiver.ts";
import {
  emittedMetrics,
  type InstrumentType,
  prometheusMetricName,
  prometheusSeriesNames,
} from "../gitops/dashboards/telemetry-names.ts";
import { promqlSelectors, type Selector, selectSeries } from "../model/queries.ts";
import { labCapture } from "./capture.ts";
import { count, type Lab, NotYet, readQuery } from "./lab.ts";
import { livePrometheus } from "./live.ts";

const known = new Set(emittedMetrics.map((m) => m.name));

/** The instrument kind an OTLP data point comes from, as telemetry-names.ts names them. */
const instrumentType = (p: ReceivedDataPoint): InstrumentType =>
  p.type === "histogram"
    ? "histogram"
    : p.type === "sum"
      ? p.monotonic
        ? "counter"
        : "updowncounter"
      : "gauge";

export const lab: Lab = {
  title: "A new instrument",
  goal:
    "Add a counter or a histogram of your own to a service, named under `app.`, find the name " +
    "Prometheus gives it, and write a PromQL query that selects its series.",
  files: ["apps/user-service/src/app.ts", "apps/api-gateway/src/app.ts"],
  hints: [
    "`buildApp` gets `telemetry`; its `meter` makes instruments. In apps/user-service/src/app.ts: " +
      '`const notFound = telemetry.meter.createCounter("app.user.not_found", { unit: "{lookup}" });` ' +
      "and `notFound.add(1);` where the 404 is answered.",
    "Prometheus's OTLP receiver renames the metric: dots become underscores, the unit is " +
      "appended unless it is in braces, a counter ends in `_total`, a histogram is " +
      "`_bucket`, `_sum` and `_count` (docs/labels.md). With `bun run dev` running (restart it " +
      "after an edit: it does not reload), `bun run explain /user/9999` prints each metric that " +
      "lookup fed, under its Prometheus name.",
    "A query selects series by name and labels: `sum by (job) (rate(<name>[5m]))`.",
  ],
  check: "bun run lab 2 check '<PromQL>'",
  async verify([query], ok) {
    const capture = await labCapture();
    const mine = new Map<string, ReceivedDataPoint>();
    for (const p of capture.points)
      if (!known.has(p.metric) && !p.metric.startsWith("otel.")) mine.set(p.metric, p);
    if (mine.size === 0)
      throw new NotYet(
        `no new instrument: the services export only ${[...known].filter((n) => !n.startsWith("otel.")).join(", ")} and the SDK's own`,
        lab.hints[0] as string,
      );
    // Names under app. are the learner's: the project's documentation checks leave them alone.
    const unprefixed = [...mine.keys()].filter((name) => !name.startsWith("app."));
    if (unprefixed.length > 0)
      throw new NotYet(
        `${unprefixed.join(", ")} arrives, but not named under app.`,
        "name it app.<something>: the project's own metrics are each documented in docs/labels.md, and checked there; app.* ones are yours",
      );
    const metrics = [...mine.values()].map((p) => {
      const metric = { name: p.metric, unit: p.unit, type: instrumentType(p), attributes: [] };
      return {
        otel: p.metric,
        prometheus: prometheusMetricName(metric),
        series: prometheusSeriesNames(metric),
      };
    });
    ok(`${metrics.map((m) => m.otel).join(", ")} arrives, named under app.`);
    if (!query) throw new NotYet("no PromQL query yet", `${lab.check}. ${lab.hints[1]}`);
    const selectors = readQuery("PromQL", () => promqlSelectors(query), lab.hints[2] as string);
    const prometheus = capture.backends.prometheus;
    const wanted = new Set(metrics.flatMap((m) => m.series));
    // A selector names its metric before the braces or as {__name__="..."}; either selects by it.
    const nameOf = (s: Selector) =>
      s.metric ?? s.matchers.find((m) => m.label === "__name__" && m.op === "=")?.value;
    const empty = selectors.find(
      (s) => wanted.has(nameOf(s) ?? "") && selectSeries(prometheus, s).length === 0,
    );
    if (empty)
      throw new NotYet(
        `${empty.text} selects no series in Prometheus: a label matcher matches nothing`,
        "labels are the attributes with dots as underscores, plus job and instance; drop matchers until it selects",
      );
    const aimed = selectors
      .map((s) => ({
        text: s.text,
        series: selectSeries(prometheus, s).filter((series) => wanted.has(series.name)),
      }))
      .filter((a) => a.series.length > 0);
    if (aimed.length === 0)
      throw new NotYet(
        `the query selects ${selectors.map((s) => nameOf(s) ?? s.text).join(", ") || "no series"}, not ${[...wanted].join(" or ")}`,
        lab.hints[1] as string,
      );
    ok(metrics.map((m) => `${m.otel} is ${m.prometheus} in Prometheus`).join("; "));
    ok(
      `your query selects ${aimed.map((a) => `${count(a.series.length, "series", "series")} with ${a.text}`).join(", ")}`,
    );
    ok(await livePrometheus(query));
  },
};
