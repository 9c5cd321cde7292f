// Lab 3: an attribute on a log record, the LogQL that filters on it, and the way from the line
// to its trace (the line's trace_id and span_id).

import { labelName } from "../model/prometheus-otlp.ts";
import { logqlSelections, selectLogs } from "../model/queries.ts";
import { labCapture } from "./capture.ts";
import { count, type Lab, NotYet, readQuery } from "./lab.ts";
import { liveLogsOrTraces } from "./live.ts";

// The attributes the services' log records carry as they come (apps/*/src/app.ts, service-kit).
const known = new Set(["user.id", "reason", "error.message", "error.type", "port", "signal"]);

export const lab: Lab = {
  title: "A log attribute",
  goal:
    "Add an attribute of your own, named under `app.`, to a log record a request writes, write the LogQL query that " +
    "returns just the lines carrying it, and follow one line to the span it was written in.",
  files: ["apps/user-service/src/app.ts", "apps/api-gateway/src/app.ts"],
  hints: [
    'The second argument of `log.info("user found", { "user.id": id })` is the record\'s ' +
      "attributes. In apps/user-service/src/app.ts give it the domain of the user's address: " +
      '`"app.user.email_domain": user.email.slice(user.email.indexOf("@") + 1)`.',
    "Loki keeps log attributes as structured metadata, dots as underscores: filter after the " +
      'stream selector, `{service_name="<service>"} | <label>="<value>"`.',
    "Each line carries trace_id and span_id. In Grafana, the trace_id field links to Tempo; " +
      "`bun run dev`, restarted after your edit (it does not reload), prints each record under its span. Give that span's name as the second answer.",
  ],
  check: "bun run lab 3 check '<LogQL>' '<name of the span the line was written in>'",
  async verify([query, spanName], ok) {
    const capture = await labCapture();
    const added = [
      ...new Set(capture.capture.logs.flatMap((l) => Object.keys(l.attributes))),
    ].filter((key) => !known.has(key));
    if (added.length === 0)
      throw new NotYet(
        `no log record carries an attribute of your own (only ${[...known].join(", ")})`,
        lab.hints[0] as string,
      );
    const labels = added.map((key) => labelName(key));
    ok(
      `${added.join(", ")} arrives on log records: in Loki, structured metadata ${labels.join(", ")}`,
    );
    if (!query)
      throw new NotYet(
        "no LogQL query yet: the one that returns those lines",
        `${lab.check}. ${lab.hints[1]}`,
      );
    const selections = readQuery("LogQL", () => logqlSelections(query), lab.hints[1] as string);
    const lines = selections.flatMap((selection) => selectLogs(capture.backends.loki, selection));
    const filtered = selections.some((s) => s.filters.some((f) => labels.includes(f.label)));
    if (!filtered || lines.length === 0 || lines.some((l) => !labels.some((k) => k in l.metadata)))
      throw new NotYet(
        `the query returns ${count(lines.length, "line")}${filtered ? "" : ` and filters on none of ${labels.join(", ")}`}: it must return lines, each carrying ${labels.join(" or ")}`,
        lab.hints[1] as string,
      );
    const orphan = lines.find((l) => !l.metadata.trace_id);
    if (orphan)
      throw new NotYet(
        "a line the query returns has no trace_id: it was written outside a request",
        "add the attribute to a record written while a request is handled",
      );
    const spanOf = (line: (typeof lines)[number]) =>
      capture.backends.tempo.find(
        (s) => s.traceId === line.metadata.trace_id && s.spanId === line.metadata.span_id,
      );
    const names = [...new Set(lines.map((l) => spanOf(l)?.name).filter(Boolean))];
    ok(`your query returns ${count(lines.length, "line")}, each carrying ${labels.join(" or ")}`);
    if (!spanName)
      throw new NotYet(
        "no span name yet: follow a line to its trace",
        `${lab.check}. ${lab.hints[2]}`,
      );
    if (!names.includes(spanName))
      throw new NotYet(
        `those lines were written in a span named otherwise than ${JSON.stringify(spanName)}`,
        lab.hints[2] as string,
      );
    const first = lines[0]?.metadata.trace_id;
    ok(
      `each line's trace_id leads to its trace, e.g. { trace:id = "${first}" }; they were written in ${names.join(", ")}`,
    );
    ok(await liveLogsOrTraces("Loki", query));
  },
};
