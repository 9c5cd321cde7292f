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

/** Live heap (MiB) of a gateway exporting to a dead collector, after each batch of 5000 calls. */
async function heapPerBatch(env: Record<string, string>): Promise<number[]> {
  const child = Bun.spawn([process.execPath, probe, gatewayEntry, "4", "5000", "/user/123"], {
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
  "with the collector down, 20 000 requests leave the gateway's heap where the first 5 000 did",
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
    expect(bounded).toHaveLength(4);
    expect(growth(bounded)).toBeLessThan(3);
    expect(growth(unbounded)).toBeGreaterThan(15);
  },
  processTimeoutMs * 2,
);
