// Reading the repository's YAML: value files and rendered manifests. Paths are
// repository-relative or absolute (a temporary copy of the tree passes absolute paths).
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const repoRoot = join(import.meta.dir, "..");

/** A repository-relative (or absolute) file's text. */
export function readText(file: string): string {
  return readFileSync(resolve(repoRoot, file), "utf8");
}

/** Parses a multi-document YAML text; empty documents are dropped. */
export function parseDocuments(text: string): unknown[] {
  const parsed: unknown = Bun.YAML.parse(text);
  // Bun returns an array for multi-document input and the document itself otherwise.
  const docs = text.match(/^---\s*$/m) && Array.isArray(parsed) ? parsed : [parsed];
  return docs.filter((doc) => doc !== null && doc !== undefined);
}

/** A single-document YAML file (values files, kind config). */
export function loadYaml<T = Record<string, unknown>>(file: string): T {
  const docs = parseDocuments(readText(file));
  if (docs.length !== 1)
    throw new Error(`${file}: expected one YAML document, found ${docs.length}`);
  return docs[0] as T;
}
