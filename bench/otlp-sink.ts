// The bench's live OTLP receiver, run in its own process: answers 200 to every /v1/* export and
// counts requests, bytes, spans and log records (GET /stats), so the bench can check that every
// request's telemetry arrived. Usage: bun bench/otlp-sink.ts <port>
import { countItems } from "./otlp-count.ts";

const port = Number(process.argv[2] ?? 0);
const stats = {
  requests: {} as Record<string, number>,
  bytes: {} as Record<string, number>,
  spans: 0,
  logRecords: 0,
  undecodable: 0,
};

const server = Bun.serve({
  hostname: "127.0.0.1",
  port,
  async fetch(request) {
    const path = new URL(request.url).pathname;
    if (request.method === "GET" && path === "/stats") return Response.json(stats);
    if (!path.startsWith("/v1/")) return new Response("not found", { status: 404 });
    const body = new Uint8Array(await request.arrayBuffer());
    stats.requests[path] = (stats.requests[path] ?? 0) + 1;
    stats.bytes[path] = (stats.bytes[path] ?? 0) + body.length;
    try {
      if (path === "/v1/traces") stats.spans += countItems(body);
      else if (path === "/v1/logs") stats.logRecords += countItems(body);
    } catch {
      stats.undecodable++;
    }
    // An empty ExportServiceResponse: full success.
    return new Response(null, { headers: { "content-type": "application/x-protobuf" } });
  },
});
console.log(JSON.stringify({ msg: "listening", port: server.port }));
process.on("SIGTERM", () => process.exit(0));
