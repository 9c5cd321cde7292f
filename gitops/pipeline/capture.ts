// The services' real OTLP output: both services run as processes, configured with the
// environment the service chart renders for their pods (gitops/charts/service with
// gitops/services/<name>.yaml), export to an in-test OTLP/HTTP endpoint, and get traffic
// through the gateway. Nothing here is written by hand: every resource attribute, metric name,
// unit, bucket boundary and span kind below is what the services actually sent.
import generatedRoot from "otlp-decoders/build/src/generated/root.js";
import { startService } from "../../apps/telemetry/testing/process.ts";
import { SERVICES, type Service } from "../../bootstrap/lib/names.ts";
import { renderChart } from "../testing/helm.ts";
import type { KubeObject } from "../testing/load.ts";

export type Attributes = Record<string, string>;

export interface Resource {
  attributes: Attributes;
}

export interface MetricPoint {
  resource: Resource;
  scope: { name: string; version: string };
  name: string;
  unit: string;
  kind: "histogram" | "sum" | "gauge" | "exponentialHistogram" | "summary";
  monotonic: boolean;
  temporality: string;
  attributes: Attributes;
  /** Histogram boundaries (the implicit +Inf bucket is not listed). */
  bounds: number[];
}

export interface LogRecord {
  resource: Resource;
  attributes: Attributes;
  severityText: string;
  severityNumber: string;
  traceId: string;
  spanId: string;
}

export interface Span {
  resource: Resource;
  attributes: Attributes;
  name: string;
  kind: string;
  statusCode: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
}

export interface Capture {
  metrics: MetricPoint[];
  logs: LogRecord[];
  spans: Span[];
  /** The pod each service runs in, as the service chart renders it. */
  pods: Record<Service, Pod>;
}

/** What the Kubernetes API knows about a service's pod (the Collector looks it up). */
export interface Pod {
  namespace: string;
  name: string;
  uid: string;
  node: string;
  deployment: string;
  replicaset: string;
  container: string;
  image: string;
  annotations: Record<string, string>;
}

// --- decoding -------------------------------------------------------------------------

// biome-ignore lint/suspicious/noExplicitAny: decoded protobuf objects are untyped here
type Decoded = any;
interface MessageType {
  decode(bytes: Uint8Array): unknown;
  toObject(message: unknown, options: object): Decoded;
}
const collector = (
  generatedRoot as unknown as {
    opentelemetry: { proto: { collector: Record<string, { v1: Record<string, MessageType> }> } };
  }
).opentelemetry.proto.collector;
const requestTypes: Record<string, MessageType | undefined> = {
  "/v1/traces": collector.trace?.v1.ExportTraceServiceRequest,
  "/v1/metrics": collector.metrics?.v1.ExportMetricsServiceRequest,
  "/v1/logs": collector.logs?.v1.ExportLogsServiceRequest,
};
const toObjectOptions = { longs: String, enums: String, bytes: String, arrays: true };
const hex = (base64?: string) => (base64 ? Buffer.from(base64, "base64").toString("hex") : "");

// Attribute values as strings, the way the Collector's pcommon.Value.AsString() renders them.
function asString(value: Decoded): string {
  if (!value) return "";
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return String(value.boolValue);
  if (value.intValue !== undefined) return String(value.intValue);
  if (value.doubleValue !== undefined) return String(value.doubleValue);
  if (value.arrayValue) return JSON.stringify((value.arrayValue.values ?? []).map(asString));
  return JSON.stringify(value);
}
const attributes = (list: Decoded[] | undefined): Attributes =>
  Object.fromEntries((list ?? []).map((kv) => [kv.key, asString(kv.value)]));

