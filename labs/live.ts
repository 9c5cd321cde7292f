// When a cluster is up (bun bootstrap/up.ts), a lab runs its answer against the live backends
// too: Prometheus is published on localhost:9090; Tempo and Loki are not, so they are reached
// through a kubectl port-forward (as bootstrap/open.ts and verify.ts do). No cluster: one line
// saying the check was offline only, and no kubectl is started.
import { join } from "node:path";
import { type ForwardTarget, portForward } from "../bootstrap/lib/port-forward.ts";

const prometheusUrl = () => process.env.LAB_PROMETHEUS_URL ?? "http://localhost:9090";
const offline = (what: string) =>
  `live ${what}: no cluster answers (Prometheus at ${prometheusUrl()}), so checked offline only`;

async function getJson(url: string, timeoutMs = 2000): Promise<Record<string, unknown>> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return (await response.json()) as Record<string, unknown>;
}

/** One line: what the live Prometheus returns for the query, or that none answered. */
export async function livePrometheus(query: string): Promise<string> {
  const base = prometheusUrl();
  try {
    const body = (await getJson(
      `${base}/api/v1/query?query=${encodeURIComponent(query)}`,
      1000,
    )) as {
      status?: string;
      error?: string;
      data?: { result?: unknown[] };
    };
    if (body.status !== "success")
      return `live Prometheus at ${base}: ${body.error ?? "no result"}`;
    const n = body.data?.result?.length ?? 0;
    return `live Prometheus at ${base}: ${n} series${n === 0 ? " (shipped your change? bun bootstrap/release.ts)" : ""}`;
  } catch {
    return offline("Prometheus");
  }
}

// The Services of the charts (bootstrap/open.ts TARGETS, asserted in gitops/wiring.test.ts).
const targets = {
  Tempo: { namespace: "monitoring", service: "tempo", servicePort: 3200 },
  Loki: { namespace: "monitoring", service: "loki-gateway", servicePort: 80 },
} satisfies Record<string, ForwardTarget>;

/** One line: how many traces (Tempo) or log lines (Loki) the live backend returns for the query. */
export async function liveLogsOrTraces(backend: "Tempo" | "Loki", query: string): Promise<string> {
  try {
    await getJson(`${prometheusUrl()}/api/v1/status/buildinfo`, 1000);
  } catch {
    return offline(backend);
  }
  try {
    const forward = await portForward(targets[backend], undefined, {
      cwd: join(import.meta.dir, ".."),
      fix: "bun bootstrap/status.ts",
      timeoutMs: 5000,
    });
    try {
      const q = encodeURIComponent(query);
      if (backend === "Tempo") {
        const body = (await getJson(`${forward.url}/api/search?q=${q}&limit=20`)) as {
          traces?: unknown[];
        };
        return `live Tempo: ${body.traces?.length ?? 0} traces (at most 20 asked for)`;
      }
      const body = (await getJson(
        `${forward.url}/loki/api/v1/query_range?query=${q}&limit=100`,
      )) as {
        data?: { result?: { values?: unknown[] }[] };
      };
      const lines = (body.data?.result ?? []).reduce((n, s) => n + (s.values?.length ?? 0), 0);
      return `live Loki: ${lines} lines in the last hour (at most 100 asked for)`;
    } finally {
      forward.stop();
    }
  } catch (error) {
    return `live ${backend}: ${(error as Error).message}; checked offline only`;
  }
}
