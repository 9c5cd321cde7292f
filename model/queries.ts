// The project's queries, read with the grammars the backends' own UIs use: Prometheus's
// (@prometheus-io/lezer-promql, the PromQL editor in Prometheus and Grafana), Grafana's LogQL
// (@grafana/lezer-logql) and TraceQL (@grafana/lezer-traceql) grammars. Walking the syntax tree
// gives the metric names, label matchers, stream selectors and span conditions a query uses;
// checking them against the modelled backends (what Prometheus, Loki and Tempo hold after the
// pipeline) says whether the query selects anything. A query that selects nothing is an empty
// panel, a silent alert or a link to nothing: checkQuery says why, in words a reader can act on.
import { parser as logqlParser } from "@grafana/lezer-logql";
import { parser as traceqlParser } from "@grafana/lezer-traceql";
import { parser as promqlParser } from "@prometheus-io/lezer-promql";
import type { Backends } from "./backends.ts";
import type { Span } from "./collected.ts";
import type { LokiEntry } from "./loki-otlp.ts";
import type { PromSeries } from "./prometheus-otlp.ts";

export type Language = "promql" | "logql" | "traceql";
export const languages: Language[] = ["promql", "logql", "traceql"];

const parsers = { promql: promqlParser, logql: logqlParser, traceql: traceqlParser };
type Tree = ReturnType<typeof promqlParser.parse>;
type Node = Tree["topNode"];

export interface Matcher {
  label: string;
  op: "=" | "!=" | "=~" | "!~";
  value: string;
}

export interface Selector {
  metric?: string;
  matchers: Matcher[];
  text: string;
}

/** Thrown for a query its grammar does not accept. */
export class QuerySyntaxError extends Error {}

/** The query's syntax tree; a QuerySyntaxError names where the grammar stopped accepting it. */
export function parseQuery(language: Language, text: string): { tree: Tree; text: string } {
  const tree = parsers[language].parse(text);
  let error: number | undefined;
  tree.iterate({
    enter: (node) => {
      if (error === undefined && node.type.isError) error = node.from;
    },
  });
  // The PromQL grammar (written for an editor) accepts an unterminated string; Prometheus does not.
  if (error === undefined) {
    tree.iterate({
      enter: (node) => {
        const s = text.slice(node.from, node.to);
        if (
          error === undefined &&
          (node.name === "StringLiteral" || node.name === "String") &&
          (s.length < 2 || s.at(-1) !== s[0])
        )
          error = node.from;
      },
    });
  }
  if (error !== undefined) {
    const where =
      error >= text.trimEnd().length
        ? `it ends early (column ${error + 1})`
        : `at column ${error + 1}, near ${JSON.stringify(text.slice(error, error + 20))}`;
    throw new QuerySyntaxError(`${language} does not parse: ${where}`);
  }
  return { tree, text };
}

const textOf = (text: string, node: Node | null | undefined) =>
  node ? text.slice(node.from, node.to) : "";

function descendants(node: Node, name: string): Node[] {
  const found: Node[] = [];
  const cursor = node.cursor();
  const end = node.to;
  do {
    if (cursor.name === name) found.push(cursor.node);
  } while (cursor.next() && cursor.from < end);
  return found;
}

/** A quoted string as the backend reads it: Go's quoting (double, single, backtick raw). */
export function unquote(literal: string): string {
  const quote = literal[0];
  const body = literal.slice(1, -1);
  if (quote === "`") return body;
  const escapes: Record<string, string> = {
    n: "\n",
    t: "\t",
    r: "\r",
    "\\": "\\",
    '"': '"',
    "'": "'",
  };
  return body.replace(/\\(.)/g, (_, c: string) => escapes[c] ?? c);
}

// --- PromQL ---------------------------------------------------------------------------

function promqlMatcher(text: string, node: Node): Matcher {
  const name = node.getChild("LabelName") ?? node.getChild("QuotedLabelName");
  const label = name?.name === "QuotedLabelName" ? unquote(textOf(text, name)) : textOf(text, name);
  return {
    label,
    op: textOf(text, node.getChild("MatchOp")) as Matcher["op"],
    value: unquote(textOf(text, node.getChild("StringLiteral"))),
  };
}

