// What the "Service overview" panels query, read from the built dashboard JSON.
import { describe, expect, test } from "bun:test";
import { serviceOverview } from "./service-overview.ts";

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
});
