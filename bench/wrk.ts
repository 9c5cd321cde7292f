// Closed-loop load with wrk (Debian package `wrk`): one thread, fixed connections, fixed
// duration; a Lua done() hook prints the summary as JSON.
import { tmpdir } from "node:os";
import type { LoadResult } from "./stats.ts";

const reportScript = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"failed":%d,"non_2xx_3xx":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.max))
end
`;

let scriptPath: string | undefined;

export async function runWrk(
  url: string,
  connections: number,
  seconds: number,
): Promise<LoadResult> {
  if (!scriptPath) {
    scriptPath = `${tmpdir()}/bench-wrk-report-${process.pid}.lua`;
    await Bun.write(scriptPath, reportScript);
  }
  const child = Bun.spawn(
    ["wrk", "-t1", `-c${connections}`, `-d${seconds}s`, "--timeout", "5s", "-s", scriptPath, url],
    { stdout: "pipe", stderr: "pipe" },
  );
  const [out, err, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  const line = out.split("\n").find((l) => l.startsWith("{"));
  if (code !== 0 || !line) throw new Error(`wrk failed (exit ${code}): ${err || out}`);
  return parseWrkReport(line);
}

export function parseWrkReport(line: string): LoadResult {
  const r = JSON.parse(line) as Record<string, number>;
  const field = (name: string) => {
    const value = r[name];
    if (typeof value !== "number") throw new Error(`wrk report lacks ${name}: ${line}`);
    return value;
  };
  return {
    requests: field("requests"),
    rps: field("requests") / (field("duration_us") / 1e6),
    p50_ms: field("p50_us") / 1000,
    p99_ms: field("p99_us") / 1000,
    max_ms: field("max_us") / 1000,
    errors: field("failed") + field("non_2xx_3xx"),
  };
}
