// When a cluster is up (bun bootstrap/up.ts), its Prometheus is published on localhost:9090: a
// lab that asks for PromQL runs the answer there too. No cluster, one line saying so.
const prometheusUrl = () => process.env.LAB_PROMETHEUS_URL ?? "http://localhost:9090";

/** One line: what the live Prometheus returns for the query, or that none answered. */
export async function livePrometheus(query: string): Promise<string> {
  const base = prometheusUrl();
  try {
    const response = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(query)}`, {
      signal: AbortSignal.timeout(1000),
    });
    const body = (await response.json()) as {
      status?: string;
      error?: string;
      data?: { result?: unknown[] };
    };
    if (body.status !== "success")
      return `live Prometheus at ${base}: ${body.error ?? response.status}`;
    const n = body.data?.result?.length ?? 0;
    return `live Prometheus at ${base}: ${n} series${n === 0 ? " (shipped your change? bun bootstrap/release.ts)" : ""}`;
  } catch {
    return `live Prometheus at ${base}: no answer, so checked offline only`;
  }
}
