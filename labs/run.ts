// `bun run lab` lists the labs, `bun run lab <n>` prints one's goal and hints, and
// `bun run lab <n> check [answer...]` checks the tree (and the answers) against real telemetry.
import { CliError, exitWithError, shellWord } from "../cli/errors.ts";
import { parseFlags } from "../cli/flags.ts";
import { answerCount, type Lab } from "./lab.ts";
import { labs } from "./labs.ts";

const COMMAND = "bun run lab";

const help = `usage: ${COMMAND} [<n> [check [answer]]]

  ${COMMAND}                      list the labs
  ${COMMAND} <n>                  the lab's goal, the files to touch, hints
  ${COMMAND} <n> check [answer]   check your change and answer; the first step missing is
                                   named with the next hint

A check starts both services from this tree with the settings of gitops/services/ (it never
changes your files) and reads what they export. The course: docs/labs.md`;

export function describe(n: number, lab: Lab): string {
  return [
    `lab ${n}: ${lab.title}`,
    "",
    lab.goal,
    "",
    `files: ${lab.files.join(", ")}`,
    "hints:",
    ...lab.hints.map((hint, i) => `  ${i + 1}. ${hint}`),
    "",
    `check: ${lab.check}`,
  ].join("\n");
}

function pick(word: string): [number, Lab] {
  const n = /^\d+$/.test(word) ? Number(word) : Number.NaN;
  const lab = labs[n - 1];
  if (!lab)
    throw new CliError(
      `no lab ${JSON.stringify(word)}: there are labs 1 to ${labs.length}`,
      `${COMMAND} lists them`,
    );
  return [n, lab];
}

async function main(argv: string[]) {
  const { values, positionals } = parseFlags(
    COMMAND,
    argv,
    { help: { type: "boolean", short: "h" } },
    { positionals: true },
  );
  if (values.help) return console.log(help);
  const [which, action, ...answers] = positionals;
  if (which === undefined) {
    for (const [i, lab] of labs.entries()) console.log(`${i + 1}  ${lab.title}`);
    return console.log(`\n${COMMAND} <n> shows one; the course is docs/labs.md`);
  }
  const [n, lab] = pick(which);
  if (action === undefined) return console.log(describe(n, lab));
  if (action !== "check")
    throw new CliError(`unknown action ${JSON.stringify(action)}`, `${COMMAND} ${n} check`);
  const takes = answerCount(lab);
  // The shell splits an unquoted query into words: more words than answers is that, or a slip.
  if (answers.length > takes)
    throw new CliError(
      `lab ${n} takes ${takes} answer${takes === 1 ? "" : "s"}, and got ${answers.length} words: ${answers.join(" ")}`,
      takes === 1
        ? `quote it, so the shell passes it as one: ${COMMAND} ${n} check ${shellWord(answers.join(" "))}`
        : `quote each answer that has spaces: ${lab.check}`,
    );
  console.log(`lab ${n}: running both services and reading their telemetry...`);
  await lab.verify(answers, (line) => console.log(`  ok  ${line}`));
  console.log(`lab ${n} passed`);
}

if (import.meta.main) await main(process.argv.slice(2)).catch(exitWithError);
