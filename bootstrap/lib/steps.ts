// Running one planned step's commands: long ones show their output as it comes (indented, with
// a line every 30 s of silence), every command has the step's timeout, and a failure or a
// timeout ends in a message naming the step and its fix.

import { CliError, formatDuration } from "../../cli/errors.ts";
import type { Step } from "./plan.ts";
import { type Command, exec, show } from "./run.ts";

export interface StepIo {
  root: string;
  print: (line: string) => void;
  /** How long a streamed command may be silent before a "still running" line. */
  quietMs?: number;
  /** Pause between attempts of a retried step. */
  retryMs?: number;
}

export async function runStep(step: Step, io: StepIo): Promise<void> {
  for (const command of step.commands) await runCommand(step, command, io);
}

async function runCommand(step: Step, command: Command, io: StepIo): Promise<void> {
  io.print(`    $ ${show(command)}`);
  // A freshly started git server can take a moment to answer on the host port.
  const attempts = step.id === "git-push" ? 10 : 1;
  for (let attempt = 1; ; attempt++) {
    const started = Date.now();
    let lastOutput = started;
    const quietMs = io.quietMs ?? 30_000;
    const heartbeat = step.streamOutput
      ? setInterval(() => {
          if (Date.now() - lastOutput < quietMs) return;
          lastOutput = Date.now();
          io.print(`    … still running (${formatDuration(Date.now() - started)})`);
        }, quietMs / 3)
      : undefined;
    const result = await exec(command, {
      cwd: io.root,
      timeoutMs: step.timeoutMs,
      onLine: step.streamOutput
        ? (line) => {
            lastOutput = Date.now();
            io.print(`    | ${line}`);
          }
        : undefined,
    }).finally(() => clearInterval(heartbeat));
    if (result.code === 0) return;
    if (result.timedOut) {
      throw new CliError(
        `step "${step.title}" timed out after ${formatDuration(step.timeoutMs)}: \`${show(command)}\``,
        `${timeoutHint(step.id)}; then run \`bun bootstrap/up.ts\` again (steps already done are skipped)`,
      );
    }
    if (attempt < attempts) {
      if (step.streamOutput) io.print(`    (attempt ${attempt} of ${attempts} failed; retrying)`);
      await Bun.sleep(io.retryMs ?? 2000);
      continue;
    }
    const output = step.streamOutput
      ? ["(output above)"]
      : `${result.stderr}\n${result.stdout}`.trim().split("\n").slice(-15);
    throw new CliError(
      `step "${step.title}" failed: \`${show(command)}\` exited ${result.code}\n${output.map((l) => `    | ${l}`).join("\n")}`,
      fixFor(step.id, command),
    );
  }
}

function fixFor(stepId: string, command: Command): string {
  const fixes: Record<string, string> = {
    cluster:
      "check Docker has enough memory (6 GB+) and that host ports 8080, 3000, 9090, 8000, 3100, 3200 and 8300 are free; then run up.ts again",
    argocd:
      "check network access to https://argoproj.github.io/argo-helm; `kubectl get pods -n argocd` shows stuck pods",
    "git-push":
      "check that localhost:8300 answers (git ls-remote cluster); `Authentication failed`: the push token was refused and dropped, so run up.ts again to mint a new one; if you rewrote history: git push --force cluster HEAD:<branch>",
  };
  const pushTo = command.argv.includes("--push")
    ? command.argv[command.argv.indexOf("--tag") + 1]?.split("/")[0]
    : undefined;
  if (pushTo) {
    return `a refused push (unauthorized, denied) needs \`docker login ${pushTo}\` with write access; a build error names the failing Dockerfile line; then run up.ts again`;
  }
  if (stepId.startsWith("image-")) {
    return "the docker build output above names the failing Dockerfile line; fix it and run up.ts again";
  }
  return (
    fixes[stepId] ??
    "fix the cause shown above and run `bun bootstrap/up.ts` again (steps already done are skipped)"
  );
}

/** What usually makes a step hang, and where to look. */
function timeoutHint(stepId: string): string {
  const hints: Record<string, string> = {
    cluster:
      "pulling the kind node image is slow on a slow network or Docker is short of memory: check `docker info` and give Docker 6 GB+",
    argocd:
      "Argo CD's pods did not become ready: `kubectl -n argocd get pods` and `kubectl -n argocd describe pod <name>` show why (often image pulls or memory)",
    "git-server":
      "the git server did not become ready: `kubectl -n argocd describe deploy/git-server` and `kubectl -n argocd logs deploy/git-server`",
    "git-push": "localhost:8300 did not answer: `git ls-remote cluster` must work",
  };
  if (stepId.startsWith("image-")) {
    return "the first build downloads the base image and packages: check your network (`docker pull oven/bun:1.4.5-slim`)";
  }
  return hints[stepId] ?? "the cluster did not answer in time: check `kubectl cluster-info`";
}
