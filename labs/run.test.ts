// The lab command's own manner: the list, one lab, and bad input as one error: and one fix: line.

import { expect, test } from "bun:test";
import { runCommand } from "../cli/testing/run-command.ts";
import { labs } from "./labs.ts";

const root = `${import.meta.dir}/..`;
async function lab(...args: string[]) {
  const { stdout, stderr, code } = await runCommand([process.execPath, "labs/run.ts", ...args], {
    cwd: root,
  });
  return { stdout, stderr, code };
}

test.concurrent("bun run lab lists the six labs in order", async () => {
  const { stdout, code } = await lab();
  expect(code).toBe(0);
  expect(stdout).toStartWith(labs.map((l, i) => `${i + 1}  ${l.title}`).join("\n"));
});

test.concurrent("bun run lab <n> prints the goal, the files, the hints and the check", async () => {
  const { stdout, code } = await lab("4");
  const four = labs[3];
  expect(code).toBe(0);
  for (const part of [four?.goal, four?.check, ...(four?.hints ?? []), ...(four?.files ?? [])])
    expect(stdout).toContain(part as string);
});

test.concurrent("a lab that does not exist, an unknown action, a bad flag: error and fix", async () => {
  const results = await Promise.all([lab("7"), lab("2", "chek"), lab("--verbose")]);
  expect(results.map((r) => r.stderr)).toEqual([
    'error: no lab "7": there are labs 1 to 6\n  fix: bun run lab lists them\n',
    'error: unknown action "chek"\n  fix: bun run lab 2 check\n',
    "error: unknown flag --verbose\n  fix: bun run lab --help lists the flags\n",
  ]);
  expect(results.map((r) => r.code)).toEqual([1, 1, 1]);
});

test.concurrent("docs/labs.md has a section per lab, in order, naming its check", async () => {
  const page = await Bun.file(`${root}/docs/labs.md`).text();
  const headings = [...page.matchAll(/^## (\d+)\. (.+)$/gm)].map((m) => `${m[1]}. ${m[2]}`);
  expect(headings).toEqual(labs.map((l, i) => `${i + 1}. ${l.title}`));
  for (const l of labs) expect(page).toContain(l.check.replace(/ <.*$|'.*$/, ""));
});

test.concurrent("more answers than the lab takes (an unquoted query split by the shell): error and fix, nothing run", async () => {
  const results = await Promise.all([
    lab("1", "check", "{", "span.app.user.found", "=", "false", "}"),
    lab("2", "check", "app_user_not_found_total", "extra"),
    lab("4", "check", "ServiceAvailabilityBudgetBurn", "5m", "now"),
  ]);
  expect(results.map((r) => r.stderr)).toEqual([
    "error: lab 1 takes 1 answer, and got 5 words: { span.app.user.found = false }\n" +
      "  fix: quote it, so the shell passes it as one: bun run lab 1 check '{ span.app.user.found = false }'\n",
    "error: lab 2 takes 1 answer, and got 2 words: app_user_not_found_total extra\n" +
      "  fix: quote it, so the shell passes it as one: bun run lab 2 check 'app_user_not_found_total extra'\n",
    "error: lab 4 takes 2 answers, and got 3 words: ServiceAvailabilityBudgetBurn 5m now\n" +
      "  fix: quote each answer that has spaces: bun run lab 4 check <alert name> <minutes, e.g. 9m>\n",
  ]);
  expect(results.map((r) => [r.code, r.stdout])).toEqual([
    [1, ""],
    [1, ""],
    [1, ""],
  ]);
});

test.concurrent("a check that stops prints what is done as ok lines, and error and fix for the step missing", async () => {
  const { stdout, stderr, code } = await lab("5", "check");
  expect(code).toBe(1);
  expect(stdout).toBe(
    "lab 5: running both services and reading their telemetry...\n" +
      "  ok  the collector stalled and spans were lost\n",
  );
  expect(stderr).toStartWith("error: no PromQL query yet: the one that shows the loss\n  fix: ");
}, 30_000);

test.concurrent("where a lab sends you to bun run dev, it says to restart it: dev does not reload", async () => {
  const page = await Bun.file(`${root}/docs/labs.md`).text();
  const sections = page.split(/^## \d+\. /m).slice(1);
  const texts = [...sections, ...labs.flatMap((l) => l.hints)];
  const toDev = texts.filter((text) => text.includes("`bun run dev`"));
  expect(toDev.length).toBeGreaterThan(0);
  for (const text of toDev) expect(text).toMatch(/restart|start it\s+again/i);
});
