// Every query the README and docs/ show a reader parses with its backend's grammar and selects
// data in the modelled backends (model/queries.ts). A query is marked by its fence: a
// ```promql, ```logql or ```traceql block holds one query per line; lines starting with `#` are
// captions. A placeholder in a string, `"<32 hex digits>"`, stands for any value.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startOtlpReceiver } from "../apps/telemetry/testing/otlp-receiver.ts";
import { startService } from "../apps/telemetry/testing/process.ts";
import { captureServices, renderPod } from "../gitops/pipeline/capture.ts";
import { type Backends, backends } from "../model/backends.ts";
import { collected } from "../model/collected.ts";
import { checkQuery, type Language, languages } from "../model/queries.ts";

const root = resolve(import.meta.dir, "..");
const pages = [
  "README.md",
  ...readdirSync(join(root, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

interface DocQuery {
  page: string;
  line: number;
  language: Language;
  text: string;
}

/** The queries in a page's ```promql / ```logql / ```traceql blocks, with their line numbers. */
export function docQueries(page: string, markdown: string): DocQuery[] {
  const found: DocQuery[] = [];
  let language: Language | undefined;
  let inFence = false;
  markdown.split("\n").forEach((raw, i) => {
    const fence = raw.match(/^\s*```(\w*)\s*$/);
    if (fence) {
      inFence = !inFence;
      language = inFence ? languages.find((l) => l === fence[1]) : undefined;
      return;
    }
    const text = raw.trim();
    if (language && text && !text.startsWith("#"))
      found.push({ page, line: i + 1, language, text });
  });
  return found;
}

// A placeholder value matches any value: `label="<…>"` is checked as `label=~".+"`.
const withPlaceholders = (text: string) => text.replace(/(=)"<[^">]*>"/g, '=~".+"');

const queries = (
  await Promise.all(
    pages.map(async (page) => docQueries(page, await Bun.file(join(root, page)).text())),
  )
).flat();
const model = backends(await captureServices());

/**
 * The README's worked example adds one line to user-service (its ```ts block) and then queries
 * for it. Its queries are checked against user-service with that edit made, in a temporary copy
 * that runs for real (with its pod's environment) and whose spans replace the unedited ones.
 */
async function withReadmeEdit(readme: string): Promise<Backends> {
  const anchor = "const user = users.get(id);";
  const edit = readme.match(/after\s+`const user = users\.get\(id\);`[\s\S]*?```ts\n([^\n]+)\n```/);
  if (!edit)
    throw new Error(`README: the worked example no longer adds a line after \`${anchor}\``);
  const source = join(root, "apps/user-service");
  const copy = mkdtempSync(join(tmpdir(), "readme-edit-"));
  const receiver = startOtlpReceiver();
  try {
    const users = await Bun.file(join(source, "src/users.ts")).text();
    if (!users.includes(anchor)) throw new Error(`users.ts has no line ${anchor}`);
    await Bun.$`cp -r ${join(source, "src")} ${join(source, "package.json")} ${copy}`.quiet();
    symlinkSync(join(source, "node_modules"), join(copy, "node_modules"));
    await Bun.write(join(copy, "src/users.ts"), users.replace(anchor, `${anchor}\n${edit[1]}`));
    const { env } = await renderPod("user-service");
    const service = await startService(join(copy, "src/index.ts"), {
      ...env,
      // Whatever a learner's labs set in gitops/services (ERROR_RATE, sampling: docs/labs.md),
      // both lookups must reach their SELECT users span and be exported.
      ERROR_RATE: "0",
      OTEL_TRACES_SAMPLER: "always_on",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: "50",
      PORT: "0",
    });
    try {
      // A user that exists and one that does not, as the example's curl asks the gateway for.
      for (const id of [42, 9999]) await (await fetch(`${service.url}/users/${id}`)).arrayBuffer();
      await receiver.waitForSpans(
        (spans) => spans.filter((s) => s.name === "SELECT users").length >= 2,
      );
    } finally {
      await service.stop();
    }
    const capture = await captureServices();
    const edited = receiver.spans.map(collected);
    return backends({
      ...capture,
      spans: [
        ...capture.spans.filter((s) => s.resource.attributes["service.name"] !== "user-service"),
        ...edited,
      ],
    });
  } finally {
    await receiver.stop();
    rmSync(copy, { recursive: true, force: true });
  }
}

// At top level, as the capture is: a slow start on a busy machine is not cut by a test timeout.
const edited = await withReadmeEdit(await Bun.file(join(root, "README.md")).text());

describe("the queries in README.md and docs/ select data", () => {
  test("each language has queries to check, the README's TraceQL among them", () => {
    for (const language of languages)
      expect(queries.filter((q) => q.language === language).length, language).toBeGreaterThan(0);
    expect(queries.filter((q) => q.page === "README.md").map((q) => q.language)).toContain(
      "traceql",
    );
  });

  test("docs/: every query parses and selects data", () => {
    const problems = queries
      .filter((q) => q.page !== "README.md")
      .flatMap((q) =>
        checkQuery(q.language, withPlaceholders(q.text), model).map(
          (p) => `${q.page}:${q.line}: ${q.text}\n    ${p}`,
        ),
      );
    expect(problems).toEqual([]);
  });

  test("README.md: every query parses and selects data once the worked example's edit is made", () => {
    const problems = queries
      .filter((q) => q.page === "README.md")
      .flatMap((q) =>
        checkQuery(q.language, withPlaceholders(q.text), edited).map(
          (p) => `${q.page}:${q.line}: ${q.text}\n    ${p}`,
        ),
      );
    expect(problems).toEqual([]);
  });
});
