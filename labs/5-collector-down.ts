// Lab 5: the collector stops answering. Requests are served as fast as before; what the SDK
// cannot export it drops, and says so in its own metrics (otel.sdk.processor.*.processed with
// error.type), which still get through here, as they do whenever only traces and logs are stuck.
import { SERVICES } from "../bootstrap/lib/names.ts";
import { SDK } from "../gitops/dashboards/telemetry-names.ts";
import { promqlSelectors, selectSeries } from "../model/queries.ts";
import { labCapture, total } from "./capture.ts";
import { type Lab, NotYet, readQuery } from "./lab.ts";
import { livePrometheus } from "./live.ts";

export const lab: Lab = {
  title: "The collector down",
  goal:
    "While the collector stops answering trace and log exports, a burst of lookups overflows the " +
    "services' span queues. Write the PromQL that shows how many spans each service's SDK lost, " +
    "and learn the two ways it loses them.",
  files: ["apps/telemetry/index.ts", "gitops/dashboards/telemetry-names.ts"],
  hints: [
    "The SDK counts every span its batch processor is done with: " +
      "`otel.sdk.processor.span.processed`, with `error.type` when the span was lost " +
      "(docs/telemetry.md, What is recorded). In Prometheus: dots to underscores, a counter ends in `_total`.",
    "Select only the lost ones: the spans exported carry no `error_type` label; " +
      "`queue_full` means dropped on a full queue, an exporter error's name means a failed export. " +
      "`sum by (job, error_type) (...)` shows both per service.",
  ],
  check: "bun run lab 5 check '<PromQL>'",
  async verify([query], ok) {
    const capture = await labCapture("collector-down");
    ok("the collector stalled and spans were lost");
    if (!query)
      throw new NotYet(
        "no PromQL query yet: the one that shows the loss",
        `${lab.check}. ${lab.hints[0]}`,
      );
    const series = capture.backends.prometheus;
    // Whatever selects the counter's series counts: by name, or {__name__="..."}.
    const selected = readQuery("PromQL", () => promqlSelectors(query), lab.hints[0] as string)
      .flatMap((s) => selectSeries(series, s))
      .filter((s) => s.name === SDK.spans.processed);
    if (selected.length === 0)
      throw new NotYet(
        `the query does not select the SDK's processed-spans counter`,
        lab.hints[0] as string,
      );
    const lost = selected.filter((s) => s.labels.error_type);
    if (lost.length === 0 || lost.length < selected.length)
      throw new NotYet(
        `the query selects ${selected.length} series, ${lost.length} of them lost spans`,
        lab.hints[1] as string,
      );
    const counts = SERVICES.map((service) => {
      const lostBy = (error: string) =>
        total(
          capture.points,
          "otel.sdk.processor.span.processed",
          service,
          (a) => a["error.type"] === error,
        );
      return `${service} dropped ${lostBy("queue_full")} (queue_full) and failed to export ${lostBy("OTLPExporterError")} (OTLPExporterError)`;
    });
    ok(`your query selects the ${lost.length} series of lost spans`);
    for (const line of counts) ok(line);
    ok(
      "every request was still answered: the queues are bounded and exports run in the background",
    );
    ok(await livePrometheus(query));
  },
};
