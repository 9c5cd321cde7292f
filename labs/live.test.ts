import { afterEach, expect, test } from "bun:test";
import { liveLogsOrTraces, livePrometheus } from "./live.ts";

const saved = process.env.LAB_PROMETHEUS_URL;
afterEach(() => {
  if (saved === undefined) delete process.env.LAB_PROMETHEUS_URL;
  else process.env.LAB_PROMETHEUS_URL = saved;
});

test("a Prometheus that answers: the number of series the query returns", async () => {
  let asked = "";
  // Answers like Prometheus's /api/v1/query (a vector of two series).
  using server = Bun.serve({
    port: 0,
    fetch(request) {
      asked = new URL(request.url).searchParams.get("query") ?? "";
      return Response.json({ status: "success", data: { resultType: "vector", result: [{}, {}] } });
    },
  });
  process.env.LAB_PROMETHEUS_URL = `http://127.0.0.1:${server.port}`;
  expect(await livePrometheus("sum(up)")).toBe(
    `live Prometheus at http://127.0.0.1:${server.port}: 2 series`,
  );
  expect(asked).toBe("sum(up)");
});

test("no Prometheus: one line saying the check was offline only", async () => {
  process.env.LAB_PROMETHEUS_URL = "http://127.0.0.1:9";
  expect(await livePrometheus("up")).toBe(
    "live Prometheus: no cluster answers (Prometheus at http://127.0.0.1:9), so checked offline only",
  );
  // Tempo and Loki need a port-forward: with no cluster, no kubectl is started.
  expect(await liveLogsOrTraces("Tempo", "{ }")).toBe(
    "live Tempo: no cluster answers (Prometheus at http://127.0.0.1:9), so checked offline only",
  );
});
