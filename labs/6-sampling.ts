// Lab 6: head sampling. With OTEL_TRACES_SAMPLER=traceidratio the SDK records only a share of
// the traces; Tempo stores only those, and its metrics-generator derives span metrics from what
// it stores, so they count that share of the requests. The services' own duration histogram is
// recorded for every request, sampled or not.
import { parseNumber } from "../cli/flags.ts";
import { type LabCapture, labCapture, total } from "./capture.ts";
import { count, type Lab, NotYet } from "./lab.ts";

/** Tempo's span-metric count of user-service's server spans over its own histogram's count. */
export function spanMetricsShare(capture: LabCapture) {
  const calls = capture.backends.prometheus.some(
    (s) => s.name === "traces_spanmetrics_calls_total" && s.labels.service === "user-service",
  );
  // traces_spanmetrics_calls_total counts one per span stored; its value is the number of spans.
  const spans = capture.backends.tempo.filter(
    (s) =>
      s.kind === "SPAN_KIND_SERVER" && s.resource.attributes["service.name"] === "user-service",
  ).length;
  const requests = total(capture.points, "http.server.request.duration", "user-service");
  return { calls, spans, requests, share: requests === 0 ? 1 : spans / requests };
}

export const lab: Lab = {
  title: "Sampling",
  goal:
    "Sample a quarter of the traces with OTEL_TRACES_SAMPLER=traceidratio, then measure what " +
    "Tempo's span metrics (traces_spanmetrics_calls_total) count of user-service's requests " +
    "against what the service's own http.server.request.duration counts, and say why they differ.",
  files: ["gitops/services/api-gateway.yaml", "gitops/services/user-service.yaml"],
  hints: [
    "Add under `env:` of both services: `OTEL_TRACES_SAMPLER: traceidratio` and " +
      '`OTEL_TRACES_SAMPLER_ARG: "0.25"` (in `bun run dev`: the same variables in its environment, restarted with them). ' +
      "The SDK reads them (docs/telemetry.md, Environment variables).",
    "An unsampled request still has a trace id and still gets a histogram point; its spans are " +
      "never exported. Answer with the share of user-service's requests that Tempo's span " +
      "metrics count, a number from 0 to 1: `bun run lab 6 check 0.5`.",
    "traceidratio decides on the trace id alone, so both services keep the same traces: " +
      "the share is close to the ratio you set, give or take chance.",
  ],
  check: "bun run lab 6 check <share, 0 to 1>",
  async verify([answer], ok) {
    const capture = await labCapture("lookups", { learnerSettings: true });
    const unset = (["api-gateway", "user-service"] as const).filter(
      (s) => !capture.env[s].OTEL_TRACES_SAMPLER,
    );
    const { calls, spans, requests, share } = spanMetricsShare(capture);
    if (unset.length > 0 && share >= 1)
      throw new NotYet(
        `every request is traced: ${unset.join(" and ")} set no OTEL_TRACES_SAMPLER`,
        lab.hints[0] as string,
      );
    if (share >= 1)
      throw new NotYet(
        `Tempo got a server span for each of user-service's ${count(requests, "request")}`,
        "set OTEL_TRACES_SAMPLER_ARG below 1 (e.g. 0.25)",
      );
    if (!calls)
      throw new NotYet(
        "Tempo's metrics-generator writes no span metrics for user-service",
        "keep span-metrics in gitops/values/tempo.yaml (overrides.defaults.metrics_generator.processors)",
      );
    ok("sampling is on: Tempo stores fewer server spans than user-service answered requests");
    if (!answer)
      throw new NotYet("no share yet: measure what the span metrics miss", lab.hints[1] as string);
    const given = parseNumber(answer, "the share", {
      min: 0,
      max: 1,
      integer: false,
      example: "bun run lab 6 check 0.5",
    });
    // Sampling is chance per trace: allow four standard deviations of a binomial share.
    const tolerance = Math.max(0.05, 4 * Math.sqrt((share * (1 - share)) / requests));
    if (Math.abs(given - share) > tolerance)
      throw new NotYet(
        `${given} is not what this run measured (within ±${tolerance.toFixed(2)})`,
        lab.hints[2] as string,
      );
    ok(
      `Tempo stored ${spans} of user-service's ${count(requests, "server span")}: span metrics count ${(share * 100).toFixed(0)}% of the requests, your answer ${given}`,
    );
    ok(
      "the service's http.server.request.duration counted all of them: divide span-metric rates by the ratio, or use the service's histogram",
    );
  },
};
