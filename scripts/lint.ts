// `bun run lint`: the repository's quality gate, run by the pre-commit hook and by CI.
// TypeScript (Biome + tsc), YAML (parse with duplicate-key detection), and a secret scan.
import { $ } from "bun";
import { exitWithError } from "../cli/errors.ts";
import { parseFlags } from "../cli/flags.ts";

const usage = `usage: bun run lint

Checks the repository as the pre-commit hook and CI do: Biome and tsc for TypeScript, every
YAML file outside Helm templates (duplicate keys too), and a secret scan of the tracked files.
Prints one line per check and exits 1 when one fails.

  -h, --help   show this help`;

try {
  const { values } = parseFlags("bun run lint", process.argv.slice(2), {
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
} catch (error) {
  exitWithError(error);
}

const tracked = (await $`git ls-files --cached --others --exclude-standard`.text())
  .split("\n")
  .filter(Boolean);
// Helm templates are Go templates, not YAML, until rendered (the gitops tests render them).
const yamlFiles = tracked.filter(
  (f) => /\.ya?ml$/.test(f) && !/\/templates\//.test(f) && !f.startsWith("node_modules/"),
);

const checks: [name: string, run: () => Promise<unknown>][] = [
  ["biome", () => $`bunx biome check .`.quiet()],
  ["tsc", () => $`bunx tsc --noEmit -p .`.quiet()],
  ["yaml", () => (yamlFiles.length ? $`bunx yamllint ${yamlFiles}`.quiet() : Promise.resolve())],
  ["secrets", () => $`bunx secretlint ${tracked} --maskSecrets`.quiet()],
];

let failed = 0;
for (const [name, run] of checks) {
  const started = performance.now();
  try {
    await run();
    console.log(`lint: ${name} ok (${Math.round(performance.now() - started)} ms)`);
  } catch (error) {
    failed++;
    const out = error as { stdout?: Buffer; stderr?: Buffer };
    console.error(`lint: ${name} FAILED\n${out.stdout ?? ""}${out.stderr ?? ""}`);
  }
}
if (failed) {
  console.error(
    `lint: ${failed} check(s) failed; fix them (\`bunx biome check --write .\` formats TypeScript).`,
  );
  process.exit(1);
}
