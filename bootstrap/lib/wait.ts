// Waiting for Argo CD: poll the Applications, show progress, give up at the deadline.

import { formatDuration } from "../../cli/errors.ts";
import {
  type Application,
  allReady,
  explainNotReady,
  parseApplications,
  renderTable,
  rows,
} from "./apps.ts";
import { ROOT_APP } from "./names.ts";
import { clusterQueries } from "./queries.ts";
import { exec, lastLine } from "./run.ts";

export interface WaitOptions {
  root: string;
  context: string;
  timeoutMs: number;
  pollMs: number;
  /** Redraw a table in place (a terminal) or print one line per change (logs, CI). */
  live: boolean;
}

/** One `kubectl get applications`; an API server that does not answer costs at most timeoutMs. */
export async function fetchApplications(
  root: string,
  context: string,
  timeoutMs = 30_000,
): Promise<{ apps?: Application[]; error?: string }> {
  const result = await exec(
    { argv: clusterQueries(context).applications },
    { cwd: root, timeoutMs },
  );
  if (result.timedOut)
    return { error: `kubectl did not answer within ${formatDuration(timeoutMs)}` };
  if (result.code !== 0) return { error: lastLine(result.stderr) || `kubectl exit ${result.code}` };
  try {
    return { apps: parseApplications(result.stdout) };
  } catch {
    return { error: "kubectl returned output that is not JSON" };
  }
}

export async function waitForApplications(
  options: WaitOptions,
): Promise<{ ready: boolean; summary: string; apps: Application[] }> {
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  const lastState = new Map<string, string>();
  let drawnLines = 0;
  let apps: Application[] = [];
  let lastError: string | undefined;
  let reported: string | undefined;
  for (;;) {
    // A slow API server must not carry the wait past its deadline.
    const left = deadline - Date.now();
    const fetched = await fetchApplications(
      options.root,
      options.context,
      Math.max(500, Math.min(30_000, left)),
    );
    if (fetched.apps) {
      apps = fetched.apps;
      lastError = undefined;
    } else {
      lastError = fetched.error;
    }
    const ready = allReady(apps, ROOT_APP.name);
    const elapsed = Math.round((Date.now() - started) / 1000);
    if (options.live) {
      const table = renderTable(rows(apps), process.stdout.columns || 120);
      const status = ready
        ? `all ${apps.length} Applications Synced and Healthy (${elapsed}s)`
        : `waiting… ${apps.filter((a) => a.status?.health?.status === "Healthy" && a.status?.sync?.status === "Synced").length}/${apps.length} ready, ${elapsed}s of ${Math.round(options.timeoutMs / 1000)}s${lastError ? ` (kubectl: ${lastError})` : ""}`;
      const text = `${table}\n${status}`;
      if (drawnLines > 0) process.stdout.write(`\x1b[${drawnLines}A\x1b[J`);
      process.stdout.write(`${text}\n`);
      drawnLines = text.split("\n").length;
    } else {
      // In a log, a kubectl that stops answering is said once, not left to the deadline.
      if (fetched.error && fetched.error !== reported)
        console.log(`  [${elapsed}s] kubectl: ${fetched.error} (still waiting)`);
      reported = fetched.error;
      for (const row of rows(apps)) {
        const now = `${row.sync}/${row.health}`;
        if (lastState.get(row.name) !== now) {
          lastState.set(row.name, now);
          console.log(
            `  [${elapsed}s] ${row.name}: ${row.sync}, ${row.health}${row.message ? ` (${row.message})` : ""}`,
          );
        }
      }
    }
    if (ready) return { ready: true, summary: "", apps };
    if (Date.now() + options.pollMs > deadline) {
      const summary =
        explainNotReady(apps, ROOT_APP.name) +
        (lastError ? `\n  last kubectl error: ${lastError}` : "");
      return { ready: false, summary, apps };
    }
    await Bun.sleep(options.pollMs);
  }
}
