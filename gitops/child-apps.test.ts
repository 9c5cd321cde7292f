// The two child Applications that deliver gitops/dashboards and gitops/alerts, rendered from the
// app-of-apps chart with real helm, and what Argo CD will find in their directories.
import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { $ } from "bun";
import { ensureTools } from "../scripts/tools.ts";

const gitops = import.meta.dir;
const repoURL = "https://git.example.test/someone/observability-sandbox.git";

interface Application {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec: {
    destination: { namespace: string };
    source?: {
      repoURL: string;
      targetRevision: string;
      path: string;
      directory?: { include?: string };
    };
    syncPolicy?: {
      automated?: { prune?: boolean; selfHeal?: boolean };
      retry?: { limit?: number };
    };
  };
}

const { helm } = await ensureTools();
const rendered =
  await $`${helm} template root ${join(gitops, "apps")} --set repoURL=${repoURL} --set revision=my-branch`.text();
const apps = new Map(
  rendered
    .split(/^---$/m)
    .map((doc) => Bun.YAML.parse(doc) as Application | null)
    .filter((doc): doc is Application => doc?.kind === "Application")
    .map((app) => [app.metadata.name, app]),
);
const wave = (name: string) =>
  Number(apps.get(name)?.metadata.annotations?.["argocd.argoproj.io/sync-wave"] ?? 0);

describe.each(["dashboards", "alerts"])("child Application %s", (name) => {
  const app = apps.get(name) as Application;

  test("follows the user's repository and revision, path gitops/<name>, into monitoring", () => {
    expect(app).toBeDefined();
    expect(app.spec.source).toMatchObject({
      repoURL,
      targetRevision: "my-branch",
      path: `gitops/${name}`,
    });
    expect(app.spec.destination.namespace).toBe("monitoring");
  });

  test("syncs after kube-prometheus-stack, automated with prune, self-heal and retries", () => {
    expect(wave(name)).toBeGreaterThan(wave("kube-prometheus-stack"));
    expect(app.spec.syncPolicy?.automated).toEqual({ prune: true, selfHeal: true });
    expect(app.spec.syncPolicy?.retry?.limit).toBeGreaterThan(0);
  });

  test("applies only the manifests in its directory, each a Kubernetes object", async () => {
    expect(app.spec.source?.directory?.include).toBe("*.yaml");
    const manifests = readdirSync(join(gitops, name)).filter((f) => f.endsWith(".yaml"));
    expect(manifests.length).toBeGreaterThan(0);
    for (const file of manifests) {
      const doc = Bun.YAML.parse(await Bun.file(join(gitops, name, file)).text()) as Record<
        string,
        unknown
      >;
      expect(doc.apiVersion, file).toBeString();
      expect(doc.kind, file).toBeString();
      expect((doc.metadata as { namespace?: string }).namespace, file).toBe("monitoring");
    }
  });
});
