// Each lab in a temporary copy of the tree: its check fails on the unmodified tree (the files the
// labs have you edit as committed, whatever you have changed in them) with the lab's first hint, names the next step once the change is made but the answer is missing, refuses a
// wrong answer, and passes with the reference solution (labs/solutions.ts). A check never writes
// to the tree it checks.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { $ } from "bun";
import { freePort } from "../apps/telemetry/testing/process.ts";
import type { Lab } from "./lab.ts";
import { labs } from "./labs.ts";
import { applySolution, solutions } from "./solutions.ts";

const root = join(import.meta.dir, "..");
const work = mkdtempSync(join(tmpdir(), "labs-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// What the services, the chart renders and the pipeline model need; node_modules and the pinned
// tools are shared through symlinks (not hashed: a check must not write there either, but they
// are not the learner's files).
const TREE = [
  "apps",
  "bootstrap",
  "cli",
  "gitops",
  "labs",
  "model",
  "scripts",
  "package.json",
  "tsconfig.json",
];

// The files the labs have you edit, taken as committed (HEAD): the labs let you leave your work
// uncommitted, and it must not be the "unmodified" tree. The rest is the working tree, so that
// the labs' own code is tested as it is written.
const LEARNER_FILES = [
  ...new Set([...labs.flatMap((l) => l.files), ...solutions.flatMap((s) => Object.keys(s.edits))]),
].sort();
// Read from git once per file: every copy takes the same committed text.
const commits = new Map<string, Promise<string>>();
const committed = (file: string) => {
  let text = commits.get(file);
  if (!text) {
    text = $`git show ${`HEAD:${file}`}`.cwd(root).quiet().text();
    commits.set(file, text);
  }
  return text;
};

async function copyTree(name: string): Promise<string> {
  const copy = join(work, name);
  await $`mkdir -p ${copy} && cp -a ${TREE} ${copy}/`.cwd(root).quiet();
  for (const file of LEARNER_FILES) await Bun.write(join(copy, file), await committed(file));
  symlinkSync(join(root, "node_modules"), join(copy, "node_modules"));
  symlinkSync(join(root, ".cache"), join(copy, ".cache"));
  return copy;
}

/** Every file of the copy, outside the symlinks, with the hash of its bytes. */
async function hashes(copy: string): Promise<Record<string, string>> {
  const files = [...new Bun.Glob("**").scanSync({ cwd: copy, onlyFiles: true, dot: true })].sort();
  const out: Record<string, string> = {};
  for (const file of files) out[file] = String(Bun.hash(await Bun.file(join(copy, file)).bytes()));
  return out;
}

// The copy's own modules: a check reads the tree its code sits in.
const loadLabs = async (copy: string): Promise<Lab[]> =>
  (await import(join(copy, "labs/labs.ts"))).labs;

/** The steps that held (`ok` lines), and the step missing, if one is, with its hint. */
type Outcome = { ok: string[]; message?: string; hint?: string };
async function outcome(lab: Lab, answers: string[]): Promise<Outcome> {
  const ok: string[] = [];
  try {
    await lab.verify(answers, (line) => ok.push(line));
    return { ok };
  } catch (error) {
    // NotYet of the copy's own module (a class of its own): an error with the next hint.
    if (!(error instanceof Error) || error.constructor.name !== "NotYet") throw error;
    return { ok, message: error.message, hint: (error as Error & { fix: string }).fix };
  }
}

const hintOf = (o: Outcome) => o.hint;

let unmodified: { copy: string; labs: Lab[]; before: Record<string, string> };
beforeAll(async () => {
  const copy = await copyTree("unmodified");
  unmodified = { copy, labs: await loadLabs(copy), before: await hashes(copy) };
});

test("the unmodified copy holds the learner's files as committed, not as edited", async () => {
  for (const file of LEARNER_FILES)
    expect(await Bun.file(join(unmodified.copy, file)).text()).toBe(await committed(file));
});

for (const [i, solution] of solutions.entries()) {
  const n = i + 1;
  test.concurrent(`lab ${n}: fails on the unmodified tree with its first hint, passes once done`, async () => {
    const fresh = unmodified.labs[i] as Lab;
    const first = await outcome(fresh, []);
    expect(hintOf(first)).toContain(fresh.hints[0] as string);

    // Lab 5's change is its answer alone; the others edit the tree first.
    const edited = Object.keys(solution.edits).length > 0;
    const copy = edited ? await copyTree(`lab-${n}`) : unmodified.copy;
    if (edited) await applySolution(copy, solution);
    const before = edited ? await hashes(copy) : unmodified.before;
    const lab = (edited ? await loadLabs(copy) : unmodified.labs)[i] as Lab;

    if (edited) {
      // The change is there: the check moves on to the next step and its hint.
      const next = await outcome(lab, []);
      expect(hintOf(next)).toBeString();
      expect(hintOf(next)).not.toContain(lab.hints[0] as string);
    }
    // What is done is reported as done (ok lines); the error names only the step missing.
    const unanswered = edited ? await outcome(lab, []) : first;
    expect(unanswered.ok.length).toBeGreaterThan(0);
    expect(unanswered.message).toStartWith("no ");
    const refused = await outcome(lab, solution.wrong);
    expect(hintOf(refused)).toBeString();
    if (solution.wrongSays) expect(refused.message).toStartWith(solution.wrongSays);
    const passed = await outcome(lab, solution.answers);
    expect(hintOf(passed)).toBeUndefined();
    expect(passed.ok.length).toBeGreaterThan(0);
    for (const answers of solution.alsoRight ?? [])
      expect(hintOf(await outcome(lab, answers))).toBeUndefined();
    expect(await hashes(copy)).toEqual(before);
    if (!edited) expect(await hashes(unmodified.copy)).toEqual(unmodified.before);
  }, 60_000);
}

// The test runner's own OTEL_* settings stay out of the services.
const serviceEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !name.startsWith("OTEL_")),
);

test.concurrent("lab 2's hint: the explain command it names shows the new instrument's Prometheus name", async () => {
  const hint = labs[1]?.hints[1] ?? "";
  const path = /`bun run explain (\/\S+)`/.exec(hint)?.[1];
  expect(path).toBeString();
  const copy = await copyTree("lab-2-explain");
  await applySolution(copy, solutions[1] as (typeof solutions)[number]);
  const receiver = String(await freePort());
  const dev = Bun.spawn([process.execPath, "apps/dev.ts"], {
    cwd: copy,
    env: {
      ...serviceEnv,
      API_GATEWAY_PORT: String(await freePort()),
      USER_SERVICE_PORT: String(await freePort()),
      DEV_RECEIVER_PORT: receiver,
    },
    stdout: "ignore",
    stderr: "pipe",
  });
  try {
    let said = "";
    const reader = dev.stderr.getReader();
    while (!said.includes("dev: api-gateway on")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`bun run dev did not start:\n${said}`);
      said += new TextDecoder().decode(value);
    }
    const explain = await $`${process.execPath} apps/explain.ts ${path as string}`
      .cwd(copy)
      .env({ ...serviceEnv, DEV_RECEIVER_PORT: receiver })
      .quiet();
    expect(explain.stdout.toString()).toContain("    app_user_not_found_total\n");
  } finally {
    dev.kill();
    await dev.exited;
  }
}, 30_000);
