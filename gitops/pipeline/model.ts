// The pipeline as it runs on the cluster, end to end: the services' real OTLP output
// (capture.ts) → the Collector's processors as configured (collector.ts) → what Prometheus
// (prometheus-otlp.ts, plus Tempo's metrics-generator, tempo-generator.ts), Loki (loki-otlp.ts)
// and Tempo hold. Tests check the project's queries against this, not against hand-written data.
import { SERVICES, type Service } from "../../bootstrap/lib/names.ts";
import { type Capture, captureServices } from "./capture.ts";
import type { Span } from "./collected.ts";
import { collectorModel, enrich, type Signal } from "./collector.ts";
import { type LokiEntry, translateLogs } from "./loki-otlp.ts";
import { type PromSeries, prometheusOtlpSettings, translateMetrics } from "./prometheus-otlp.ts";
import { generatorSeries } from "./tempo-generator.ts";

export interface Backends {
  /** Every series in Prometheus: OTLP metrics and Tempo's generated series. */
  prometheus: PromSeries[];
  loki: LokiEntry[];
  /** Spans as Tempo stores them (resource attributes after the Collector). */
  tempo: Span[];
}

function serviceOf(attributes: Record<string, string>): Service {
  const name = attributes["service.name"];
  const service = SERVICES.find((s) => s === name);
  if (!service) throw new Error(`pipeline model: telemetry from an unknown service ${name}`);
  return service;
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
          capture.pods[serviceOf(item.resource.attributes)],
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

/** The backends for the services as they are in this tree (captured once per test process). */
export async function pipelineBackends(): Promise<Backends> {
  return backends(await captureServices());
}
