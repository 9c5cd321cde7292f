// The stand-in cluster must show the Applications the real app-of-apps creates.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { $ } from "bun";
import { ensureTools } from "../../scripts/tools.ts";
import { CHILD_APPS } from "./fake-tools.ts";

describe("stand-in Argo CD", () => {
  test("its child Applications are the ones gitops/apps renders (real helm)", async () => {
    const { helm } = await ensureTools();
    const chart = join(import.meta.dir, "../../gitops/apps");
    const rendered =
      await $`${helm} template root ${chart} --set repoURL=https://x.test/r.git --set revision=main`
        .quiet()
        .text();
    const names = rendered
      .split(/^---$/m)
      .map((doc) => Bun.YAML.parse(doc) as { kind?: string; metadata?: { name: string } } | null)
      .filter((doc) => doc?.kind === "Application")
      .map((doc) => doc?.metadata?.name)
      .sort();
    expect(names).toContain("traffic");
    expect(CHILD_APPS).toEqual(names as string[]);
  });
});
