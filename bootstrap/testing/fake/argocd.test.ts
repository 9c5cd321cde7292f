// The stand-in cluster must show the Applications the real app-of-apps creates.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { $ } from "bun";
import { ensureTools } from "../../../scripts/tools.ts";
import { CHILD_APPS, CLUSTER_CHILD_APPS } from "./argocd.ts";

describe("stand-in Argo CD", () => {
  test.each([
    ["laptop", CHILD_APPS],
    ["cluster", CLUSTER_CHILD_APPS],
  ])(
    "its child Applications are the ones gitops/apps renders in the %s profile (real helm)",
    async (profile, children) => {
      const { helm } = await ensureTools();
      const chart = join(import.meta.dir, "../../../gitops/apps");
      const rendered =
        await $`${helm} template root ${chart} --set repoURL=https://x.test/r.git --set revision=main --set profile=${profile} --set imageRegistry=registry.test/team`
          .quiet()
          .text();
      const names = rendered
        .split(/^---$/m)
        .map((doc) => Bun.YAML.parse(doc) as { kind?: string; metadata?: { name: string } } | null)
        .filter((doc) => doc?.kind === "Application")
        .map((doc) => doc?.metadata?.name)
        .sort();
      expect(names).toContain("traffic");
      expect(children).toEqual(names as string[]);
    },
  );
});