/** Vector selectors of a PromQL expression: metric name and label matchers, from the tree. */
export function promqlSelectors(expr: string): Selector[] {
  const { tree, text } = parseQuery("promql", expr);
  return descendants(tree.topNode, "VectorSelector").map((node) => {
    const matchers: Matcher[] = [];
    let metric = node.getChild("Identifier")
      ? textOf(text, node.getChild("Identifier"))
      : undefined;
    for (const m of node.getChild("LabelMatchers")?.getChildren("UnquotedLabelMatcher") ?? [])
      matchers.push(promqlMatcher(text, m));
    for (const m of node.getChild("LabelMatchers")?.getChildren("QuotedLabelMatcher") ?? [])
      matchers.push(promqlMatcher(text, m));
    // A bare quoted name in braces is the metric name in Prometheus 3's UTF-8 syntax.
    for (const n of node.getChild("LabelMatchers")?.getChildren("QuotedLabelName") ?? [])
      metric = unquote(textOf(text, n));
    return { metric, matchers, text: textOf(text, node) };
  });
}

/** Labels a PromQL expression groups or matches by: `by (…)`, `on (…)`, `group_left (…)`. */
export function promqlGrouping(expr: string): string[] {
  const { tree, text } = parseQuery("promql", expr);
  const modifiers = [
    ...descendants(tree.topNode, "AggregateModifier").filter((m) => m.getChild("By")),
    ...descendants(tree.topNode, "MatchingModifierClause").filter((m) => !m.getChild("Ignoring")),
  ];
  return modifiers.flatMap((m) =>
    m
      .getChildren("GroupingLabels")
      .flatMap((g) => [
        ...g.getChildren("LabelName").map((l) => textOf(text, l)),
        ...g.getChildren("QuotedLabelName").map((l) => unquote(textOf(text, l))),
      ]),
  );
}

// Prometheus's and Loki's regex matchers are anchored (RE2; JavaScript agrees on these).
function matches(labels: Record<string, string>, { label, op, value }: Matcher): boolean {
  const actual = labels[label] ?? "";
  switch (op) {
    case "=":
      return actual === value;
    case "!=":
      return actual !== value;
    case "=~":
      return new RegExp(`^(?:${value})$`).test(actual);
    case "!~":
      return !new RegExp(`^(?:${value})$`).test(actual);
  }
}

/** Series a PromQL selector selects. */
export function selectSeries(series: PromSeries[], selector: Selector): PromSeries[] {
  return series.filter(
    (s) =>
      (selector.metric === undefined || s.name === selector.metric) &&
      selector.matchers.every((m) => matches({ ...s.labels, __name__: s.name }, m)),
  );
}

/** Values of `label_values(<selector>, <label>)` (Grafana's Prometheus query variable). */
export function labelValues(series: PromSeries[], query: string): string[] {
  const m = query.match(/^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/);
  if (!m) throw new Error(`not a label_values query: ${query}`);
  const [selector] = promqlSelectors(m[1] as string);
  if (!selector) throw new Error(`no selector in ${query}`);
  const values = selectSeries(series, selector).map((s) => s.labels[m[2] as string] ?? "");
  return [...new Set(values.filter(Boolean))].sort();
}

// --- LogQL ----------------------------------------------------------------------------

export interface LogSelection {
  /** The stream selector `{…}`: matched against the index (stream) labels only. */
  stream: Matcher[];
  /**
   * Label filters before any parser stage (`| trace_id="…"`): matched against stream labels
   * and structured metadata. Filters after `| json`, `| logfmt`… read labels parsed from the
   * line, which the model does not hold, so they are left out; so are line filters (`|= "…"`).
   */
  filters: Matcher[];
  text: string;
}

function logqlMatcher(text: string, node: Node): Matcher {
  return {
    label: textOf(text, node.getChild("Identifier")),
    op: textOf(text, node.getChild("Identifier")?.nextSibling) as Matcher["op"],
    value: unquote(textOf(text, node.getChild("String"))),
  };
}

/** Each log selection of a LogQL query (a metric query can hold several). */
export function logqlSelections(query: string): LogSelection[] {
  const { tree, text } = parseQuery("logql", query);
  return descendants(tree.topNode, "Selector").map((selector) => {
    const stream = descendants(selector, "Matcher").map((m) => logqlMatcher(text, m));
    const filters: Matcher[] = [];
    const pipeline = selector.nextSibling?.name === "PipelineExpr" ? selector.nextSibling : null;
    // Stages nest to the left: the innermost PipelineExpr holds the first stage.
    const stages = pipeline ? descendants(pipeline, "PipelineStage") : [];
    stages.sort((a, b) => a.from - b.from);
    for (const stage of stages) {
      if (stage.getChild("LabelParser") || stage.getChild("JsonExpressionParser")) break;
      if (stage.getChild("LogfmtParser") || stage.getChild("LogfmtExpressionParser")) break;
      for (const filter of stage.getChildren("LabelFilter")) {
        const matcher = filter.getChild("Matcher");
        if (matcher) filters.push(logqlMatcher(text, matcher));
      }
    }
    return { stream, filters, text: textOf(text, selector.parent) };
  });
}

