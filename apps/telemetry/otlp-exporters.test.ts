// The exporters against real HTTP servers: what they send, and how they take each answer.
import { afterEach, describe, expect, test } from "bun:test";
import { ExportResultCode } from "@opentelemetry/core";
import type { IExporterTransport } from "@opentelemetry/otlp-exporter-base";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { otlpLogExporter, otlpSpanExporter, retryAfterMs, withRetries } from "./otlp-exporters.ts";
import { encodeSpans } from "./otlp-protobuf.ts";
import { inMemoryTracer } from "./testing/in-memory.ts";
import { freePort } from "./testing/process.ts";

interface Received {
  path: string;
  headers: Headers;
  body: Uint8Array<ArrayBuffer>;
}

const servers: { stop(force: boolean): unknown }[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.stop(true);
});

/** A collector stand-in answering each export with the next of `answers` (then 200). */
function collector(answers: (() => Response | Promise<Response>)[] = []) {
  const received: Received[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      received.push({
        path: new URL(request.url).pathname,
        headers: request.headers,
        body: new Uint8Array(await request.arrayBuffer()),
      });
      return (answers.shift() ?? (() => new Response(new Uint8Array())))();
    },
  });
  servers.push(server);
  return { received, url: (path: string) => `http://127.0.0.1:${server.port}${path}` };
}

function someSpans(): ReadableSpan[] {
  const { tracer, finishedSpans } = inMemoryTracer();
  tracer.startSpan("GET /users/:id").end();
  tracer.startSpan("SELECT users").end();
  return finishedSpans();
}

function exportSpans(exporter: ReturnType<typeof otlpSpanExporter>, spans: ReadableSpan[]) {
  return new Promise<{ code: ExportResultCode; error?: Error }>((resolve) =>
    exporter.export(spans, resolve),
  );
}

