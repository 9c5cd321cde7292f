// A lab's check renders the services' pods with helm (capture.ts): where no helm runs (the pinned
// one is a Linux x86-64 binary, so not on a Mac or arm64 Linux), it says so in one error and one
// fix line, never a stack trace.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { runCommand } from "../cli/testing/run-command.ts";
import { copyWhereNoHelmRuns } from "../scripts/testing/no-helm.ts";

test("bun run lab 1 check where no helm runs: one error line, one fix line", async () => {
  const copy = copyWhereNoHelmRuns();
  try {
    const { code, stdout, stderr } = await runCommand(
      [process.execPath, join(copy.root, "labs", "run.ts"), "1", "check", "{ }"],
      { cwd: copy.root, env: { ...process.env, ...copy.env } },
    );
    const helm = join(copy.root, ".cache", "tools", "helm", "helm");
    expect({ code, stdout, stderr }).toEqual({
      code: 1,
      stdout: "lab 1: running both services and reading their telemetry...\n",
      stderr:
        `error: helm: the pinned v4.1.4 (${helm}) cannot run on this machine (ENOEXEC), and no helm on PATH\n` +
        "  fix: install helm v4 (https://helm.sh/docs/intro/install/) so that `helm version` works, then run the command again\n",
    });
  } finally {
    copy.remove();
  }
});
