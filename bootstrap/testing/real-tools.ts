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

/**
 * Runs each command (helm by helm, any other by kubectl) in the project root, two at a time (the
 * tools' start-up is the cost, and it keeps both cores busy); the results in the commands' order.
 */
export async function runWithoutCluster(commands: Command[], atOnce = 2): Promise<Ran[]> {
  const tools = await ensureTools();
  const home = mkdtempSync(join(tmpdir(), "bootstrap-tools-"));
  const kubeconfig = join(home, "kubeconfig");
  writeFileSync(
    kubeconfig,
    "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n",
  );
  const run = async (command: Command): Promise<Ran> => {
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
    return { command, code, stdout, stderr };
  };
  try {
    const ran: Ran[] = [];
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < commands.length; i = next++) {
        const command = commands[i];
        if (command) ran[i] = await run(command);
      }
    };
    await Promise.all(Array.from({ length: atOnce }, worker));
    return ran;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
