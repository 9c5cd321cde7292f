// TraceQL answers, evaluated on the spans as received, with their attribute types: one spanset
// filter `{ cond && cond ... }`, each condition `<scope>.<attribute> <op> <value>` (scope span,
// resource, or none for either) or the intrinsic `name`, compared with =, !=, >, >=, <, <=.
// Like Tempo it compares typed values: `= "false"` does not match a boolean attribute false,
// which model/queries.ts cannot tell, as the model keeps attribute values as strings. The
// grammar itself is checked first with model/queries.ts (Grafana's lezer-traceql).
import type { ReceivedSpan } from "../apps/telemetry/testing/otlp-receiver.ts";

type Value = string | number | boolean;
interface Condition {
  scope: "span" | "resource" | "any" | "intrinsic";
  name: string;
  op: "=" | "!=" | ">" | ">=" | "<" | "<=";
  value: Value;
}

const CONDITION =
  /^\s*(?:(span|resource)?\.([A-Za-z_][\w.:-]*)|(name))\s*(=|!=|>=|<=|>|<)\s*("(?:[^"\\]|\\.)*"|true|false|-?\d+(?:\.\d+)?)\s*$/;

/** The conditions of a TraceQL spanset filter, or an error saying what is not understood. */
export function parseTraceql(query: string): Condition[] {
  const body = /^\s*\{(.*)\}\s*$/s.exec(query)?.[1];
  if (body === undefined) throw new Error("a TraceQL query here is one spanset filter { ... }");
  return body.split("&&").map((part) => {
    const m = CONDITION.exec(part);
    if (!m) throw new Error(`not understood: ${JSON.stringify(part.trim())}`);
    const [, scope, attribute, intrinsic, op, raw] = m as unknown as string[];
    const value: Value = raw?.startsWith('"')
      ? (JSON.parse(raw) as string)
      : raw === "true" || raw === "false"
        ? raw === "true"
        : Number(raw);
    return {
      scope: intrinsic ? "intrinsic" : ((scope as "span" | "resource" | undefined) ?? "any"),
      name: (intrinsic ?? attribute) as string,
      op: op as Condition["op"],
      value,
    };
  });
}

function holds(actual: unknown, { op, value }: Condition): boolean {
  // A missing attribute or one of another type matches no comparison, != included.
  if (typeof actual !== typeof value) return false;
  const a = actual as Value;
  switch (op) {
    case "=":
      return a === value;
    case "!=":
      return a !== value;
    case ">":
      return a > value;
    case ">=":
      return a >= value;
    case "<":
      return a < value;
    case "<=":
      return a <= value;
  }
}

/** The spans a spanset filter selects. */
export function selectSpans(spans: ReceivedSpan[], query: string): ReceivedSpan[] {
  const conditions = parseTraceql(query);
  return spans.filter((span) =>
    conditions.every((c) => {
      if (c.scope === "intrinsic") return holds(span.name, c);
      if (c.scope === "span") return holds(span.attributes[c.name], c);
      if (c.scope === "resource") return holds(span.resource[c.name], c);
      return holds(span.attributes[c.name] ?? span.resource[c.name], c);
    }),
  );
}
