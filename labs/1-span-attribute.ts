// Lab 1: the README's worked example, checked. A span attribute on the database span, and the
// TraceQL that finds the lookups that found no one.
import type { ReceivedSpan } from "../apps/telemetry/testing/otlp-receiver.ts";
import { parseQuery } from "../model/queries.ts";
import { type LabCapture, labCapture } from "./capture.ts";
import { count, type Lab, NotYet, readQuery } from "./lab.ts";
import { liveLogsOrTraces } from "./live.ts";
import { selectSpans } from "./traceql.ts";

const ATTRIBUTE = "app.user.found";

/** The spans as Tempo holds them: typed span attributes, the resource after the Collector. */
export function tempoSpans(capture: LabCapture): ReceivedSpan[] {
  return capture.backends.tempo.map((span, i) => ({
    ...(capture.spans[i] as ReceivedSpan),
    resource: span.resource.attributes,
  }));
}

export const lab: Lab = {
  title: "A span attribute and the TraceQL that finds it",
  goal:
    "Mark each user lookup as found or not on its database span (`SELECT users` in user-service), " +
    `as the boolean attribute \`${ATTRIBUTE}\`, then write the TraceQL query that finds, in Tempo, ` +
    "exactly the lookups that found no user.",
  files: ["apps/user-service/src/users.ts"],
  hints: [
    "In `findById`, after `const user = users.get(id);`, add " +
      `\`span.setAttribute("${ATTRIBUTE}", user !== undefined);\`. ` +
      "Restart `bun run dev` (it does not reload an edited service), then " +
      "`curl -s localhost:4000/user/9999` shows it on the `SELECT users` span.",
    "A TraceQL spanset filter is `{ condition && condition }`; span attributes are " +
      "`span.<name>`, resource attributes `resource.<name>` (`resource.service.name`).",
    'Tempo compares typed values: a boolean attribute matches `= false`, not `= "false"`.',
  ],
  check: "bun run lab 1 check '<TraceQL>'",
  async verify([query], ok) {
    const capture = await labCapture();
    const tempo = tempoSpans(capture);
    const selects = tempo.filter(
      (s) => s.name === "SELECT users" && s.resource["service.name"] === "user-service",
    );
    if (selects.length === 0)
      throw new NotYet(
        "no SELECT users span arrived from user-service",
        "keep the span in findById: the lab looks for its attribute there",
      );
    const marked = selects.filter((s) => ATTRIBUTE in s.attributes);
    if (marked.length === 0)
      throw new NotYet(`no SELECT users span carries ${ATTRIBUTE}`, lab.hints[0] as string);
    const wrong = selects.find((s) => {
      const rows = s.attributes["db.response.returned_rows"];
      // A failed query (ERROR_RATE) has no rows attribute and may say nothing either way.
      return rows !== undefined && s.attributes[ATTRIBUTE] !== (rows === 1);
    });
    if (wrong)
      throw new NotYet(
        `a SELECT users span with db.response.returned_rows=${wrong.attributes["db.response.returned_rows"]} says ${ATTRIBUTE}=${JSON.stringify(wrong.attributes[ATTRIBUTE])}`,
        `set it to a boolean: true when the user was found, false when not (${lab.hints[0]})`,
      );
    ok(`${ATTRIBUTE} is on every SELECT users span, true exactly when a row came back`);
    if (!query)
      throw new NotYet(
        "no TraceQL query yet",
        `${lab.check}, selecting the lookups that found no user. ${lab.hints[1]}`,
      );
    readQuery("TraceQL", () => parseQuery("traceql", query), lab.hints[1] as string);
    let selected: ReceivedSpan[];
    try {
      selected = selectSpans(tempo, query);
    } catch (error) {
      throw new NotYet(
        `cannot read the TraceQL: ${(error as Error).message}`,
        `write one filter such as { span.<attribute> = <value> && resource.service.name = "<service>" }`,
      );
    }
    const notFound = selects.filter((s) => s.attributes[ATTRIBUTE] === false);
    const missed = notFound.filter((s) => !selected.includes(s));
    const extra = selected.filter((s) => s.attributes[ATTRIBUTE] !== false);
    const lookups = count(notFound.length, "lookup");
    if (selected.length === 0)
      throw new NotYet(
        `the query selects no span, and ${lookups} found no user`,
        lab.hints[2] as string,
      );
    if (missed.length > 0 || extra.length > 0)
      throw new NotYet(
        `the query selects ${count(selected.length, "span")}: ${[
          extra.length === selected.length
            ? "none of them from a lookup that found no user"
            : extra.length > 0
              ? `${extra.length} of them not from a lookup that found no user`
              : "",
          missed.length === notFound.length
            ? `it misses all ${lookups} that found no user`
            : missed.length > 0
              ? `it misses ${missed.length} of the ${lookups} that found no user`
              : "",
        ]
          .filter(Boolean)
          .join("; ")}`,
        lab.hints[1] as string,
      );
    ok(`your TraceQL selects exactly the ${lookups} that found no user`);
    ok(await liveLogsOrTraces("Tempo", query));
  },
};
