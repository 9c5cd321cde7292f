// The span and log exporters: the official OTLP/HTTP exporter machinery (endpoint and header
// variables, timeouts, retries, gzip, partial-success handling) with our encoder in place of the
// official serializer, which it matches byte for byte at about a quarter of the cost.
import { OTLPExporterBase } from "@opentelemetry/otlp-exporter-base";
import {
  convertLegacyHttpOptions,
  createOtlpHttpExportDelegate,
} from "@opentelemetry/otlp-exporter-base/node-http";
import {
  LogsExporterMetricsHelper,
  ProtobufLogsSerializer,
  ProtobufTraceSerializer,
  TraceExporterMetricsHelper,
} from "@opentelemetry/otlp-transformer";
import type { LogRecordExporter, ReadableLogRecord } from "@opentelemetry/sdk-logs";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import { encodeLogRecords, encodeSpans } from "./otlp-protobuf.ts";

const protobuf = { "Content-Type": "application/x-protobuf" };

/** What OTLPTraceExporter from @opentelemetry/exporter-trace-otlp-proto does, encoded faster. */
export function otlpSpanExporter(): SpanExporter {
  return new OTLPExporterBase<ReadableSpan[]>(
    createOtlpHttpExportDelegate(
      convertLegacyHttpOptions({}, "TRACES", "v1/traces", protobuf),
      {
        serializeRequest: encodeSpans,
        deserializeResponse: ProtobufTraceSerializer.deserializeResponse,
      },
      "otlp_http_span_exporter",
      TraceExporterMetricsHelper,
      undefined,
    ),
  );
}

/** What OTLPLogExporter from @opentelemetry/exporter-logs-otlp-proto does, encoded faster. */
export function otlpLogExporter(): LogRecordExporter {
  return new OTLPExporterBase<ReadableLogRecord[]>(
    createOtlpHttpExportDelegate(
      convertLegacyHttpOptions({}, "LOGS", "v1/logs", protobuf),
      {
        serializeRequest: encodeLogRecords,
        deserializeResponse: ProtobufLogsSerializer.deserializeResponse,
      },
      "otlp_http_log_exporter",
      LogsExporterMetricsHelper,
      undefined,
    ),
  );
}
