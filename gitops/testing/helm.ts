// Rendering charts with the real, pinned helm binary (scripts/tools.ts).
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseDocuments, repoRoot } from "../../model/yaml.ts";
import { findHelm } from "../../scripts/tools.ts";
import { isKubeObject, type KubeObject } from "./load.ts";

// Found (and unpacked, once per machine) at import time, outside any test's timeout; a machine
// where no helm runs learns it from the first render, as a CliError, not at import.
const found = (() => {
  try {
    return findHelm();
  } catch (error) {
    return error as Error;
  }
})();

async function helm(args: string[]): Promise<string> {
  if (found instanceof Error) throw found;
  const proc = Bun.spawn([found, ...args], { cwd: repoRoot, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0)
    throw new Error(`helm ${args.join(" ")} failed (exit ${code}):\n${stderr.trim()}`);
  return stdout;
}

export type RenderOptions = {
  release: string;
  namespace: string;
  /** Repository-relative values files, in order. */
  valueFiles?: string[];
  /** Inline values (like Argo CD's helm.valuesObject), applied after the files. */
  values?: Record<string, unknown>;
};

/** One rendered object and the template it came from (helm's "# Source:" line). */
export type Rendered = { source: string; object: KubeObject };

/** The bytes of a file, or a chart directory's files (dot files too: .helmignore), hashed. */
function contentOf(path: string): string {
  const full = resolve(repoRoot, path);
  if (!existsSync(full)) return "missing";
  if (!statSync(full).isDirectory()) return String(Bun.hash(readFileSync(full)));
  const files = [...new Bun.Glob("**").scanSync({ cwd: full, onlyFiles: true, dot: true })].sort();
  return JSON.stringify(
    files.map((file) => [file, String(Bun.hash(readFileSync(join(full, file))))]),
  );
}

// The same render is asked for many times in one process (a lab check renders both services'
// pods on every run): helm runs once per set of inputs, keyed on everything `helm template`
// reads here: its arguments, the inline values, HELM_* settings, and the bytes of the chart's
// files and of each values file, so an edit between two renders renders anew.
const renders = new Map<string, Promise<string>>();

function template(chart: string, options: RenderOptions): Promise<string> {
  const args = ["template", options.release, chart, "--namespace", options.namespace];
  for (const file of options.valueFiles ?? []) args.push("--values", file);
  const key = JSON.stringify([
    found instanceof Error ? found.message : found,
    args,
    options.values ?? null,
    Object.entries(process.env).filter(([name]) => name.startsWith("HELM_")),
    [chart, ...(options.valueFiles ?? [])].map(contentOf),
  ]);
  let out = renders.get(key);
  if (!out) {
    out = (async () => {
      if (!options.values) return helm(args);
      const scratch = mkdtempSync(join(tmpdir(), "gitops-values-"));
      try {
        const file = join(scratch, "values.json");
        writeFileSync(file, JSON.stringify(options.values));
        return await helm([...args, "--values", file]);
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    })();
    renders.set(key, out);
  }
  return out;
}

/** `helm template` of a local chart, parsed into objects (new objects on every call). */
export async function renderChart(chart: string, options: RenderOptions): Promise<Rendered[]> {
  const out = await template(chart, options);
  return out.split(/^---\s*$/m).flatMap((chunk) => {
    const source = chunk.match(/^# Source: (.+)$/m)?.[1]?.trim() ?? "";
    return parseDocuments(chunk)
      .filter(isKubeObject)
      .map((object) => ({ source, object }));
  });
}

/** `helm lint --strict`; resolves to helm's report, rejects on any lint error or warning. */
export async function lintChart(
  chart: string,
  options: { valueFiles?: string[]; set?: Record<string, string> } = {},
): Promise<string> {
  const args = ["lint", "--strict", chart];
  for (const file of options.valueFiles ?? []) args.push("--values", file);
  for (const [key, value] of Object.entries(options.set ?? {}))
    args.push("--set-string", `${key}=${value}`);
  return helm(args);
}
