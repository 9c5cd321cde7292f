// What the OTel Collector does to a resource on its way through, as gitops/values/
// otel-collector.yaml configures it: the config the chart renders from these values (coalesced
// with the chart's defaults as Helm does it, with the kubernetesAttributes preset merged in as
// opentelemetry-collector 0.170.0 does it), and the processors of each pipeline applied to the
// resource attributes in order. collector-validate.ts checks that config as the Collector does.
//
// Followed upstream:
// - opentelemetry-helm-charts, charts/opentelemetry-collector 0.170.0, templates/_config.tpl:
//   `kubernetesAttributesConfig` (the preset below) and `applyKubernetesAttributesConfig`
//   (`mustMergeOverwrite preset .config`: our values win, maps merge, lists replace; the
//   processor is prepended to every pipeline that does not name it).
// - opentelemetry-collector-contrib processor/k8sattributesprocessor (collector 0.158.0):
//   processor.go `processResource` sets each extracted attribute only when the resource lacks
//   it (`setResourceAttribute`: absent or empty), and sets `service.namespace` to the pod's
//   namespace when `service.namespace` is in extract.metadata; `otel_annotations` turns pod
//   annotations `resource.opentelemetry.io/<key>` into resource attributes.
import { otelCollectorDefaults } from "./chart-defaults.ts";
import type { Attributes } from "./collected.ts";
import { chartValues, isMap } from "./helm-values.ts";
import { loadYaml } from "./yaml.ts";

export const collectorValues = "gitops/values/otel-collector.yaml";

export type Signal = "traces" | "metrics" | "logs";

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

// charts/opentelemetry-collector 0.170.0 templates/_config.tpl, kubernetesAttributesConfig
// (mode deployment; named k8s_attributes since rewriteDeprecatedComponentNames defaults true).
const kubernetesAttributesPreset = {
  passthrough: false,
  pod_association: [
    { sources: [{ from: "resource_attribute", name: "k8s.pod.ip" }] },
    { sources: [{ from: "resource_attribute", name: "k8s.pod.uid" }] },
    { sources: [{ from: "connection" }] },
  ],
  extract: {
    otel_annotations: true,
    metadata: [
      "k8s.namespace.name",
      "k8s.pod.name",
      "k8s.pod.uid",
      "k8s.node.name",
      "k8s.pod.start_time",
      "k8s.deployment.name",
      "k8s.replicaset.name",
      "k8s.replicaset.uid",
      "k8s.daemonset.name",
      "k8s.daemonset.uid",
      "k8s.job.name",
      "k8s.job.uid",
      "k8s.container.name",
      "k8s.cronjob.name",
      "k8s.statefulset.name",
      "k8s.statefulset.uid",
      "container.image.tag",
      "container.image.name",
      "k8s.cluster.uid",
      "service.namespace",
      "service.name",
      "service.version",
      "service.instance.id",
    ],
  },
};

type Config = Record<string, unknown>;

/** Sprig's mustMergeOverwrite(dst, src): maps merge recursively, anything else in src wins. */
function mergeOverwrite(dst: Config, src: Config): Config {
  const out: Config = { ...dst };
  for (const [key, value] of Object.entries(src)) {
    out[key] = isMap(value) && isMap(out[key]) ? mergeOverwrite(out[key] as Config, value) : value;
  }
  return out;
}

/**
 * The Collector config (the `relay` key of the chart's ConfigMap) that the chart renders from
 * these value files in order: their values coalesced with the chart's defaults as Helm does it
 * (helm-values.ts), then the kubernetesAttributes preset applied.
 */
export function collectorConfig(valueFiles: string[] = [collectorValues]): Config {
  const values = chartValues(
    otelCollectorDefaults,
    valueFiles.map((file) => loadYaml(file)),
  ) as { presets?: { kubernetesAttributes?: { enabled?: boolean } }; config?: Config };
  if (!isMap(values.config)) throw new Error(`${valueFiles.join(", ")}: no config`);
  let config = values.config;
  if (values.presets?.kubernetesAttributes?.enabled) {
    const processors = isMap(config.processors) ? config.processors : {};
    const own = processors.k8s_attributes;
    config = {
      ...config,
      processors: {
        ...processors,
        k8s_attributes: mergeOverwrite(kubernetesAttributesPreset, isMap(own) ? own : {}),
      },
    };
    const service = isMap(config.service) ? config.service : {};
    const pipelines = isMap(service.pipelines) ? service.pipelines : {};
    const withPreset: Config = {};
    // Only the pipelines named after a signal; "traces/other" is left as it is.
    for (const [id, pipeline] of Object.entries(pipelines)) {
      const list = isMap(pipeline) && Array.isArray(pipeline.processors) ? pipeline.processors : [];
      const named = list.includes("k8s_attributes") || list.includes("k8sattributes");
      withPreset[id] =
        named || !isMap(pipeline) || !["logs", "metrics", "traces", "profiles"].includes(id)
          ? pipeline
          : { ...pipeline, processors: ["k8s_attributes", ...list] };
    }
    config = { ...config, service: { ...service, pipelines: withPreset } };
  }
  return config;
}

