// What the "Service overview" panels query, read from the built dashboard JSON.
import { describe, expect, test } from "bun:test";
import { serviceOverview } from "./service-overview.ts";
import { SDK } from "./telemetry-names.ts";

interface Panel {
  type: string;
  title: string;
  targets?: { expr?: string }[];
}

const panels = serviceOverview().build().panels as Panel[];

/** The panels under a row, up to the next row. */
function rowPanels(title: string): Panel[] {
  const start = panels.findIndex((p) => p.type === "row" && p.title === title);
  expect(start, `row "${title}"`).toBeGreaterThanOrEqual(0);
  const next = panels.findIndex((p, i) => i > start && p.type === "row");
  return panels.slice(start + 1, next === -1 ? undefined : next);
}

describe("service overview", () => {
  test("the $service row's stats follow $service, or say they are the gateway's", () => {
    const stats = rowPanels("$service at a glance");
    expect(stats.length).toBeGreaterThanOrEqual(4);
    for (const panel of stats) {
      for (const { expr = "" } of panel.targets ?? []) {
        const followsService = expr.includes('job="$service"');
        const gatewayOnly = /job="api-gateway"/.test(expr) && panel.title.startsWith("Gateway ");
        expect({ title: panel.title, expr, ok: followsService || gatewayOnly }).toMatchObject({
          ok: true,
        });
      }
    }
  });

  test("the SDK's losses of $service: spans and log records dropped or failed, and its queues", () => {
    const [dropped, queues, ...more] = rowPanels("Telemetry $service's SDK lost");
    expect(more).toEqual([]);
    expect(dropped?.title).toBe("Telemetry the SDK dropped");
    expect(dropped?.targets?.map((t) => t.expr)).toEqual([
      `sum by (error_type) (${SDK.spans.processed}{job="$service", error_type!=""})`,
      `sum by (error_type) (${SDK.logs.processed}{job="$service", error_type!=""})`,
    ]);
    const queried = queues?.targets?.map((t) => t.expr ?? "") ?? [];
    for (const metric of [SDK.spans, SDK.logs].flatMap((m) => [m.queueSize, m.queueCapacity]))
      expect(queried).toContain(`max by (job) (${metric}{job="$service"})`);
  });
});
