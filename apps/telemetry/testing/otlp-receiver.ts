// An OTLP/HTTP receiver for tests: accepts protobuf exports on /v1/traces, /v1/metrics and
// /v1/logs, decodes them (apps/otlp-records.ts), and keeps flat, easy-to-assert records plus the
// raw request bytes (to search for leaked credentials), or hands each export's records to a
// listener instead. `bun run dev` has its own receiver with a query API (apps/dev-receiver.ts).
import {
  isOtlpPath,
  type ReceivedDataPoint,
  type ReceivedExport,
  type ReceivedLog,
  type ReceivedSpan,
  receivedExport,
} from "../../otlp-records.ts";

export type {
  ReceivedDataPoint,
  ReceivedExport,
  ReceivedLog,
  ReceivedSpan,
  Scope,
} from "../../otlp-records.ts";
export { decodeExportRequest } from "../../otlp-records.ts";

export interface OtlpReceiver {
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT, e.g. http://127.0.0.1:43181 */
  url: string;
  spans: ReceivedSpan[];
  dataPoints: ReceivedDataPoint[];
  logs: ReceivedLog[];
  /** Every request body as received, for byte-level searches. */
  rawBodies: Uint8Array[];
  waitForSpans(match: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<void>;
  waitForDataPoints(
    match: (points: ReceivedDataPoint[]) => boolean,
    timeoutMs?: number,
  ): Promise<void>;
  waitForLogs(match: (logs: ReceivedLog[]) => boolean, timeoutMs?: number): Promise<void>;
  /**
   * A collector in trouble: trace and log exports go unanswered until the returned function
   * answers them HTTP 500 (and what follows normally again). Metrics still go through, so the
   * services' SDK metrics report what was dropped and what failed. The function first waits until
   * `held` trace exports and as many log exports are held (one per sending service: a batch
   * processor exports one batch at a time), so an export still on its way is not let through.
   */
  stallTracesAndLogs(): (held?: number) => Promise<void>;
  stop(): Promise<void>;
}

async function waitUntil(what: string, ready: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`OTLP receiver: timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/**
 * Starts the receiver on a free port of 127.0.0.1. With `onReceive`, each export's records go to
 * it and nothing is kept (the lists stay empty, so a long `bun run dev` does not grow).
 */
export function startOtlpReceiver(
  options: { onReceive?: (received: ReceivedExport) => void } = {},
): OtlpReceiver {
  const spans: ReceivedSpan[] = [];
  const dataPoints: ReceivedDataPoint[] = [];
  const logs: ReceivedLog[] = [];
  const rawBodies: Uint8Array[] = [];
  let stalled: Promise<void> | undefined;
  let release = () => {};
  const held = new Map<string, number>();

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const path = new URL(request.url).pathname;
      if (request.method !== "POST" || !isOtlpPath(path))
        return new Response("not found", { status: 404 });
      const body = new Uint8Array(await request.arrayBuffer());
      if (stalled && path !== "/v1/metrics") {
        held.set(path, (held.get(path) ?? 0) + 1);
        await stalled;
        return new Response("stalled, then refused", { status: 500 });
      }
      const received = receivedExport(path, body);
      if (options.onReceive) options.onReceive(received);
      else {
        rawBodies.push(body);
        spans.push(...received.spans);
        dataPoints.push(...received.dataPoints);
        logs.push(...received.logs);
      }
      // An empty ExportServiceResponse is a zero-length protobuf message.
      return new Response(new Uint8Array(), {
        headers: { "content-type": "application/x-protobuf" },
      });
    },
  });

  return {
    url: `http://127.0.0.1:${server.port}`,
    spans,
    dataPoints,
    logs,
    rawBodies,
    waitForSpans: (match, timeoutMs = 5000) => waitUntil("spans", () => match(spans), timeoutMs),
    waitForDataPoints: (match, timeoutMs = 5000) =>
      waitUntil("metric data points", () => match(dataPoints), timeoutMs),
    waitForLogs: (match, timeoutMs = 5000) =>
      waitUntil("log records", () => match(logs), timeoutMs),
    stallTracesAndLogs() {
      held.clear();
      stalled ??= new Promise((resolve) => {
        release = () => {
          stalled = undefined;
          resolve();
        };
      });
      return async (count = 1) => {
        await waitUntil(
          `${count} stalled trace and log export(s)`,
          () => (held.get("/v1/traces") ?? 0) >= count && (held.get("/v1/logs") ?? 0) >= count,
          5000,
        );
        release();
      };
    },
    stop: () => {
      release(); // nothing left hanging
      return server.stop(true);
    },
  };
}
