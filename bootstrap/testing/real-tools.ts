// kubectl and helm command lines given to the real binaries (pinned in scripts/tools.ts) with an
// empty kubeconfig: a command line the tools accept gets as far as looking for its context.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureTools } from "../../scripts/tools.ts";
import type { Command } from "../lib/run.ts";

export interface Ran {
  command: Command;
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs each command (helm by helm, any other by kubectl) in the project root, one by one. */
export async function runWithoutCluster(commands: Command[]): Promise<Ran[]> {
  const tools = await ensureTools();
  const home = mkdtempSync(join(tmpdir(), "bootstrap-tools-"));
  const kubeconfig = join(home, "kubeconfig");
  writeFileSync(
    kubeconfig,
    "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n",
  );
  try {
    const ran: Ran[] = [];
    for (const command of commands) {
      const [tool, ...args] = command.argv;
      const child = Bun.spawn([tool === "helm" ? tools.helm : tools.kubectl, ...args], {
        cwd: join(import.meta.dir, "..", ".."),
        env: {
          PATH: "/usr/bin:/bin",
          HOME: home,
          KUBECONFIG: kubeconfig,
          HELM_CACHE_HOME: join(home, "cache"),
          HELM_CONFIG_HOME: join(home, "config"),
          HELM_DATA_HOME: join(home, "data"),
        },
        stdin: command.stdin === undefined ? "ignore" : new TextEncoder().encode(command.stdin),
        stdout: "pipe",
        stderr: "pipe",
      });
      const [stdout, stderr, code] = await Promise.all([
        new Response(child.stdout).text(),
        new Response(child.stderr).text(),
        child.exited,
      ]);
      ran.push({ command, code, stdout, stderr });
    }
    return ran;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
