// Every kubectl and helm command line bootstrap runs, given to the real binaries (pinned in
// scripts/tools.ts) with no kubeconfig: they must get as far as looking for the cluster's
// context, which proves the verbs, flags and stdin manifests are ones the real tools accept.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureTools } from "../../scripts/tools.ts";
import { gitServerInClusterUrl } from "./names.ts";
import { type Desired, plan, refreshApplications, type State } from "./plan.ts";
import type { Command } from "./run.ts";
import { clusterQueries } from "./state.ts";

const CONTEXT = "kind-observability-sandbox";
const want: Desired = {
  clusterName: "observability-sandbox",
  context: CONTEXT,
  kindConfig: "kind-config.yaml",
  images: [
    {
      service: "api-gateway",
      ref: "sandbox/api-gateway:0123456789ab",
      dockerfile: "apps/api-gateway/Dockerfile",
    },
  ],
  delivery: { mode: "local", repoURL: gitServerInClusterUrl(), revision: "main", why: "test" },
  branch: "main",
  head: "a".repeat(40),
  rootApp: {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Application",
    metadata: { name: "root", namespace: "argocd" },
    spec: { project: "default", source: { repoURL: gitServerInClusterUrl(), path: "gitops/apps" } },
  },
  grafanaPassword: "not-a-real-password",
  verify: false,
};
const fresh: State = { cluster: false, images: {} };

describe("command lines against the real kubectl and helm", () => {
  test("each one is accepted and fails only for want of the cluster", async () => {
    const tools = await ensureTools();
    const home = mkdtempSync(join(tmpdir(), "bootstrap-tools-"));
    const kubeconfig = join(home, "kubeconfig");
    writeFileSync(
      kubeconfig,
      "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n",
    );
    try {
      const commands: Command[] = [
        ...Object.values(clusterQueries(CONTEXT)).map((argv) => ({ argv })),
        ...plan(want, fresh).flatMap((step) => step.commands),
        refreshApplications(CONTEXT),
      ].filter((c) => c.argv[0] === "kubectl" || c.argv[0] === "helm");
      expect(commands.length).toBeGreaterThanOrEqual(14);
      for (const command of commands) {
        const [tool, ...args] = command.argv;
        const binary = tool === "helm" ? tools.helm : tools.kubectl;
        const child = Bun.spawn([binary, ...args], {
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
        const said = `${command.argv.join(" ")}\n→ exit ${code}: ${stderr.trim()}`;
        if (command.argv.includes("get-contexts")) {
          expect({ said, code, stdout }).toEqual({ said, code: 0, stdout: "" });
        } else {
          expect({
            said,
            missingContext:
              /context "kind-observability-sandbox" does not exist|context was not found for specified context: kind-observability-sandbox/.test(
                stderr,
              ),
          }).toEqual({ said, missingContext: true });
        }
      }
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 60_000);
});
