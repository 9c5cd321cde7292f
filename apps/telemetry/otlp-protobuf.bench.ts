// `bun run bench:encoder`: the cost of encoding a batch of spans like user-service's, ours
// against the official serializer, in a tight loop (the figure the README quotes).
import { context, SpanKind, trace } from "@opentelemetry/api";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { buildResource } from "./config.ts";
import { encodeSpans } from "./otlp-protobuf.ts";

function userServiceSpans(count: number) {
  const exporter = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({
    resource: buildResource({ name: "user-service", version: "0.1.0" }, {}),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  }).getTracer("user-service", "0.1.0");
  for (let i = 0; i < count / 2; i++) {
    const server = tracer.startSpan("GET", {
      kind: SpanKind.SERVER,
      attributes: { "http.request.method": "GET", "url.path": "/users/123", "url.scheme": "http" },
    });
    const query = tracer.startSpan(
      "SELECT users",
      {
        kind: SpanKind.CLIENT,
        attributes: {
          "db.system.name": "other_sql",
          "db.collection.name": "users",
          "db.operation.name": "SELECT",
          "db.query.text": "SELECT * FROM users WHERE id = $1",
        },
      },
      trace.setSpan(context.active(), server),
    );
    query.setAttribute("db.response.returned_rows", 1);
    query.end();
    server.updateName("GET /users/:id");
    server.setAttributes({ "http.response.status_code": 200, "http.route": "/users/:id" });
    server.end();
  }
  return exporter.getFinishedSpans();
}

const batch = userServiceSpans(128);
const encoders = {
  official: (spans: typeof batch) => ProtobufTraceSerializer.serializeRequest(spans),
  ours: encodeSpans,
};
const official = Buffer.from(encoders.official(batch) ?? []);
if (!official.equals(Buffer.from(encoders.ours(batch))))
  throw new Error("the encoders disagree: run bun test apps/telemetry");

console.log(`batches of ${batch.length} spans, ${official.length} bytes each`);
for (let round = 1; round <= 3; round++) {
  for (const [name, encode] of Object.entries(encoders)) {
    const batches = 2000;
    const started = performance.now();
    for (let i = 0; i < batches; i++) encode(batch);
    const perSpanUs = ((performance.now() - started) * 1000) / batches / batch.length;
    console.log(`round ${round}  ${name.padEnd(8)}  ${perSpanUs.toFixed(2)} µs per span`);
  }
}
