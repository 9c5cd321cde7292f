// Runs a service in this process and loads it, printing the live heap after each batch of
// requests (after a full GC), so a test can tell bounded memory from a leak without RSS noise.
// Usage: bun heap-probe.ts <service entry> <batches> <requests per batch> <path>
import { heapStats } from "bun:jsc";

const [entry, batches = "3", perBatch = "5000", path = "/"] = process.argv.slice(2);
if (!entry) throw new Error("usage: heap-probe.ts <entry> [batches] [requests] [path]");

const probe = Bun.serve({ port: 0, fetch: () => new Response() });
const port = probe.port;
await probe.stop(true);
process.env.PORT = String(port);
await import(entry);

const url = `http://127.0.0.1:${port}${path}`;
const concurrency = 50;
for (let batch = 0; batch < Number(batches); batch++) {
  for (let sent = 0; sent < Number(perBatch); sent += concurrency)
    await Promise.all(Array.from({ length: concurrency }, () => fetch(url).then((r) => r.text())));
  Bun.gc(true);
  console.error(`heap-probe ${JSON.stringify({ batch, heapMb: heapStats().heapSize / 2 ** 20 })}`);
}
process.exit(0);