describe("otlpSpanExporter", () => {
  test("POSTs the encoded spans as OTLP/protobuf, with the configured headers", async () => {
    const sink = collector();
    const spans = someSpans();
    const exporter = otlpSpanExporter({
      url: sink.url("/v1/traces"),
      headers: { "x-scope-orgid": "sandbox" },
    });
    expect((await exportSpans(exporter, spans)).code).toBe(ExportResultCode.SUCCESS);
    const [request] = sink.received;
    expect(request?.path).toBe("/v1/traces");
    expect(request?.headers.get("content-type")).toBe("application/x-protobuf");
    expect(request?.headers.get("x-scope-orgid")).toBe("sandbox");
    expect(Buffer.from(request?.body ?? [])).toEqual(Buffer.from(encodeSpans(spans)));
  });

  test("reads the standard variables: per-signal endpoint and headers", async () => {
    const sink = collector();
    const variables = {
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: sink.url("/custom/traces"),
      OTEL_EXPORTER_OTLP_HEADERS: "x-scope-orgid=from-env,x-other=1",
    };
    const saved = Object.fromEntries(
      Object.keys(variables).map((name) => [name, process.env[name]]),
    );
    Object.assign(process.env, variables);
    try {
      const exporter = otlpSpanExporter();
      expect((await exportSpans(exporter, someSpans())).code).toBe(ExportResultCode.SUCCESS);
    } finally {
      for (const [name, value] of Object.entries(saved))
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
    }
    const [request] = sink.received;
    expect(request?.path).toBe("/custom/traces");
    expect(request?.headers.get("x-scope-orgid")).toBe("from-env");
  });

  test("gzips the body when compression is gzip", async () => {
    const sink = collector();
    const spans = someSpans();
    const exporter = otlpSpanExporter({
      url: sink.url("/v1/traces"),
      compression: "gzip" as never,
    });
    expect((await exportSpans(exporter, spans)).code).toBe(ExportResultCode.SUCCESS);
    const [request] = sink.received;
    expect(request?.headers.get("content-encoding")).toBe("gzip");
    expect(Buffer.from(Bun.gunzipSync(request?.body ?? new Uint8Array(0)))).toEqual(
      Buffer.from(encodeSpans(spans)),
    );
  });

  test("retries a 503 as Retry-After says, then succeeds", async () => {
    const sink = collector([
      () => new Response("busy", { status: 503, headers: { "retry-after": "0" } }),
    ]);
    const exporter = otlpSpanExporter({ url: sink.url("/v1/traces") });
    expect((await exportSpans(exporter, someSpans())).code).toBe(ExportResultCode.SUCCESS);
    expect(sink.received).toHaveLength(2);
  });

  test("does not retry a 400, and reports its status and body", async () => {
    const sink = collector([() => new Response("bad span", { status: 400 })]);
    const exporter = otlpSpanExporter({ url: sink.url("/v1/traces") });
    const result = await exportSpans(exporter, someSpans());
    expect(result.code).toBe(ExportResultCode.FAILED);
    expect(result.error).toMatchObject({ code: 400, data: "bad span" });
    expect(sink.received).toHaveLength(1);
  });

  test("gives up on an unreachable collector within the export timeout", async () => {
    const url = `http://127.0.0.1:${await freePort()}/v1/traces`;
    const exporter = otlpSpanExporter({ url, timeoutMillis: 1500 });
    const started = performance.now();
    const result = await exportSpans(exporter, someSpans());
    expect(result.code).toBe(ExportResultCode.FAILED);
    expect(result.error?.message).toStartWith(`could not export to ${url}: `);
    // One attempt, one retry after about a second, and no retry past the deadline.
    expect(performance.now() - started).toBeLessThan(1500);
  });

  test("gives up on a collector that does not answer at the export timeout", async () => {
    const sink = collector([() => Bun.sleep(5000).then(() => new Response())]);
    const exporter = otlpSpanExporter({ url: sink.url("/v1/traces"), timeoutMillis: 300 });
    const started = performance.now();
    expect((await exportSpans(exporter, someSpans())).code).toBe(ExportResultCode.FAILED);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

test("otlpLogExporter POSTs to /v1/logs", async () => {
  const sink = collector();
  const exporter = otlpLogExporter({ url: sink.url("/v1/logs") });
  const result = await new Promise<{ code: ExportResultCode }>((resolve) =>
    exporter.export([], resolve),
  );
  expect(result.code).toBe(ExportResultCode.SUCCESS);
  expect(sink.received.map((request) => request.path)).toEqual(["/v1/logs"]);
});

describe("withRetries", () => {
  const answering = (...statuses: ("retryable" | "success" | "failure")[]) => {
    const sent: number[] = [];
    const transport: IExporterTransport = {
      send: async (_data, timeoutMillis) => {
        sent.push(timeoutMillis);
        const status = statuses.shift() ?? "retryable";
        return status === "failure" ? { status, error: new Error("no") } : { status };
      },
      shutdown() {},
    };
    return { transport, sent };
  };

  test("waits 1 s, then ×1.5 each time (±20 %), at most five retries", async () => {
    const { transport, sent } = answering();
    const waits: number[] = [];
    const result = await withRetries(transport, async (ms) => waits.push(ms)).send(
      new Uint8Array(),
      60_000,
    );
    expect(result.status).toBe("retryable");
    expect(sent).toHaveLength(6);
    [1000, 1500, 2250, 3375, 5000].forEach((expected, index) => {
      expect(waits[index]).toBeGreaterThanOrEqual(Math.min(expected * 0.8, 5000) - 1);
      expect(waits[index]).toBeLessThanOrEqual(Math.min(expected * 1.2, 5000) + 1);
    });
  });

  test("stops at success or at a failure that retrying cannot fix", async () => {
    for (const last of ["success", "failure"] as const) {
      const { transport, sent } = answering("retryable", last);
      const result = await withRetries(transport, async () => {}).send(new Uint8Array(), 60_000);
      expect(result.status).toBe(last);
      expect(sent).toHaveLength(2);
    }
  });

  test("does not wait past the deadline", async () => {
    const { transport, sent } = answering();
    const result = await withRetries(transport, async () => {}).send(new Uint8Array(), 700);
    expect(result.status).toBe("retryable");
    expect(sent).toHaveLength(1);
  });
});

test("retryAfterMs reads delay-seconds and HTTP dates", () => {
  expect(retryAfterMs(null)).toBeUndefined();
  expect(retryAfterMs("3")).toBe(3000);
  expect(retryAfterMs("0")).toBe(0);
  expect(retryAfterMs("soon")).toBeUndefined();
  const inTenSeconds = new Date(Date.now() + 10_000).toUTCString();
  expect(retryAfterMs(inTenSeconds)).toBeGreaterThan(8000);
  expect(retryAfterMs(inTenSeconds)).toBeLessThanOrEqual(10_000);
});
