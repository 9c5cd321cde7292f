import { describe, expect, test } from "bun:test";
import { parseRunbooks, readRunbooks, runbooksDashboard, runbookUrl } from "./runbooks.ts";

const markdown = `# Runbooks

Intro text, not a runbook.

## FirstAlert

Do this.

1. Then that.

## SecondAlert
Check the *Error ratio* panel.
`;

describe("runbooks", () => {
  test("each ## section is one alert's runbook, in order, the intro left out", () => {
    expect(parseRunbooks(markdown)).toEqual([
      { alert: "FirstAlert", body: "Do this.\n\n1. Then that." },
      { alert: "SecondAlert", body: "Check the *Error ratio* panel." },
    ]);
  });

  test("a heading that is not an alert name, or an empty runbook, is an error", () => {
    expect(() => parseRunbooks("## Not an alert\n\ntext\n")).toThrow("is not an alert name");
    expect(() => parseRunbooks("## EmptyAlert\n\n")).toThrow("the runbook of EmptyAlert is empty");
  });

  test("each runbook is a Markdown text panel whose id the alert's URL opens", () => {
    const runbooks = parseRunbooks(markdown);
    const { panels = [] } = runbooksDashboard(runbooks).build();
    expect(panels.map((panel) => ("title" in panel ? panel.title : undefined))).toEqual([
      "FirstAlert",
      "SecondAlert",
    ]);
    const second = panels[1] as { id?: number; options?: { mode: string; content: string } };
    expect(second.options).toEqual({
      mode: "markdown",
      content: "Check the *Error ratio* panel.",
    });
    expect(runbookUrl(runbooks, "SecondAlert")).toBe(
      `http://localhost:3000/d/runbooks/runbooks?viewPanel=${second.id}`,
    );
    expect(runbookUrl(runbooks, "NoSuchAlert")).toBeUndefined();
  });

  test("the committed runbooks file parses and has a runbook per alert of the sandbox", () => {
    expect(readRunbooks().map((runbook) => runbook.alert)).toEqual([
      "ServiceAvailabilityBudgetBurn",
      "ServiceLatencyBudgetBurn",
      "ServiceTelemetryAbsent",
      "ServiceTelemetryDropped",
    ]);
  });
});
