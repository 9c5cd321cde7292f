import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { dashboardsDir, generate } from "./generate.ts";
import { datasources } from "./service-overview.ts";

const generated = generate();

describe("generated dashboards", () => {
  test("committed ConfigMaps equal the generator's output (else run `bun run dashboards`)", async () => {
    expect(generated.size).toBeGreaterThan(0);
    for (const [file, content] of generated) {
      const committed = await Bun.file(join(dashboardsDir, file))
        .text()
        .catch(() => "(missing)");
      expect(committed, `gitops/dashboards/${file} is stale: run \`bun run dashboards\``).toBe(
        content,
      );
    }
  });

  test("each is a ConfigMap in monitoring that Grafana's sidecar picks up", () => {
    for (const [file, content] of generated) {
      const manifest = Bun.YAML.parse(content) as {
        kind: string;
        metadata: { name: string; namespace: string; labels: Record<string, string> };
        data: Record<string, string>;
      };
      expect(manifest.kind).toBe("ConfigMap");
      expect(manifest.metadata.namespace).toBe("monitoring");
      expect(manifest.metadata.labels.grafana_dashboard).toBe("1");
      const [key, json] = Object.entries(manifest.data)[0] ?? [];
      expect(key).toBe(file.replace(/\.yaml$/, ".json"));
      const dashboard = JSON.parse(json ?? "") as { uid: string; panels: unknown[] };
      expect(dashboard.uid).toBeTruthy();
      expect(dashboard.panels.length).toBeGreaterThan(0);
    }
  });

  test("datasource uids match the ones Grafana provisions", async () => {
    const valuesFile = Bun.file(join(dashboardsDir, "../values/kube-prometheus-stack.yaml"));
    // The Grafana datasources are provisioned by the gitops tree; until its values name
    // them, the dashboards' uids are the agreed defaults.
    const provisioned = (await valuesFile.exists())
      ? [...(await valuesFile.text()).matchAll(/^\s*uid:\s*"?([\w-]+)"?\s*$/gm)].map((m) => m[1])
      : ["prometheus", "loki", "tempo"];
    for (const ds of Object.values(datasources)) expect(provisioned).toContain(ds.uid);
  });
});

describe("bun run dashboards", () => {
  const run = (...args: string[]) => {
    const child = Bun.spawnSync([process.execPath, join(dashboardsDir, "generate.ts"), ...args]);
    return {
      code: child.exitCode,
      stdout: child.stdout.toString(),
      stderr: child.stderr.toString(),
    };
  };

  test("--help shows what it does and writes nothing", () => {
    const help = run("--help");
    expect(help).toMatchObject({ code: 0, stderr: "" });
    expect(help.stdout).toStartWith("usage: bun run dashboards [--check]\n");
    expect(help.stdout).not.toContain("wrote");
  });

  test("an unknown flag or argument is one error: and one fix: line, exit 1", () => {
    expect(run("--chek")).toEqual({
      code: 1,
      stdout: "",
      stderr: "error: unknown flag --chek\n  fix: bun run dashboards --help lists the flags\n",
    });
    expect(run("runbooks")).toEqual({
      code: 1,
      stdout: "",
      stderr:
        'error: unexpected argument "runbooks"\n  fix: bun run dashboards --help lists the flags\n',
    });
  });
});
