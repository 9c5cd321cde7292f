// Every kubectl and helm command line bootstrap runs, given to the real binaries (pinned in
// scripts/tools.ts) with no kubeconfig: they must get as far as looking for the cluster's
// context, which proves the verbs, flags and stdin manifests are ones the real tools accept.
import { describe, expect, test } from "bun:test";
import { runWithoutCluster } from "../testing/real-tools.ts";
import { gitServerInClusterUrl } from "./names.ts";
import { type Desired, plan, refreshApplications, type State } from "./plan.ts";
import { clusterQueries } from "./queries.ts";
import type { Command } from "./run.ts";

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
    spec: {
      project: "sandbox-root",
      source: { repoURL: gitServerInClusterUrl(), path: "gitops/apps" },
    },
  },
  grafanaPassword: "not-a-real-password",
  pushTokenFile:
    "/home/you/.local/state/observability-sandbox/observability-sandbox/git-credentials",
  verify: false,
};
const fresh: State = { cluster: false, images: {} };

describe("command lines against the real kubectl and helm", () => {
  test("each one is accepted and fails only for want of the cluster", async () => {
    const commands: Command[] = [
      ...Object.values(clusterQueries(CONTEXT)).map((argv) => ({ argv })),
      ...plan(want, fresh).flatMap((step) => step.commands),
      refreshApplications(CONTEXT),
    ].filter((c) => c.argv[0] === "kubectl" || c.argv[0] === "helm");
    expect(commands.length).toBeGreaterThanOrEqual(14);
    for (const { command, code, stdout, stderr } of await runWithoutCluster(commands)) {
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
  }, 60_000);
});
