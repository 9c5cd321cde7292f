// A tracer whose spans stay in memory, for unit tests of code that makes spans.
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";

export function inMemoryTracer() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return {
    tracer: provider.getTracer("test"),
    finishedSpans: () => exporter.getFinishedSpans(),
    reset: () => exporter.reset(),
  };
}
