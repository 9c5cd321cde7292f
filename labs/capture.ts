// What a lab's check looks at: both services run as real processes from this tree, with the
// environment the service chart renders from gitops/services/<name>.yaml (the learner's
// settings), export real OTLP to the test receiver, and get a fixed set of lookups through the
// gateway. The capture then goes through the project's pipeline model (gitops/pipeline) to what
// Tempo, Prometheus and Loki would hold. Nothing is written to the tree.
import {
  type OtlpReceiver,
  type ReceivedDataPoint,
  type ReceivedSpan,
  startOtlpReceiver,
} from "../apps/telemetry/testing/otlp-receiver.ts";
import {
  processTimeoutMs,
  type ServiceProcess,
  startService,
} from "../apps/telemetry/testing/process.ts";
import { SERVICES, type Service } from "../bootstrap/lib/names.ts";
import { CliError } from "../cli/errors.ts";
import { renderPod } from "../gitops/pipeline/capture.ts";
import { type Backends, backends, type Capture } from "../model/backends.ts";
import { collected } from "../model/collected.ts";

export interface LabCapture {
  capture: Capture;
  /** The spans as received, attribute values with their OTLP types (TraceQL compares typed). */
  spans: ReceivedSpan[];
  points: ReceivedDataPoint[];
  backends: Backends;
  /** Each service's container environment as the chart renders it. */
  env: Record<Service, Record<string, string>>;
  /** How many requests went to the gateway. */
  sent: number;
}

/**
 * "lookups": 140 lookups (found, not found, invalid id), ten at a time.
 * "collector-down": the collector stops answering trace and log exports while a burst of 200
 * lookups goes through small queues, then refuses the held exports; metrics still get through,
 * so the SDK's own counts of what it lost arrive (as capture.ts does for the pipeline tests).
 */
export type Scenario = "lookups" | "collector-down";

const entry = (service: Service) => `${import.meta.dir}/../apps/${service}/src/index.ts`;

// Export within milliseconds instead of seconds, so a check takes about two seconds.
const fastExport = {
  OTEL_METRIC_EXPORT_INTERVAL: "200",
  OTEL_BSP_SCHEDULE_DELAY: "50",
  OTEL_BLRP_SCHEDULE_DELAY: "50",
};
const smallQueues = { OTEL_BSP_MAX_QUEUE_SIZE: "64", OTEL_BLRP_MAX_QUEUE_SIZE: "64" };

const LOOKUP_IDS = ["123", "42", "1", "777", "9999", "999", "abc"];

/** The latest cumulative count of a histogram or value of a sum, summed over its streams. */
export function total(
  points: ReceivedDataPoint[],
  metric: string,
  service: Service,
  match: (attributes: Record<string, unknown>) => boolean = () => true,
): number {
  const latest = new Map<string, number>();
  for (const p of points) {
    if (p.metric !== metric || p.resource["service.name"] !== service || !match(p.attributes))
      continue;
    const key = JSON.stringify([p.resource["service.instance.id"], p.attributes]);
    const value = p.count ?? p.value ?? 0;
    latest.set(key, Math.max(latest.get(key) ?? 0, value));
  }
  return [...latest.values()].reduce((a, b) => a + b, 0);
}

async function waitFor(what: string, ready: () => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`lab check: timed out waiting for ${what}`);
    await Bun.sleep(25);
  }
}

/** Sends `count` lookups; resolves with how many reached user-service (an invalid id does not). */
async function lookups(gateway: string, count: number, parallel = 10): Promise<number> {
  const ids = Array.from({ length: count }, (_, i) => LOOKUP_IDS[i % LOOKUP_IDS.length]);
  for (let i = 0; i < ids.length; i += parallel) {
    await Promise.all(
      ids
        .slice(i, i + parallel)
        .map((id) => fetch(`${gateway}/user/${id}`).then((r) => r.arrayBuffer())),
    );
  }
  return ids.filter((id) => id !== "abc").length;
}

// What each service's SDK reports when spans are lost (otel.sdk.processor.span.processed).
const SPANS_PROCESSED = "otel.sdk.processor.span.processed";
const lossReported = (points: ReceivedDataPoint[]) =>
  SERVICES.every((service) =>
    ["queue_full", "OTLPExporterError"].every(
      (error) => total(points, SPANS_PROCESSED, service, (a) => a["error.type"] === error) > 0,
    ),
  );

const DURATION = "http.server.request.duration";

