// The house's floors, as imports: `cli/` is the ground every part stands on and imports no part,
// and no two modules import each other, however long the way round.
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { $ } from "bun";

const root = join(import.meta.dir, "..");
// Type-only imports count: a reader follows them as much as any other (the transpiler drops them).
const IMPORT = /^(?:import|export)\b[^;]*?\bfrom\s+"(\.[^"]+)"/gms;

async function importGraph(): Promise<Map<string, string[]>> {
  const files = (
    await $`git ls-files --cached --others --exclude-standard -- '*.ts'`.cwd(root).text()
  )
    .split("\n")
    .filter((f) => f && !f.endsWith(".test.ts") && existsSync(join(root, f)));
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const source = await Bun.file(join(root, file)).text();
    const local = [...source.matchAll(IMPORT)].map((m) =>
      normalize(join(dirname(file), m[1] ?? "")),
    );
    graph.set(file, local);
  }
  return graph;
}

/** One cycle as a path a → … → a, or undefined. Depth-first, colouring nodes as it goes. */
function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === "done") return undefined;
    if (state.get(node) === "open") return [...path.slice(path.indexOf(node)), node];
    state.set(node, "open");
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, "done");
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

test("cli/ imports no other part of the repository", async () => {
  const graph = await importGraph();
  const outward = [...graph]
    .filter(([file]) => file.startsWith("cli/"))
    .flatMap(([file, imports]) =>
      imports.filter((i) => !i.startsWith("cli/")).map((i) => `${file} → ${i}`),
    );
  expect(outward).toEqual([]);
  expect([...graph.keys()].filter((f) => f.startsWith("cli/")).length).toBeGreaterThan(0);
});

test("no import cycles between modules", async () => {
  expect(findCycle(await importGraph())).toBeUndefined();
});

test("the cycle finder finds a cycle the long way round", () => {
  const graph = new Map([
    ["a.ts", ["b.ts"]],
    ["b.ts", ["c.ts"]],
    ["c.ts", ["a.ts"]],
  ]);
  expect(findCycle(graph)).toEqual(["a.ts", "b.ts", "c.ts", "a.ts"]);
});