/** Labels a LogQL metric query groups by (`sum by (…)`). */
export function logqlGrouping(query: string): string[] {
  const { tree, text } = parseQuery("logql", query);
  return descendants(tree.topNode, "Grouping")
    .filter((g) => g.getChild("By"))
    .flatMap((g) => descendants(g, "Identifier").map((l) => textOf(text, l)));
}

/** Loki entries a log selection returns. */
export function selectLogs(entries: LokiEntry[], selection: LogSelection | string): LokiEntry[] {
  const selections = typeof selection === "string" ? logqlSelections(selection) : [selection];
  return entries.filter((e) =>
    selections.some(
      ({ stream, filters }) =>
        stream.every((m) => matches(e.labels, m)) &&
        filters.every((m) => matches({ ...e.labels, ...e.metadata }, m)),
    ),
  );
}

// --- TraceQL --------------------------------------------------------------------------

/** One `{ … }` span filter of a TraceQL query, as a predicate on a span Tempo holds. */
export interface SpanFilter {
  text: string;
  /** Attributes and intrinsics the filter reads, e.g. `resource.service.name`, `status`. */
  fields: string[];
  test: (span: Span) => boolean;
}

const kindNames: Record<string, string> = {
  SPAN_KIND_UNSPECIFIED: "unspecified",
  SPAN_KIND_INTERNAL: "internal",
  SPAN_KIND_SERVER: "server",
  SPAN_KIND_CLIENT: "client",
  SPAN_KIND_PRODUCER: "producer",
  SPAN_KIND_CONSUMER: "consumer",
};
const statusNames: Record<string, string> = {
  STATUS_CODE_UNSET: "unset",
  STATUS_CODE_OK: "ok",
  STATUS_CODE_ERROR: "error",
};
const durationUnits: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

function nanoseconds(duration: string): number {
  let total = 0;
  for (const [, n, unit] of duration.matchAll(/([0-9.]+)(ns|us|µs|ms|s|m|h)/g))
    total += Number(n) * (durationUnits[unit as string] as number);
  return total;
}

// Intrinsics the model can answer (Tempo's names, with and without the `span:` scope).
const intrinsics: Record<string, (span: Span) => string | number> = {
  name: (s) => s.name,
  status: (s) => statusNames[s.status.code] ?? s.status.code,
  statusMessage: (s) => s.status.message ?? "",
  kind: (s) => kindNames[s.kind] ?? s.kind,
  duration: (s) => Number(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano)),
  "trace:id": (s) => s.traceId,
  "span:id": (s) => s.spanId,
};
for (const name of ["name", "status", "statusMessage", "kind", "duration"])
  intrinsics[`span:${name}`] = intrinsics[name] as (span: Span) => string | number;

type Value = string | number | boolean | undefined;

// The model keeps attribute values as the Collector renders them (strings); a TraceQL static
// is compared with that text by its own type: numbers as numbers, booleans as true/false.
function compare(actual: Value, op: string, expected: Node, text: string): boolean {
  const raw = textOf(text, expected);
  // `= nil` asks for a span without the attribute, `!= nil` for one with it.
  if (raw === "nil") return (actual === undefined) === (op === "=");
  if (actual === undefined) return false;
  const literal = expected.firstChild;
  let want: Value;
  if (literal?.name === "String") want = unquote(raw);
  else if (literal?.name === "Integer" || literal?.name === "Float") want = Number(raw);
  else if (literal?.name === "Duration") want = nanoseconds(raw);
  else want = raw; // true, false, error, server, … compare as words
  const have = typeof want === "number" ? Number(actual) : String(actual);
  switch (op) {
    case "=":
      return have === want;
    case "!=":
      return have !== want;
    case "=~":
      return new RegExp(`^(?:${want})$`).test(String(have));
    case "!~":
      return !new RegExp(`^(?:${want})$`).test(String(have));
    case ">":
      return Number(have) > Number(want);
    case ">=":
      return Number(have) >= Number(want);
    case "<":
      return Number(have) < Number(want);
    case "<=":
      return Number(have) <= Number(want);
  }
  throw new QuerySyntaxError(`traceql operator ${op} is not modelled`);
}

