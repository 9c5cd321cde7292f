// The services' real OTLP output: both services run as processes, configured with the
// environment the service chart renders for their pods (gitops/charts/service with
// gitops/services/<name>.yaml), export to the test OTLP receiver, and get traffic
// through the gateway. Nothing here is written by hand: every resource attribute, metric name,
// unit, bucket boundary and span kind below is what the services actually sent.
import {
  type ReceivedDataPoint,
  startOtlpReceiver,
} from "../../apps/telemetry/testing/otlp-receiver.ts";
import { startService } from "../../apps/telemetry/testing/process.ts";
import { SERVICES, type Service } from "../../bootstrap/lib/names.ts";
import type { Capture } from "../../model/backends.ts";
import { collected } from "../../model/collected.ts";
import type { Pod } from "../../model/collector.ts";
import { renderChart } from "../testing/helm.ts";
import type { KubeObject } from "../testing/load.ts";

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

// Only the export timing differs from a pod (so the test waits milliseconds, not a minute), the
// queue sizes (so a burst of 200 requests overflows them, not thousands), sampling (every trace,
// so the burst overflows them whatever a learner's lab 6 set: docs/labs.md), and the addresses:
// the OTLP endpoint is the receiver, the upstream is the local user-service.
const fastExport = {
  OTEL_TRACES_SAMPLER: "parentbased_always_on",
  OTEL_METRIC_EXPORT_INTERVAL: "200",
  OTEL_BSP_SCHEDULE_DELAY: "50",
  OTEL_BLRP_SCHEDULE_DELAY: "50",
  OTEL_BSP_MAX_QUEUE_SIZE: "64",
  OTEL_BLRP_MAX_QUEUE_SIZE: "64",
};

// What each service's SDK reports when telemetry is lost (otel.sdk.processor.*.processed).
const lossReported = (points: ReceivedDataPoint[], service: Service) =>
  ["otel.sdk.processor.span.processed", "otel.sdk.processor.log.processed"].every((metric) =>
    ["queue_full", "OTLPExporterError"].every((error) =>
      points.some(
        (p) =>
          p.metric === metric &&
          p.resource["service.name"] === service &&
          p.attributes["error.type"] === error,
      ),
    ),
  );

async function run(): Promise<Capture> {
  const receiver = startOtlpReceiver();
  const [gatewayPod, userPod] = await Promise.all([
    renderPod("api-gateway"),
    renderPod("user-service"),
  ]);
  const otlp = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...fastExport };
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
      metric: receiver.dataPoints.some((m) => m.resource["service.name"] === service),
      log: receiver.logs.some((l) => l.resource["service.name"] === service),
      span: receiver.spans.some((s) => s.resource["service.name"] === service),
    });
    const complete = () =>
      SERVICES.every((s) => Object.values(has(s)).every(Boolean)) &&
      receiver.dataPoints.some((m) => m.type === "histogram" && m.attributes["http.route"]);
    while (!complete()) {
      if (Date.now() > deadline) {
        throw new Error(
          `capture: telemetry incomplete after 10 s: ${JSON.stringify(Object.fromEntries(SERVICES.map((s) => [s, has(s)])))}`,
        );
      }
      await Bun.sleep(50);
    }
    // Then a collector in trouble: trace and log exports hang, a burst overflows the services'
    // queues (dropped: error.type=queue_full), and the hung exports are refused (failed:
    // error.type=OTLPExporterError). The SDK's metrics, still exported, count both.
    const refuse = receiver.stallTracesAndLogs();
    await Promise.all(
      Array.from({ length: 200 }, () =>
        fetch(`${gateway.url}/user/42`).then((response) => response.arrayBuffer()),
      ),
    );
    await refuse(SERVICES.length);
    await receiver.waitForDataPoints(
      (points) => SERVICES.every((service) => lossReported(points, service)),
      10_000,
    );
    // One more metric interval, so every instrument has reported after the traffic.
    await Bun.sleep(400);
  } finally {
    await Promise.all([gateway.stop(), userService.stop()]);
    await receiver.stop();
  }
  return {
    metrics: receiver.dataPoints.map(collected),
    logs: receiver.logs.map(collected),
    spans: receiver.spans.map(collected),
    pods: { "api-gateway": gatewayPod.pod, "user-service": userPod.pod },
  };
}

let once: Promise<Capture> | undefined;

/** The services' OTLP output (run once per test process). */
export function captureServices(): Promise<Capture> {
  once ??= run();
  return once;
}
