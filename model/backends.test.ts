// The model end to end on the services' real telemetry (gitops/pipeline/capture.ts runs them):
// what the fixes to the translations mean for this project's own services.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { $ } from "bun";
import { captureServices } from "../gitops/pipeline/capture.ts";
import { backends } from "./backends.ts";
import { repoRoot } from "./yaml.ts";

// An edit shows its backend names at once: a copy of the tree gets a new counter with a unit in
// api-gateway, and the model, run in that copy on its services (a process of its own), names the
// Prometheus series. Started here, so that it runs while this process captures its own services.
const lookup = "    const result = await users.lookup(id);\n";
async function editedCopyNames(): Promise<{ source: string; names: string[] }> {
  const tree = mkdtempSync(join(tmpdir(), "model-edit-"));
  try {
    await $`git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t ${tree}`
      .cwd(repoRoot)
      .quiet();
    symlinkSync(join(repoRoot, "node_modules"), join(tree, "node_modules"));
    symlinkSync(join(repoRoot, ".cache"), join(tree, ".cache"));
    // The workspaces' own node_modules hold relative links, into the copy's node_modules.
    await $`cp -a --parents apps/*/node_modules ${tree}`.cwd(repoRoot).quiet();
    const app = join(tree, "apps/api-gateway/src/app.ts");
    const source = readFileSync(app, "utf8");
    writeFileSync(
      app,
      source.replace(
        lookup,
        `${lookup}    meter.createCounter("gateway.responses.size", { unit: "By" }).add(512);\n`,
      ),
    );
    const script = join(tree, "names.ts");
    writeFileSync(
      script,
      [
        'import { captureServices } from "./gitops/pipeline/capture.ts";',
        'import { backends } from "./model/backends.ts";',
        "const { prometheus } = backends(await captureServices());",
        'const gateway = prometheus.filter((s) => s.service === "api-gateway");',
        "console.log(JSON.stringify([...new Set(gateway.map((s) => s.name))]));",
      ].join("\n"),
    );
    return { source, names: JSON.parse(await $`bun ${script}`.cwd(tree).text()) };
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
}
const edited = editedCopyNames();
// Its failure is the test's, reported there (not as an unhandled rejection before it runs).
edited.catch(() => {});

// Top-level, like the other capture-based tests: no test timeout applies to running the services.
const model = backends(await captureServices());

describe("the services' telemetry in the backends", () => {
  test("Tempo's service graph: user → api-gateway → user-service → the sandbox database", () => {
    const edges = model.prometheus
      .filter((s) => s.name === "traces_service_graph_request_total")
      .map(({ labels }) => `${labels.client} → ${labels.server} ${labels.connection_type ?? ""}`)
      .sort();
    expect(edges).toEqual([
      "api-gateway → user-service ",
      "user → api-gateway virtual_node",
      // user-service's query span carries db.namespace="sandbox" and no peer address.
      "user-service → sandbox database",
    ]);
    const fromUser = model.prometheus.find((s) => s.labels.client === "user");
    expect(fromUser?.service).toBe("api-gateway");
  });

  test("every Loki entry has its scope, severity number and a detected_level", () => {
    const { loki } = model;
    expect(loki.length).toBeGreaterThan(0);
    for (const { labels, metadata } of loki) {
      expect(metadata.scope_name).toBe(labels.service_name as string);
      expect(metadata.scope_version).toMatch(/^\d+\.\d+\.\d+$/);
      expect(Number(metadata.severity_number)).toBeGreaterThan(0);
      expect(metadata.detected_level).toBe((metadata.severity_text as string).toLowerCase());
    }
  });

  test("the SDK's up-down counters are gauges named without _total or _ratio", () => {
    const names = new Set(model.prometheus.map((s) => s.name));
    expect(names).toContain("otel_sdk_processor_span_queue_size");
    expect(names).toContain("otel_sdk_processor_log_queue_capacity");
  });
});

test.concurrent("a counter added to a service gets its translated Prometheus name", async () => {
  const { source, names } = await edited;
  expect(source).toContain(lookup);
  expect(names).toContain("gateway_responses_size_bytes_total");
  const here = model.prometheus.map((s) => s.name);
  expect(here).not.toContain("gateway_responses_size_bytes_total");
}, 60_000);
