// Collector unreachable: memory stays bounded because the export queues are. Measured as the
// live heap after a full GC (apps/telemetry/testing/heap-probe.ts), not RSS, which lags GC.
import { afterAll, expect, test } from "bun:test";
import {
  freePort,
  processTimeoutMs,
  type ServiceProcess,
  startService,
} from "@sandbox/telemetry/testing/process";

const probe = `${import.meta.dir}/../../telemetry/testing/heap-probe.ts`;
const gatewayEntry = `${import.meta.dir}/index.ts`;
let userService: ServiceProcess | undefined;
afterAll(() => userService?.stop());

// 4 batches of 2500 calls: the first fills the export queues (a call makes two spans, and
// the span queue holds 2048 by default); the growth over the next 7500 calls is what a leak
// would show. Measured here: 0.03–0.16 MiB bounded, 16.6 MiB with the control's huge queues
// (about 2.2 KiB a call). The bound below, 1.5 MiB over 7500 calls, catches a leak of 210 bytes
// a call: the same as the earlier 3 MiB over 15 000 calls (4 × 5000), at half the requests.
const BATCHES = 4;
const CALLS_PER_BATCH = 2500;

/** Live heap (MiB) of a gateway exporting to a dead collector, after each batch of calls. */
async function heapPerBatch(env: Record<string, string>): Promise<number[]> {
  const batches = [String(BATCHES), String(CALLS_PER_BATCH)];
  const child = Bun.spawn([process.execPath, probe, gatewayEntry, ...batches, "/user/123"], {
    // The runner's own OTEL_* settings must not reach the service under test.
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("OTEL_"))),
      ...env,
    },
    stdout: "ignore",
    stderr: "pipe",
  });
  const [stderr, code] = await Promise.all([new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`heap probe exited ${code}:\n${stderr}`);
  return stderr
    .split("\n")
    .filter((line) => line.startsWith("heap-probe "))
    .map((line) => JSON.parse(line.slice("heap-probe ".length)).heapMb as number);
}

test(
  "with the collector down, 10 000 requests leave the gateway's heap where the first 2 500 did",
  async () => {
    const deadCollector = `http://127.0.0.1:${await freePort()}`;
    userService = await startService(`${import.meta.dir}/../../user-service/src/index.ts`, {
      OTEL_SDK_DISABLED: "true",
      QUERY_LATENCY_MS: "0",
    });
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: deadCollector, USER_SERVICE_URL: userService.url };
    const [bounded, unbounded] = await Promise.all([
      heapPerBatch(env),
      // Control: queues too large to fill, so every span and log record is kept. It shows the
      // probe sees queued telemetry; the real queues (2048 by default) stop that growth.
      heapPerBatch({
        ...env,
        OTEL_BSP_MAX_QUEUE_SIZE: "1000000",
        OTEL_BLRP_MAX_QUEUE_SIZE: "1000000",
      }),
    ]);
    const growth = (heap: number[]) => (heap.at(-1) as number) - (heap[0] as number);
    expect(bounded).toHaveLength(BATCHES);
    expect(growth(bounded)).toBeLessThan(1.5);
    expect(growth(unbounded)).toBeGreaterThan(8);
  },
  processTimeoutMs * 2,
);