export interface CollectorModel {
  processors: Record<string, Config>;
  pipelines: Record<Signal, string[]>;
}

/** The processors and pipelines the chart renders from the values file. */
export function collectorModel(valuesFile = collectorValues): CollectorModel {
  const config = collectorConfig([valuesFile]);
  const processors: Record<string, Config> = {};
  for (const [name, processor] of Object.entries((config.processors ?? {}) as Config))
    processors[name] = isMap(processor) ? processor : {};
  const pipelines = {} as Record<Signal, string[]>;
  for (const signal of ["traces", "metrics", "logs"] as const) {
    const pipeline = (config.service as { pipelines?: Config } | undefined)?.pipelines?.[signal] as
      | { processors?: string[] }
      | undefined;
    if (!pipeline) throw new Error(`${valuesFile}: no ${signal} pipeline`);
    pipelines[signal] = [...(pipeline.processors ?? [])];
  }
  return { processors, pipelines };
}

// What the processor can look up about the pod an export came from.
function podAttribute(pod: Pod, key: string): string | undefined {
  const [imageName, imageTag] = pod.image.split(":");
  const known: Record<string, string | undefined> = {
    "k8s.namespace.name": pod.namespace,
    "k8s.pod.name": pod.name,
    "k8s.pod.uid": pod.uid,
    "k8s.node.name": pod.node,
    "k8s.pod.start_time": "2026-01-01T00:00:00Z",
    "k8s.deployment.name": pod.deployment,
    "k8s.replicaset.name": pod.replicaset,
    "k8s.replicaset.uid": "6a1f4c0e-2b7d-4a0b-9c1e-1f2e3d4c5b6a",
    "k8s.container.name": pod.container,
    "container.image.name": imageName,
    "container.image.tag": imageTag,
    "k8s.cluster.uid": "4d7e1f2a-9b3c-4e5d-8f6a-7b8c9d0e1f2a",
    "service.namespace": pod.namespace,
    // k8s_attributes derives these from well-known labels and the container; the services set
    // them themselves, so they are only filled if a service ever stops sending them.
    "service.name": pod.deployment,
    "service.version": imageTag,
    "service.instance.id": `${pod.namespace}.${pod.name}.${pod.container}`,
  };
  return known[key];
}

function k8sAttributes(config: Config, attributes: Attributes, pod: Pod): Attributes {
  const out = { ...attributes };
  if (config.passthrough) return out;
  const set = (key: string, value: string | undefined) => {
    if (value !== undefined && !out[key]) out[key] = value;
  };
  const extract = (config.extract ?? {}) as { metadata?: string[]; otel_annotations?: boolean };
  for (const key of extract.metadata ?? []) set(key, podAttribute(pod, key));
  if (extract.otel_annotations) {
    for (const [annotation, value] of Object.entries(pod.annotations)) {
      const key = annotation.match(/^resource\.opentelemetry\.io\/(.+)$/)?.[1];
      if (key) set(key, value);
    }
  }
  return out;
}

// The resource processor (attributes actions on the resource).
function resourceActions(config: Config, attributes: Attributes): Attributes {
  const out = { ...attributes };
  for (const action of (config.attributes ?? []) as {
    key: string;
    action: string;
    value?: unknown;
  }[]) {
    const present = action.key in out;
    switch (action.action) {
      case "delete":
        delete out[action.key];
        break;
      case "insert":
        if (!present) out[action.key] = String(action.value);
        break;
      case "update":
        if (present) out[action.key] = String(action.value);
        break;
      case "upsert":
        out[action.key] = String(action.value);
        break;
      default:
        throw new Error(`pipeline model: resource action "${action.action}" is not modelled`);
    }
  }
  return out;
}

// Processors that do not change resource attributes.
const passive = new Set(["memory_limiter", "batch"]);

/** The resource attributes a backend receives for one signal from one pod. */
export function enrich(
  model: CollectorModel,
  signal: Signal,
  attributes: Attributes,
  pod: Pod | undefined,
): Attributes {
  let out = attributes;
  for (const name of model.pipelines[signal]) {
    const type = name.split("/")[0] as string;
    const config = model.processors[name] ?? {};
    if (passive.has(type)) continue;
    if (type === "k8s_attributes" || type === "k8sattributes") {
      if (pod) out = k8sAttributes(config, out, pod);
    } else if (type === "resource") out = resourceActions(config, out);
    else
      throw new Error(
        `pipeline model: processor ${name} in the ${signal} pipeline is not modelled; ` +
          "add what it does to resource attributes in model/collector.ts",
      );
  }
  return out;
}
