// The wait against the stand-in kubectl (bootstrap/testing): it ends at its deadline even when
// the API server takes longer than that to answer one query.
import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeShims, writeState } from "../testing/fake/index.ts";
import { freshState } from "../testing/fake/state.ts";
import { waitForApplications } from "./wait.ts";

const saved = { ...process.env };
const dirs: string[] = [];
afterEach(() => {
  for (const key of ["PATH", "FAKE_STATE", "FAKE_LOG"]) process.env[key] = saved[key];
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A running stack whose API server answers `get applications` after delayMs. */
function stack(delayMs: number, stoppedNodes: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), "wait-test-"));
  dirs.push(dir);
  writeShims(join(dir, "bin"), ["kubectl"]);
  const state = join(dir, "state.json");
  writeState(
    state,
    freshState({
      clusters: ["observability-sandbox"],
      helmRelease: { chart: "argo-cd-10.1.1", status: "deployed", values: {} },
      rootApp: { spec: {} },
      polls: 10,
      appsQueryDelayMs: delayMs,
      stoppedNodes,
    }),
  );
  // exec looks tools up on PATH at call time: the stand-in comes first.
  process.env.PATH = `${join(dir, "bin")}:${saved.PATH}`;
  process.env.FAKE_STATE = state;
  process.env.FAKE_LOG = join(dir, "calls.log");
}

const wait = (timeoutMs: number) =>
  waitForApplications({
    root: process.cwd(),
    context: "kind-observability-sandbox",
    timeoutMs,
    pollMs: 50,
    live: false,
  });

describe("waitForApplications", () => {
  test("a healthy stack is ready at the first poll", async () => {
    stack(0);
    const result = await wait(5_000);
    expect(result.ready).toBe(true);
    expect(result.apps.length).toBeGreaterThan(1);
  });

  test("an API server slower than the time left: the wait ends at its deadline, saying so", async () => {
    stack(20_000);
    const started = performance.now();
    const result = await wait(500);
    const ms = performance.now() - started;
    expect(result.ready).toBe(false);
    expect(result.summary).toContain("last kubectl error: kubectl did not answer within 0.5s");
    // The deadline plus the grace a killed tool gets, not the 20 s (or 30 s) of one query.
    expect(ms).toBeLessThan(2_500);
  });

  test("an API server that refuses: the log says so once, in kubectl's own words, and keeps waiting", async () => {
    stack(0, ["observability-sandbox-control-plane"]);
    const printed: string[] = [];
    const log = spyOn(console, "log").mockImplementation((line: string) => printed.push(line));
    try {
      const result = await wait(400);
      expect(result.ready).toBe(false);
      const refused =
        "kubectl: The connection to the server 127.0.0.1:39333 was refused - did you specify the right host or port? (still waiting)";
      expect(printed).toHaveLength(1);
      expect(printed[0]).toMatch(/^ {2}\[\d+s\] /);
      expect(printed[0]).toEndWith(refused);
    } finally {
      log.mockRestore();
    }
  });
});
