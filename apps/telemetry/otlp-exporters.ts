// The span and log exporters: the official OTLP/HTTP exporter core (configuration from the
// OTEL_EXPORTER_OTLP_* variables, export timeouts, concurrency limit, partial-success handling)
// with two parts of our own, both measured as the largest costs left under load (README,
// Performance):
// - the encoder (otlp-protobuf.ts), byte for byte the official serializer's output at about a
//   quarter of its cost;
// - the transport: Bun's native fetch instead of the official transport's node:http request fed
//   by a stream, which costs api-gateway about 9 µs of CPU per request at full load. The retry
//   policy is the official one: 429/502/503/504 and network errors are retried up to five times
//   with jittered exponential backoff (1 s, ×1.5, at most 5 s) or as Retry-After says, within
//   the export timeout.
import {
  createOtlpNetworkExportDelegate,
  type ExportResponse,
  type IExporterTransport,
  OTLPExporterBase,
  OTLPExporterError,
  type OTLPExporterNodeConfigBase,
} from "@opentelemetry/otlp-exporter-base";
import {
  convertLegacyHttpOptions,
  createOtlpHttpExporterMetrics,
} from "@opentelemetry/otlp-exporter-base/node-http";
import {
  type ISerializer,
  LogsExporterMetricsHelper,
  ProtobufLogsSerializer,
  ProtobufTraceSerializer,
  TraceExporterMetricsHelper,
} from "@opentelemetry/otlp-transformer";
import type { LogRecordExporter, ReadableLogRecord } from "@opentelemetry/sdk-logs";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import { encodeLogRecords, encodeSpans } from "./otlp-protobuf.ts";

type HttpConfiguration = ReturnType<typeof convertLegacyHttpOptions>;

const userAgent = "sandbox-telemetry (OpenTelemetry JS exporter core 0.223.0, Bun fetch)";
const retryableStatuses = new Set([429, 502, 503, 504]);

/** Retry-After in milliseconds: delay-seconds or an HTTP date. */
export function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number.parseInt(header, 10);
  if (Number.isInteger(seconds)) return Math.max(seconds, 0) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(date - Date.now(), 0);
}

/** One POST of an encoded export request. */
export function fetchTransport(config: HttpConfiguration): IExporterTransport {
  return {
    async send(data, timeoutMillis): Promise<ExportResponse> {
      const headers: Record<string, string> = { ...(await config.headers()) };
      headers["User-Agent"] = userAgent;
      let body = data as Uint8Array<ArrayBuffer>;
      if (config.compression === "gzip") {
        body = Bun.gzipSync(data as Uint8Array<ArrayBuffer>);
        headers["Content-Encoding"] = "gzip";
      }
      try {
        const response = await fetch(config.url, {
          method: "POST",
          headers,
          body,
          signal: AbortSignal.timeout(timeoutMillis),
        });
        const answer = new Uint8Array(await response.arrayBuffer());
        if (response.ok) return { status: "success", data: answer };
        if (retryableStatuses.has(response.status))
          return {
            status: "retryable",
            retryInMillis: retryAfterMs(response.headers.get("retry-after")),
          };
        return {
          status: "failure",
          error: new OTLPExporterError(
            response.statusText,
            response.status,
            new TextDecoder().decode(answer),
          ),
        };
      } catch (error) {
        // Refused, reset, unreachable or timed out: the collector may well be back soon.
        const { message, code } = error as { message?: string; code?: string };
        return {
          status: "retryable",
          error: Object.assign(new Error(`could not export to ${config.url}: ${message}`), {
            code,
          }),
        };
      }
    },
    shutdown() {},
  };
}

const maxRetries = 5;
const initialBackoffMs = 1000;
const maxBackoffMs = 5000;
const backoffMultiplier = 1.5;
const jitter = 0.2;

/** Retries what may succeed later, as long as the export's deadline allows. */
export function withRetries(
  transport: IExporterTransport,
  sleep: (ms: number) => Promise<unknown> = Bun.sleep,
): IExporterTransport {
  return {
    async send(data, timeoutMillis) {
      const deadline = Date.now() + timeoutMillis;
      let backoff = initialBackoffMs;
      let result = await transport.send(data, timeoutMillis);
      for (let retry = 0; result.status === "retryable" && retry < maxRetries; retry++) {
        const jittered = Math.min(backoff * (1 + (Math.random() * 2 - 1) * jitter), maxBackoffMs);
        backoff *= backoffMultiplier;
        const waitMs = result.retryInMillis ?? jittered;
        if (waitMs >= deadline - Date.now()) break;
        await sleep(waitMs);
        result = await transport.send(data, deadline - Date.now());
      }
      return result;
    },
    shutdown: () => transport.shutdown(),
  };
}

function otlpExporter<Item>(
  config: OTLPExporterNodeConfigBase,
  signal: "TRACES" | "LOGS",
  serializer: ISerializer<Item[], unknown>,
  componentType: string,
  metricsHelper: typeof TraceExporterMetricsHelper | typeof LogsExporterMetricsHelper,
): OTLPExporterBase<Item[]> {
  const http = convertLegacyHttpOptions(config, signal, `v1/${signal.toLowerCase()}`, {
    "Content-Type": "application/x-protobuf",
  });
  return new OTLPExporterBase(
    createOtlpNetworkExportDelegate(
      http,
      serializer,
      createOtlpHttpExporterMetrics(componentType, metricsHelper as never, http.url, undefined),
      withRetries(fetchTransport(http)),
    ),
  );
}

/** OTLPTraceExporter of @opentelemetry/exporter-trace-otlp-proto, cheaper. */
export function otlpSpanExporter(config: OTLPExporterNodeConfigBase = {}): SpanExporter {
  return otlpExporter<ReadableSpan>(
    config,
    "TRACES",
    {
      serializeRequest: encodeSpans,
      deserializeResponse: ProtobufTraceSerializer.deserializeResponse,
    },
    "otlp_http_span_exporter",
    TraceExporterMetricsHelper,
  );
}

/** OTLPLogExporter of @opentelemetry/exporter-logs-otlp-proto, cheaper. */
export function otlpLogExporter(config: OTLPExporterNodeConfigBase = {}): LogRecordExporter {
  return otlpExporter<ReadableLogRecord>(
    config,
    "LOGS",
    {
      serializeRequest: encodeLogRecords,
      deserializeResponse: ProtobufLogsSerializer.deserializeResponse,
    },
    "otlp_http_log_exporter",
    LogsExporterMetricsHelper,
  );
}
