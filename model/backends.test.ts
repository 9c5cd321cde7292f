// The model end to end on the services' real telemetry (gitops/pipeline/capture.ts runs them):
// what the fixes to the translations mean for this project's own services.
import { describe, expect, test } from "bun:test";
import { captureServices } from "../gitops/pipeline/capture.ts";
import { backends } from "./backends.ts";

const model = captureServices().then((capture) => backends(capture));

describe("the services' telemetry in the backends", () => {
  test("Tempo's service graph: user → api-gateway → user-service → the sandbox database", async () => {
    const edges = (await model).prometheus
      .filter((s) => s.name === "traces_service_graph_request_total")
      .map(({ labels }) => `${labels.client} → ${labels.server} ${labels.connection_type ?? ""}`)
      .sort();
    expect(edges).toEqual([
      "api-gateway → user-service ",
      "user → api-gateway virtual_node",
      // user-service's query span carries db.namespace="sandbox" and no peer address.
      "user-service → sandbox database",
    ]);
  });

  test("every Loki entry has its scope, severity number and a detected_level", async () => {
    const { loki } = await model;
    expect(loki.length).toBeGreaterThan(0);
    for (const { labels, metadata } of loki) {
      expect(metadata.scope_name).toBe(labels.service_name as string);
      expect(metadata.scope_version).toMatch(/^\d+\.\d+\.\d+$/);
      expect(Number(metadata.severity_number)).toBeGreaterThan(0);
      expect(metadata.detected_level).toBe((metadata.severity_text as string).toLowerCase());
    }
  });

  test("the SDK's up-down counters are gauges named without _total or _ratio", async () => {
    const names = new Set((await model).prometheus.map((s) => s.name));
    expect(names).toContain("otel_sdk_processor_span_queue_size");
    expect(names).toContain("otel_sdk_processor_log_queue_capacity");
  });
});