function decode(path: string, body: Uint8Array, into: Omit<Capture, "pods">) {
  const type = requestTypes[path];
  if (!type) throw new Error(`capture: no decoder for ${path}`);
  const request = type.toObject(type.decode(body), toObjectOptions);
  for (const rm of request.resourceMetrics ?? []) {
    const resource = { attributes: attributes(rm.resource?.attributes) };
    for (const sm of rm.scopeMetrics ?? []) {
      const scope = { name: sm.scope?.name ?? "", version: sm.scope?.version ?? "" };
      for (const metric of sm.metrics ?? []) {
        const kind = (
          ["histogram", "sum", "gauge", "exponentialHistogram", "summary"] as const
        ).find((k) => metric[k]);
        if (!kind) continue;
        const data = metric[kind];
        for (const point of data.dataPoints ?? []) {
          into.metrics.push({
            resource,
            scope,
            name: metric.name,
            unit: metric.unit ?? "",
            kind,
            monotonic: Boolean(data.isMonotonic),
            temporality: data.aggregationTemporality ?? "",
            attributes: attributes(point.attributes),
            bounds: point.explicitBounds ?? [],
          });
        }
      }
    }
  }
  for (const rl of request.resourceLogs ?? []) {
    const resource = { attributes: attributes(rl.resource?.attributes) };
    for (const sl of rl.scopeLogs ?? []) {
      for (const record of sl.logRecords ?? []) {
        into.logs.push({
          resource,
          attributes: attributes(record.attributes),
          severityText: record.severityText ?? "",
          severityNumber: record.severityNumber ?? "",
          traceId: hex(record.traceId),
          spanId: hex(record.spanId),
        });
      }
    }
  }
  for (const rs of request.resourceSpans ?? []) {
    const resource = { attributes: attributes(rs.resource?.attributes) };
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        into.spans.push({
          resource,
          attributes: attributes(span.attributes),
          name: span.name,
          kind: span.kind ?? "SPAN_KIND_UNSPECIFIED",
          statusCode: span.status?.code ?? "STATUS_CODE_UNSET",
          traceId: hex(span.traceId),
          spanId: hex(span.spanId),
          parentSpanId: hex(span.parentSpanId),
        });
      }
    }
  }
}

// --- the pods as rendered -------------------------------------------------------------

// The Application's destination namespace (gitops/apps/templates/<service>.yaml).
const SERVICE_NAMESPACE = "apps";
const NODE = "observability-sandbox-control-plane";

interface Container {
  name: string;
  image: string;
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
}

/** A service's pod and container environment as the service chart renders them. */
export async function renderPod(
  service: Service,
): Promise<{ pod: Pod; env: Record<string, string> }> {
  const rendered = await renderChart("gitops/charts/service", {
    release: service,
    namespace: SERVICE_NAMESPACE,
    valueFiles: [`gitops/services/${service}.yaml`],
  });
  const deployment = rendered.find(({ object }) => object.kind === "Deployment")?.object as
    | (KubeObject & {
        spec: {
          template: {
            metadata?: { annotations?: Record<string, string> };
            spec: { containers: Container[] };
          };
        };
      })
    | undefined;
  if (!deployment)
    throw new Error(`capture: the service chart renders no Deployment for ${service}`);
  const container = deployment.spec.template.spec.containers[0];
  if (!container) throw new Error(`capture: the ${service} Deployment has no container`);
  const pod: Pod = {
    namespace: SERVICE_NAMESPACE,
    name: `${deployment.metadata.name}-5d8f7c9b6d-x2x7q`,
    uid: "0b6c2f38-6f0e-4f6e-9a57-3c1d2a1f0e11",
    node: NODE,
    deployment: deployment.metadata.name,
    replicaset: `${deployment.metadata.name}-5d8f7c9b6d`,
    container: container.name,
    image: container.image,
    annotations: deployment.spec.template.metadata?.annotations ?? {},
  };
  // The kubelet resolves the downward API and then $(VAR) references, in order.
  const fields: Record<string, string> = {
    "metadata.name": pod.name,
    "metadata.namespace": pod.namespace,
    "spec.nodeName": pod.node,
  };
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    const fieldPath = variable.valueFrom?.fieldRef?.fieldPath;
    const raw = fieldPath ? fields[fieldPath] : variable.value;
    if (raw === undefined) throw new Error(`capture: cannot resolve env ${variable.name}`);
    env[variable.name] = raw.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (ref, name) =>
      name in env ? (env[name] as string) : ref,
    );
  }
  return { pod, env };
}

