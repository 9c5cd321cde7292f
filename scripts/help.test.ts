// "Every command answers --help": each package.json script and each bootstrap/*.ts entry point,
// run as a user would, prints its usage and exits 0 within a second, doing nothing else.
import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const { scripts } = (await Bun.file(join(root, "package.json")).json()) as {
  scripts: Record<string, string>;
};

// npm's lifecycle scripts: `bun install` runs them; they are not commands anyone types.
const LIFECYCLE = new Set(["preinstall", "install", "postinstall", "prepare", "prepublishOnly"]);
// Scripts that are a third-party tool's own command, with that tool's help.
const FOREIGN_HELP: Record<string, RegExp> = { typecheck: /^tsc: The TypeScript Compiler/ };
const USAGE = /^usage: /;
// The command's own CPU time (with its children's): on a busy machine the wall clock stretches
// for everyone, but --help costs the same. A command that waits on something instead is stopped
// by the wall-clock bound.
const CPU_LIMIT_MS = 1000;
const WALL_LIMIT_MS = 3000;

const commands = [
  ...Object.keys(scripts)
    .filter((name) => !LIFECYCLE.has(name))
    .map((name) => ({
      command: `bun run ${name} --help`,
      argv: ["bun", "run", name, "--help"],
      usage: FOREIGN_HELP[name] ?? USAGE,
    })),
  ...readdirSync(join(root, "bootstrap"))
    .filter((file) => file.endsWith(".ts") && !file.endsWith(".test.ts"))
    .sort()
    .map((file) => ({
      command: `bun bootstrap/${file} --help`,
      argv: ["bun", `bootstrap/${file}`, "--help"],
      usage: USAGE,
    })),
];

test("the list covers the scripts and the bootstrap commands", () => {
  expect(commands.map((c) => c.command)).toContain("bun run lint --help");
  expect(commands.map((c) => c.command)).toContain("bun bootstrap/up.ts --help");
});

async function run(argv: string[]) {
  // A command that does its whole job instead (lint) is stopped rather than waited for.
  const child = Bun.spawn(argv, {
    cwd: root,
    stdout: "pipe",
    stderr: "pipe",
    timeout: WALL_LIMIT_MS,
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  const cpuMs = Number(child.resourceUsage()?.cpuTime.total ?? 0n) / 1000;
  return { stdout, stderr, code, cpuMs };
}

test.concurrent.each(commands)(
  "$command prints its usage and exits 0 within a second",
  async ({ argv, usage }) => {
    const { stdout, stderr, code, cpuMs } = await run(argv);
    // One object, so a failure shows everything the command did.
    const cpu = cpuMs < CPU_LIMIT_MS ? "under 1 s" : `${Math.round(cpuMs)} ms`;
    expect({ code, firstLine: stdout.split("\n")[0], cpu }).toEqual({
      code: 0, // 143 when stopped after 3 s
      firstLine: expect.stringMatching(usage),
      cpu: "under 1 s",
    });
    // `bun run` echoes the script's command line on stderr; nothing else belongs there.
    expect(stderr.replace(/^\$ .*\n/, "")).toBe("");
  },
);
