// Every relative link in README.md and docs/*.md leads somewhere: the file exists and, when the
// link names a heading (#anchor), the heading exists, slugged as GitHub slugs it.
import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const pages = [
  "README.md",
  ...readdirSync(join(root, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

/** Markdown outside fenced code blocks (links in examples are not links). */
const prose = (text: string) => text.replace(/^```[\s\S]*?^```/gm, "");

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes, repeats numbered. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const found = new Set<string>();
  for (const [, heading] of prose(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*$/gm)) {
    const slug = (heading as string)
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    found.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return found;
}

describe("docs", () => {
  test("README.md is a newcomer's guide: at most 16 KB", async () => {
    expect((await Bun.file(join(root, "README.md")).bytes()).length).toBeLessThanOrEqual(16_384);
  });

  test("the README's quick start shows both paths within its first 120 lines", async () => {
    const head = (await Bun.file(join(root, "README.md")).text()).split("\n").slice(0, 120);
    expect(head.some((line) => line.includes("bun bootstrap/up.ts"))).toBe(true);
    expect(head.some((line) => line.includes("bun run dev"))).toBe(true);
    expect(head.some((line) => line.startsWith("curl "))).toBe(true);
  });

  test("every relative link resolves: the file, and the heading it names", async () => {
    const broken: string[] = [];
    for (const page of pages) {
      const text = await Bun.file(join(root, page)).text();
      for (const [, target] of prose(text).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        if (/^[a-z]+:/i.test(target as string)) continue; // http(s), mailto
        const [path = "", anchor] = (target as string).split("#");
        const file = path ? resolve(root, dirname(page), path) : join(root, page);
        if (!(await Bun.file(file).exists()) && !isDirectory(file)) {
          broken.push(`${page}: ${target} (no such file ${relative(root, file)})`);
          continue;
        }
        if (anchor && file.endsWith(".md") && !anchors(await Bun.file(file).text()).has(anchor))
          broken.push(`${page}: ${target} (no heading #${anchor} in ${relative(root, file)})`);
      }
    }
    expect(broken).toEqual([]);
  });

  test("anchors are slugged as GitHub slugs them", () => {
    expect([...anchors("# Edit → ship → see\n## `bun run dev`\n## Tests\n## Tests\n")]).toEqual([
      "edit--ship--see",
      "bun-run-dev",
      "tests",
      "tests-1",
    ]);
  });
});

function isDirectory(path: string): boolean {
  try {
    return readdirSync(path).length >= 0;
  } catch {
    return false;
  }
}