// A check given up half-way (a test's timeout) must not leave the services running.
const running = new Set<ServiceProcess>();
process.on("exit", () => {
  for (const service of running) service.process.kill();
});
/** Starts a service; one that does not come up (a syntax error in an edit) is a CliError. */
async function start(service: Service, env: Record<string, string>): Promise<ServiceProcess> {
  try {
    const child = await startService(entry(service), env, processTimeoutMs);
    running.add(child);
    return child;
  } catch (error) {
    // startService's message ends with what the process printed: its error line, or the last.
    const lines = (error as Error).message.split("\n").filter((line) => line.trim());
    const last = lines.find((line) => line.startsWith("error: "))?.slice(7) ?? lines.at(-1) ?? "";
    // A setting it refuses is a JSON log line: its message is the reason.
    let why = last;
    try {
      why = (JSON.parse(last) as { msg?: string }).msg ?? last;
    } catch {
      // not a JSON line: the line itself
    }
    throw new CliError(
      `${service} did not start: ${why}`,
      "bun run dev shows the whole error; fix it and check again",
    );
  }
}

type Pods = Record<Service, Awaited<ReturnType<typeof renderPod>>>;

async function run(scenario: Scenario, pods: Pods): Promise<LabCapture> {
  const { "api-gateway": gatewayPod, "user-service": userPod } = pods;
  const receiver: OtlpReceiver = startOtlpReceiver();
  const otlp = {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    ...fastExport,
    ...(scenario === "collector-down" ? smallQueues : {}),
    PORT: "0",
  };
  let sent = 0;
  let reached = 0;
  const userService = await start("user-service", { ...userPod.env, ...otlp }).catch(
    async (error) => {
      await receiver.stop();
      throw error;
    },
  );
  try {
    const gateway = await start("api-gateway", {
      ...gatewayPod.env,
      ...otlp,
      USER_SERVICE_URL: userService.url,
    });
    try {
      if (scenario === "lookups") {
        sent = 140;
        reached = await lookups(gateway.url, sent);
      } else {
        sent = 7;
        reached = await lookups(gateway.url, sent);
        await waitFor("the first spans", () => receiver.spans.length > 0);
        const refuse = receiver.stallTracesAndLogs();
        reached += await lookups(gateway.url, 200, 200);
        sent += 200;
        await refuse(SERVICES.length);
        await waitFor("the SDK's loss counts", () => lossReported(receiver.dataPoints));
      }
      // Every request is counted in the gateway's duration histogram once the next metric
      // export is in; the spans and logs of the last requests follow within a batch delay.
      await waitFor(
        "every request in the services' metrics",
        () =>
          total(receiver.dataPoints, DURATION, "api-gateway") >= sent &&
          total(receiver.dataPoints, DURATION, "user-service") >= reached,
      );
      await Bun.sleep(300);
    } finally {
      await gateway.stop();
      running.delete(gateway);
    }
  } finally {
    await userService.stop();
    running.delete(userService);
    await receiver.stop();
  }
  const capture: Capture = {
    metrics: receiver.dataPoints.map(collected),
    logs: receiver.logs.map(collected),
    spans: receiver.spans.map(collected),
    pods: { "api-gateway": gatewayPod.pod, "user-service": userPod.pod },
  };
  return {
    capture,
    spans: receiver.spans,
    points: receiver.dataPoints,
    backends: backends(capture),
    env: { "api-gateway": gatewayPod.env, "user-service": userPod.env },
    sent,
  };
}

// The knobs of later labs (ERROR_RATE in lab 4, sampling in lab 6), held at their defaults for
// the labs that are not about them: a lab done earlier stays passed whatever a later one set.
function steady(service: Service, env: Record<string, string>): Record<string, string> {
  const { OTEL_TRACES_SAMPLER: _, OTEL_TRACES_SAMPLER_ARG: __, ...rest } = env;
  return service === "user-service" ? { ...rest, ERROR_RATE: "0" } : rest;
}

const rendered = () =>
  Promise.all(SERVICES.map(renderPod)).then(
    ([gateway, user]) => ({ "api-gateway": gateway, "user-service": user }) as Pods,
  );

const runs = new Map<string, Promise<LabCapture>>();

/**
 * The services' telemetry for a scenario, run once per process and settings. `learnerSettings`:
 * the services get gitops/services/ as it is; otherwise ERROR_RATE and sampling at their defaults.
 */
export async function labCapture(
  scenario: Scenario = "lookups",
  { learnerSettings = false } = {},
): Promise<LabCapture> {
  const pods = await rendered();
  if (!learnerSettings)
    for (const service of SERVICES)
      pods[service] = { ...pods[service], env: steady(service, pods[service].env) };
  const key = JSON.stringify([scenario, SERVICES.map((s) => Object.entries(pods[s].env).sort())]);
  let capture = runs.get(key);
  if (!capture) {
    capture = run(scenario, pods);
    runs.set(key, capture);
  }
  return capture;
}
