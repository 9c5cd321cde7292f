// Reading the GitOps tree from disk: which YAML files exist and what objects they hold.
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { parseDocuments, readText, repoRoot } from "../../model/yaml.ts";

export const gitopsDir = join(repoRoot, "gitops");

/** A parsed YAML document with the file it came from (repository-relative). */
export type Doc = { file: string; index: number; value: unknown };

/** Loose shape of any Kubernetes object as read from YAML. */
export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    finalizers?: string[];
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [key: string]: unknown;
};

export function isKubeObject(value: unknown): value is KubeObject {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as KubeObject).apiVersion === "string" &&
    typeof (value as KubeObject).kind === "string"
  );
}

/**
 * Every YAML file under `dir` (repository-relative paths, sorted), except Helm templates, which
 * are Go templates until rendered, and node_modules.
 */
export function yamlFilesUnder(dir: string): string[] {
  const found: string[] = [];
  const walk = (current: string) => {
    for (const entry of readdirSync(current).sort()) {
      if (entry === "node_modules" || entry === "templates") continue;
      const path = join(current, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.ya?ml$/.test(entry)) found.push(relative(repoRoot, path));
    }
  };
  walk(dir);
  return found;
}

export function loadDocs(file: string): Doc[] {
  return parseDocuments(readText(file)).map((value, index) => ({ file, index, value }));
}

/** Reads a dotted path ("a.b.c") out of nested maps; keys may contain dots if quoted as [..]. */
export function dig(value: unknown, path: readonly string[]): unknown {
  let current: unknown = value;
  for (const key of path) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
