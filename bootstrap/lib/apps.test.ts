import { describe, expect, test } from "bun:test";
import { type Application, allReady, explainNotReady, renderTable, rows } from "./apps.ts";

const app = (
  name: string,
  sync: string,
  health: string,
  extra: Partial<NonNullable<Application["status"]>> = {},
): Application => ({
  metadata: { name },
  status: { sync: { status: sync }, health: { status: health }, ...extra },
});

describe("Application status", () => {
  const root = app("root", "Synced", "Healthy", {
    resources: [
      { kind: "Application", name: "loki", namespace: "argocd", status: "Synced" },
      { kind: "Application", name: "tempo", namespace: "argocd", status: "Synced" },
    ],
  });

  test("ready only when every Application, including the root's declared children, is Synced+Healthy", () => {
    expect(
      allReady([root, app("loki", "Synced", "Healthy"), app("tempo", "Synced", "Healthy")], "root"),
    ).toBe(true);
    expect(allReady([root, app("loki", "Synced", "Healthy")], "root")).toBe(false); // tempo not created yet
    expect(
      allReady(
        [root, app("loki", "Synced", "Healthy"), app("tempo", "OutOfSync", "Healthy")],
        "root",
      ),
    ).toBe(false);
    expect(allReady([], "root")).toBe(false);
  });

  test("the timeout explanation names the app, its failing resource and the message", () => {
    const degraded = app("user-service", "Synced", "Degraded", {
      resources: [
        {
          kind: "Service",
          name: "user-service",
          namespace: "apps",
          status: "Synced",
          health: { status: "Healthy" },
        },
        {
          kind: "Deployment",
          name: "user-service",
          namespace: "apps",
          status: "Synced",
          health: {
            status: "Degraded",
            message: 'Deployment "user-service" exceeded its progress deadline',
          },
        },
      ],
    });
    const failedSync = app("loki", "OutOfSync", "Missing", {
      conditions: [
        { type: "ComparisonError", message: "failed to load target state: chart not found" },
      ],
      operationState: { phase: "Failed", message: "one or more objects failed to apply" },
    });
    const text = explainNotReady([root, degraded, failedSync], "root");
    expect(text).toContain("user-service (sync Synced, health Degraded)");
    expect(text).toContain(
      'Deployment apps/user-service Synced/Degraded: Deployment "user-service" exceeded its progress deadline',
    );
    expect(text).not.toContain("Service apps/user-service");
    expect(text).toContain("ComparisonError: failed to load target state: chart not found");
    expect(text).toContain("sync Failed: one or more objects failed to apply");
    expect(text).toContain("tempo (declared by root, not created yet)");
  });

  test("the table lines up and shows what each app waits on", () => {
    const table = renderTable(
      rows([root, app("kube-prometheus-stack", "OutOfSync", "Progressing")]),
    );
    expect(table.split("\n")).toEqual([
      "APPLICATION            SYNC       HEALTH       WAITING ON",
      "root                   Synced     Healthy",
      "kube-prometheus-stack  OutOfSync  Progressing",
    ]);
  });
});
