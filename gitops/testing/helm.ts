// Rendering charts with the real, pinned helm binary (scripts/tools.ts).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

/** `helm template` of a local chart, parsed into objects. */
export async function renderChart(chart: string, options: RenderOptions): Promise<Rendered[]> {
  const args = ["template", options.release, chart, "--namespace", options.namespace];
  for (const file of options.valueFiles ?? []) args.push("--values", file);
  let scratch: string | undefined;
  if (options.values) {
    scratch = mkdtempSync(join(tmpdir(), "gitops-values-"));
    const file = join(scratch, "values.json");
    writeFileSync(file, JSON.stringify(options.values));
    args.push("--values", file);
  }
  try {
    const out = await helm(args);
    return out.split(/^---\s*$/m).flatMap((chunk) => {
      const source = chunk.match(/^# Source: (.+)$/m)?.[1]?.trim() ?? "";
      return parseDocuments(chunk)
        .filter(isKubeObject)
        .map((object) => ({ source, object }));
    });
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
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