// --- running them ---------------------------------------------------------------------

const entries: Record<Service, string> = {
  "api-gateway": `${import.meta.dir}/../../apps/api-gateway/src/index.ts`,
  "user-service": `${import.meta.dir}/../../apps/user-service/src/index.ts`,
};

// Only the export timing differs from a pod (so the test waits milliseconds, not a minute),
// and the addresses: the OTLP endpoint is this capture, the upstream is the local user-service.
const fastExport = {
  OTEL_METRIC_EXPORT_INTERVAL: "200",
  OTEL_BSP_SCHEDULE_DELAY: "50",
  OTEL_BLRP_SCHEDULE_DELAY: "50",
};

async function run(): Promise<Capture> {
  const captured: Omit<Capture, "pods"> = { metrics: [], logs: [], spans: [] };
  const endpoint = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const path = new URL(request.url).pathname;
      decode(path, new Uint8Array(await request.arrayBuffer()), captured);
      return new Response(new Uint8Array(), {
        headers: { "content-type": "application/x-protobuf" },
      });
    },
  });
  const [gatewayPod, userPod] = await Promise.all([
    renderPod("api-gateway"),
    renderPod("user-service"),
  ]);
  const otlp = { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${endpoint.port}`, ...fastExport };
  // ERROR_RATE is the fault knob of gitops/services/user-service.yaml: half the lookups fail, so
  // the 5xx series the error-rate queries select exist too.
  const userService = await startService(entries["user-service"], {
    ...userPod.env,
    ...otlp,
    PORT: "0",
    ERROR_RATE: "0.5",
  });
  const gateway = await startService(entries["api-gateway"], {
    ...gatewayPod.env,
    ...otlp,
    PORT: "0",
    USER_SERVICE_URL: userService.url,
  });
  try {
    // Found, not found and (by ERROR_RATE) failing lookups, and one invalid id.
    // 16 lookups at ERROR_RATE 0.5: all succeed or all fail only with odds of 2^-16 each.
    for (const id of [...Array<number>(16).fill(42), 999, 999, "abc"]) {
      await (await fetch(`${gateway.url}/user/${id}`)).arrayBuffer();
    }
    const deadline = Date.now() + 10_000;
    const has = (service: Service) => ({
      metric: captured.metrics.some((m) => m.resource.attributes["service.name"] === service),
      log: captured.logs.some((l) => l.resource.attributes["service.name"] === service),
      span: captured.spans.some((s) => s.resource.attributes["service.name"] === service),
    });
    const complete = () =>
      SERVICES.every((s) => Object.values(has(s)).every(Boolean)) &&
      captured.metrics.some((m) => m.kind === "histogram" && m.attributes["http.route"]);
    while (!complete()) {
      if (Date.now() > deadline) {
        throw new Error(
          `capture: telemetry incomplete after 10 s: ${JSON.stringify(Object.fromEntries(SERVICES.map((s) => [s, has(s)])))}`,
        );
      }
      await Bun.sleep(50);
    }
    // One more metric interval, so every instrument has reported after the traffic.
    await Bun.sleep(400);
  } finally {
    await Promise.all([gateway.stop(), userService.stop()]);
    endpoint.stop(true);
  }
  return { ...captured, pods: { "api-gateway": gatewayPod.pod, "user-service": userPod.pod } };
}

let once: Promise<Capture> | undefined;

/** The services' OTLP output (run once per test process). */
export function captureServices(): Promise<Capture> {
  once ??= run();
  return once;
}
