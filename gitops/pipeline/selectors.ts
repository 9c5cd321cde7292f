// The series selectors in the project's PromQL and LogQL, and whether they select anything in
// the modelled backends. A query that selects nothing shows an empty panel or a silent alert,
// so every selector must match at least one series the pipeline really produces.
import type { LokiEntry } from "../../model/loki-otlp.ts";
import type { PromSeries } from "../../model/prometheus-otlp.ts";

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

// PromQL keywords and Grafana functions that look like metric names.
const keywords = new Set(
  "by without on ignoring group_left group_right and or unless bool offset inf nan".split(" "),
);

function parseMatchers(body: string): Matcher[] {
  const matchers: Matcher[] = [];
  for (const m of body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)) {
    matchers.push({
      label: m[1] as string,
      op: m[2] as Matcher["op"],
      value: (m[3] as string).replace(/\\(.)/g, "$1"),
    });
  }
  return matchers;
}

/** Vector selectors of a PromQL expression (metric name and label matchers). */
export function promqlSelectors(expr: string): Selector[] {
  const selectors: Selector[] = [];
  // Strings, label lists of by/without/on/ignoring/group_*, and range/offset durations are
  // not selectors; blank them out (keeping braces' contents for the matcher parser).
  const masked = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, (s) => `"${"_".repeat(s.length - 2)}"`)
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, (s) =>
      " ".repeat(s.length),
    )
    .replace(/\[[^\]]*\]/g, (s) => " ".repeat(s.length));
  const re = /([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*(\{[^}]*\})?/g;
  for (const m of masked.matchAll(re)) {
    const [whole, word, braces] = m;
    if (!whole.trim() || (!word && !braces)) {
      if (m.index === re.lastIndex) re.lastIndex++;
      continue;
    }
    const start = m.index ?? 0;
    const after = masked.slice(start + whole.length).trimStart();
    const before = masked.slice(0, start);
    if (word && !braces && (after.startsWith("(") || keywords.has(word))) continue; // function
    if (word && /[0-9.]$/.test(before)) continue; // part of a number like 1e3 or 0.5
    if (word && /\$\{?$/.test(before)) continue; // a Grafana variable
    const original = expr.slice(start, start + whole.length);
    const bracesText = braces ? original.slice(original.indexOf("{")) : "";
    selectors.push({
      metric: word && !keywords.has(word) ? word : undefined,
      matchers: parseMatchers(bracesText),
      text: original.trim(),
    });
  }
  return selectors;
}

/** Labels a PromQL expression groups by (`by (...)`, `without (...)`). */
export function promqlGrouping(expr: string): string[] {
  return [...expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((m) =>
    (m[1] as string)
      .split(",")
      .map((label) => label.trim())
      .filter(Boolean),
  );
}

/** The stream selector and label filters of a LogQL log query. */
export function logqlParts(query: string): { stream: Matcher[]; filters: Matcher[] } {
  const open = query.indexOf("{");
  const close = query.indexOf("}", open);
  if (open < 0 || close < 0) throw new Error(`not a LogQL log query: ${query}`);
  const rest = query.slice(close + 1);
  const filters = [...rest.matchAll(/\|\s*([^|]+)/g)].flatMap((m) =>
    /^[a-zA-Z_]/.test((m[1] as string).trim()) ? parseMatchers(m[1] as string) : [],
  );
  return { stream: parseMatchers(query.slice(open, close + 1)), filters };
}

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
      selector.matchers.every((m) => matches(s.labels, m)),
  );
}

/** Loki entries a log query returns (stream selector, then label filters on all labels). */
export function selectLogs(entries: LokiEntry[], query: string): LokiEntry[] {
  const { stream, filters } = logqlParts(query);
  return entries.filter(
    (e) =>
      stream.every((m) => matches(e.labels, m)) &&
      filters.every((m) => matches({ ...e.labels, ...e.metadata }, m)),
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
