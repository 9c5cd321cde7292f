// Facts: the defaults of the pinned upstream charts that the Helm values model (helm-values.ts)
// needs, read in each chart's values.yaml at the pinned version. Only the maps where our value
// files put a null, and what the Collector model reads, are recorded; a value the model reads
// only for its presence is abbreviated to a description.
import type { ChartDefaults } from "./helm-values.ts";

/** The chart's listen addresses: the Collector expands ${env:MY_POD_IP} from its environment. */
const onPodIp = (port: number) => `\${env:MY_POD_IP}:${port}`;

/**
 * open-telemetry/opentelemetry-helm-charts charts/opentelemetry-collector/values.yaml at
 * opentelemetry-collector-0.170.0: `config` (components and pipelines; service.telemetry left
 * out). Note `exporters` holds only `debug`: a null for any other exporter is rendered.
 */
export const otelCollectorDefaults: ChartDefaults = {
  chart: "opentelemetry-collector",
  version: "0.170.0",
  defaults: {
    config: {
      exporters: { debug: {} },
      extensions: { health_check: { endpoint: onPodIp(13133) } },
      processors: {
        batch: {},
        memory_limiter: { check_interval: "5s", limit_percentage: 80, spike_limit_percentage: 25 },
      },
      receivers: {
        jaeger: { protocols: { grpc: {}, thrift_http: {}, thrift_compact: {} } },
        otlp: {
          protocols: {
            grpc: { endpoint: onPodIp(4317) },
            http: { endpoint: onPodIp(4318) },
          },
        },
        prometheus: { config: `scrapes the Collector's own metrics on ${onPodIp(8888)}` },
        zipkin: { endpoint: onPodIp(9411) },
      },
      service: {
        extensions: ["health_check"],
        pipelines: {
          logs: {
            exporters: ["debug"],
            processors: ["memory_limiter", "batch"],
            receivers: ["otlp"],
          },
          metrics: {
            exporters: ["debug"],
            processors: ["memory_limiter", "batch"],
            receivers: ["otlp", "prometheus"],
          },
          traces: {
            exporters: ["debug"],
            processors: ["memory_limiter", "batch"],
            receivers: ["otlp", "jaeger", "zipkin"],
          },
        },
      },
    },
  },
};

/**
 * prometheus-community/helm-charts charts/kube-prometheus-stack/values.yaml at
 * kube-prometheus-stack-88.5.3 (`prometheus.service`), and for the grafana subchart 12.11.1
 * (grafana-community/helm-charts charts/grafana/values.yaml at grafana-12.11.1, `service`: no
 * `nodePort` key) and the prometheus-node-exporter subchart 4.56.1 (`hostRootFsMount`).
 */
export const kubePrometheusStackDefaults: ChartDefaults = {
  chart: "kube-prometheus-stack",
  version: "88.5.3",
  defaults: {
    prometheus: {
      service: {
        enabled: true,
        clusterIP: "",
        port: 9090,
        targetPort: 9090,
        reloaderWebPort: 8080,
        reloaderWebNodePort: null,
        nodePort: 30090,
        externalTrafficPolicy: "Cluster",
        type: "ClusterIP",
        publishNotReadyAddresses: false,
        sessionAffinity: "None",
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
      },
    },
    grafana: {
      service: {
        enabled: true,
        type: "ClusterIP",
        port: 80,
        targetPort: 3000,
        portName: "service",
        sessionAffinity: "",
      },
    },
    "prometheus-node-exporter": {
      hostRootFsMount: { enabled: true, mountPropagation: "HostToContainer" },
    },
  },
};

const onePodPerNode = (target: string) =>
  `required podAntiAffinity: one ${target} pod per node (topologyKey kubernetes.io/hostname)`;

/** grafana-community/helm-charts charts/loki/values.yaml at loki-18.11.0. */
export const lokiDefaults: ChartDefaults = {
  chart: "loki",
  version: "18.11.0",
  defaults: {
    write: { affinity: onePodPerNode("write") },
    read: { affinity: onePodPerNode("read") },
    backend: { affinity: onePodPerNode("backend") },
    gateway: {
      affinity: onePodPerNode("gateway"),
      service: {
        port: 80,
        type: "ClusterIP",
        clusterIP: null,
        nodePort: null,
        loadBalancerIP: null,
        sessionAffinity: "",
      },
    },
  },
};

/** By the chart an Application installs (its source's `chart`). */
export const chartDefaults: Record<string, ChartDefaults> = {
  "opentelemetry-collector": otelCollectorDefaults,
  "kube-prometheus-stack": kubePrometheusStackDefaults,
  loki: lokiDefaults,
  tempo: { chart: "tempo", version: "2.2.4", defaults: {} },
  seaweedfs: { chart: "seaweedfs", version: "4.44.0", defaults: {} },
};