function field(text: string, node: Node): { name: string; read: (span: Span) => Value } {
  const name = textOf(text, node);
  if (node.name === "IntrinsicField") {
    const read = intrinsics[name];
    if (!read) throw new QuerySyntaxError(`traceql intrinsic ${name} is not modelled`);
    return { name, read };
  }
  const key = textOf(text, node.getChild("Identifier")).replace(/^\./, "");
  if (node.getChild("Resource")) return { name, read: (s) => s.resource.attributes[key] };
  if (node.getChild("Span")) return { name, read: (s) => s.attributes[key] };
  if (node.firstChild?.name !== "Identifier")
    throw new QuerySyntaxError(`traceql scope of ${name} is not modelled`);
  // Unscoped `.key`: the span's attribute, else the resource's (Tempo looks in both).
  return { name, read: (s) => s.attributes[key] ?? s.resource.attributes[key] };
}

function fieldExpression(text: string, node: Node, fields: string[]): (span: Span) => boolean {
  const parts = node.getChildren("FieldExpression");
  const op = parts[0]?.nextSibling;
  if (parts.length === 2 && op) {
    const [left, right] = parts as [Node, Node];
    if (op.name === "And" || op.name === "Or") {
      const a = fieldExpression(text, left, fields);
      const b = fieldExpression(text, right, fields);
      return op.name === "And" ? (s) => a(s) && b(s) : (s) => a(s) || b(s);
    }
    const target = left.firstChild;
    const value = right.getChild("Static");
    if (target && value && (target.name === "AttributeField" || target.name === "IntrinsicField")) {
      const { name, read } = field(text, target);
      fields.push(name);
      const operator = textOf(text, op);
      return (s) => compare(read(s), operator, value, text);
    }
  }
  if (parts.length === 1 && parts[0] && textOf(text, node).trim().startsWith("("))
    return fieldExpression(text, parts[0], fields);
  throw new QuerySyntaxError(`traceql condition ${textOf(text, node)} is not modelled`);
}

/** The `{ … }` span filters of a TraceQL query. */
export function traceqlFilters(query: string): SpanFilter[] {
  const { tree, text } = parseQuery("traceql", query);
  return descendants(tree.topNode, "SpansetFilter").map((filter) => {
    const fields: string[] = [];
    const condition = filter.getChild("FieldExpression");
    const test = condition ? fieldExpression(text, condition, fields) : () => true;
    return { text: textOf(text, filter), fields, test };
  });
}

// --- checking against the backends ----------------------------------------------------

export interface CheckOptions {
  /** Metric names recording rules write: they exist once the rules run (promtool checks them). */
  recorded?: Set<string>;
}

const distance = (a: string, b: string): number => {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number;
      row[j] = Math.min(
        above + 1,
        (row[j - 1] as number) + 1,
        diagonal + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      diagonal = above;
    }
  }
  return row[b.length] as number;
};

/** The name among `known` the reader most likely meant, as "; did you mean x?". */
function suggest(name: string, known: Iterable<string>): string {
  const normal = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, "_");
  let best: string | undefined;
  let bestDistance = Math.max(3, Math.floor(name.length / 4)) + 1;
  for (const candidate of new Set(known)) {
    if (normal(candidate) === normal(name)) return `; did you mean ${candidate}?`;
    const d = distance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best ? `; did you mean ${best}?` : "";
}

// What the OTLP translation makes of the resource attributes people reach for first.
const prometheusNames: Record<string, string> = {
  "service.name": "job",
  service_name: "job",
  "service.instance.id": "instance",
  service_instance_id: "instance",
};

