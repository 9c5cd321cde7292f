// The pipeline as it runs on the cluster, end to end: the services' real OTLP output
// (gitops/pipeline/capture.ts, or `bun run dev`'s receiver) → the Collector's processors as
// configured (collector.ts) → what Prometheus (prometheus-otlp.ts, plus Tempo's
// metrics-generator, tempo-generator.ts), Loki (loki-otlp.ts) and Tempo hold. Tests check the
// project's queries against this, not against hand-written data.
import type { LogRecord, MetricPoint, Span } from "./collected.ts";
import { collectorModel, enrich, type Pod, type Signal } from "./collector.ts";
import { type LokiEntry, translateLogs } from "./loki-otlp.ts";
import { type PromSeries, prometheusOtlpSettings, translateMetrics } from "./prometheus-otlp.ts";
import { generatorSeries } from "./tempo-generator.ts";

/** The services' OTLP output, and the pod each service.name runs in. */
export interface Capture {
  metrics: MetricPoint[];
  logs: LogRecord[];
  spans: Span[];
  /**
   * The pod each service runs in, as the service chart renders it, by service.name; undefined
   * where no helm can render them (`bun run explain` on a laptop): k8s_attributes then adds nothing.
   */
  pods: Record<string, Pod> | undefined;
}

export interface Backends {
  /** Every series in Prometheus: OTLP metrics and Tempo's generated series. */
  prometheus: PromSeries[];
  loki: LokiEntry[];
  /** Spans as Tempo stores them (resource attributes after the Collector). */
  tempo: Span[];
}

function podOf(capture: Capture, attributes: Record<string, string>): Pod | undefined {
  if (!capture.pods) return undefined;
  const name = attributes["service.name"] ?? "";
  const pod = capture.pods[name];
  if (!pod) throw new Error(`pipeline model: telemetry from an unknown service ${name}`);
  return pod;
}

/** What the backends hold after the captured telemetry went through the configured pipeline. */
export function backends(capture: Capture, collectorValuesFile?: string): Backends {
  const collector = collectorModel(collectorValuesFile);
  const enriched = <T extends { resource: { attributes: Record<string, string> } }>(
    signal: Signal,
    items: T[],
  ): T[] =>
    items.map((item) => ({
      ...item,
      resource: {
        attributes: enrich(
          collector,
          signal,
          item.resource.attributes,
          podOf(capture, item.resource.attributes),
        ),
      },
    }));
  const spans = enriched("traces", capture.spans);
  return {
    prometheus: [
      ...translateMetrics(enriched("metrics", capture.metrics), prometheusOtlpSettings()),
      ...generatorSeries(spans),
    ],
    loki: translateLogs(enriched("logs", capture.logs)),
    tempo: spans,
  };
}