function checkPromql(text: string, series: PromSeries[], options: CheckOptions): string[] {
  const problems: string[] = [];
  const selectors = promqlSelectors(text).filter(
    (s) => !(s.metric && options.recorded?.has(s.metric)),
  );
  const selected: PromSeries[] = [];
  for (const selector of selectors) {
    const named = series.filter((s) => selector.metric === undefined || s.name === selector.metric);
    if (named.length === 0) {
      problems.push(
        `no series named ${selector.metric} in Prometheus${suggest(
          selector.metric ?? "",
          series.map((s) => s.name),
        )}`,
      );
      continue;
    }
    const found = selectSeries(series, selector);
    selected.push(...found);
    if (found.length > 0) continue;
    const labels = new Set(named.flatMap((s) => Object.keys(s.labels)));
    const reason = selector.matchers.flatMap((m) => {
      if (m.op.startsWith("!")) return [];
      if (!labels.has(m.label)) {
        const promName = prometheusNames[m.label];
        const hint =
          promName && labels.has(promName)
            ? `; Prometheus names it ${promName}`
            : suggest(m.label, labels);
        return [`no series of ${selector.metric ?? "any metric"} has label ${m.label}${hint}`];
      }
      if (!named.some((s) => matches(s.labels, m))) {
        const values = [...new Set(named.map((s) => s.labels[m.label]).filter(Boolean))].sort();
        return [
          `no series has ${m.label}${m.op}${JSON.stringify(m.value)} (its values: ${values.join(", ")})`,
        ];
      }
      return [];
    });
    problems.push(
      `selects nothing: ${selector.text}${reason.length ? ` — ${reason.join("; ")}` : " (no series matches all its matchers together)"}`,
    );
  }
  if (problems.length === 0 && selected.length > 0) {
    for (const label of promqlGrouping(text)) {
      if (!selected.some((s) => label in s.labels))
        problems.push(
          `no selected series has label ${label}${suggest(
            label,
            selected.flatMap((s) => Object.keys(s.labels)),
          )}`,
        );
    }
  }
  return problems;
}

function checkLogql(text: string, entries: LokiEntry[]): string[] {
  const problems: string[] = [];
  const streamLabels = new Set(entries.flatMap((e) => Object.keys(e.labels)));
  const metadata = new Set(entries.flatMap((e) => Object.keys(e.metadata)));
  const selected: LokiEntry[] = [];
  for (const selection of logqlSelections(text)) {
    const wrong = selection.stream.flatMap((m) => {
      if (streamLabels.has(m.label)) return [];
      if (metadata.has(m.label))
        return [
          `${m.label} is not a stream label in Loki but structured metadata: select the stream by ${[...streamLabels].includes("service_name") ? "service_name" : "a stream label"} and filter with | ${m.label}${m.op}${JSON.stringify(m.value)}`,
        ];
      return [`no Loki stream has label ${m.label}${suggest(m.label, streamLabels)}`];
    });
    const missing = selection.filters.flatMap((m) =>
      streamLabels.has(m.label) || metadata.has(m.label)
        ? []
        : [
            `no log entry has label or structured metadata ${m.label}${suggest(m.label, [...streamLabels, ...metadata])}`,
          ],
    );
    const found = selectLogs(entries, selection);
    selected.push(...found);
    if (found.length === 0)
      problems.push(
        `selects no log lines: ${selection.text}${[...wrong, ...missing].length ? ` — ${[...wrong, ...missing].join("; ")}` : ""}`,
      );
  }
  if (problems.length === 0) {
    for (const label of logqlGrouping(text)) {
      if (!selected.some((e) => label in e.labels || label in e.metadata))
        problems.push(`no selected log entry has label ${label}`);
    }
  }
  return problems;
}

function checkTraceql(text: string, spans: Span[]): string[] {
  const problems: string[] = [];
  for (const filter of traceqlFilters(text)) {
    if (spans.some(filter.test)) continue;
    const absent = filter.fields.flatMap((name) => {
      const scoped = name.match(/^(resource|span)\.(.+)$/);
      if (!scoped) return [];
      const [, scope, key] = scoped as [string, string, string];
      const held = (s: Span) => (scope === "resource" ? s.resource.attributes : s.attributes);
      if (spans.some((s) => key in held(s))) return [];
      const other = scope === "resource" ? "span" : "resource";
      const elsewhere = spans.some(
        (s) => key in (other === "resource" ? s.resource.attributes : s.attributes),
      );
      return [
        elsewhere
          ? `no span has ${name}: it is a ${other} attribute, ${other}.${key}`
          : `no span has ${name}${suggest(
              key,
              spans.flatMap((s) => Object.keys(held(s))),
            )}`,
      ];
    });
    problems.push(
      `finds no spans: ${filter.text}${absent.length ? ` — ${absent.join("; ")}` : ""}`,
    );
  }
  return problems;
}

/**
 * What is wrong with a query against the modelled backends: it does not parse with its
 * backend's grammar, or part of it selects nothing (and why). An empty list: it selects data.
 */
export function checkQuery(
  language: Language,
  text: string,
  backends: Backends,
  options: CheckOptions = {},
): string[] {
  try {
    if (language === "promql") return checkPromql(text, backends.prometheus, options);
    if (language === "logql") return checkLogql(text, backends.loki);
    return checkTraceql(text, backends.tempo);
  } catch (error) {
    if (error instanceof QuerySyntaxError) return [error.message];
    throw error;
  }
}
