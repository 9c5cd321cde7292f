// Wiring: every endpoint the stack points at names a Service, namespace and port that exists:
// either rendered from this repository, or created by a pinned upstream chart with our release
// name and values (the facts table below, each row with where in the chart it was read), and
// every correlation between Grafana datasources resolves.
import { describe, expect, test } from "bun:test";
import { loadYaml } from "../model/yaml.ts";
import { dig, type KubeObject } from "./testing/load.ts";
import { type Child, loadTree, sourcesOf } from "./testing/tree.ts";

const KPS = "gitops/values/kube-prometheus-stack.yaml";
const LOKI = "gitops/values/loki.yaml";
const TEMPO = "gitops/values/tempo.yaml";
const OTEL = "gitops/values/otel-collector.yaml";
const ARGOCD = "bootstrap/argocd-values.yaml";

/** A value the fact depends on; `chartDefault` (read in the chart's values.yaml) applies when unset. */
type Requirement = { values: string; path: string[]; equals: unknown; chartDefault?: unknown };

function expectRequirement({ values, path, equals, chartDefault }: Requirement, why: string) {
  expect(
    dig(loadYaml(values), path) ?? chartDefault,
    `${values}: ${path.join(".")} (${why})`,
  ).toEqual(equals);
}

type ServiceFact = {
  name: string;
  namespace: string;
  ports: number[];
  /** Service port → fixed nodePort. */
  nodePorts?: Record<number, number>;
  /** The values this fact depends on; the test checks they still hold. */
  requires: Requirement[];
  read: string;
};

/**
 * Services the pinned upstream charts (or the Prometheus Operator at run time) create in
 * `monitoring` with our release names (= Application names) and values files.
 */
const upstreamServices: ServiceFact[] = [
  {
    name: "prometheus-operated",
    namespace: "monitoring",
    ports: [9090],
    requires: [{ values: KPS, path: ["prometheus", "enabled"], equals: true, chartDefault: true }],
    read: "Prometheus Operator v0.93.1 creates it for every Prometheus (governing Service, port web 9090); not in `helm template` output",
  },
  {
    name: "alertmanager-operated",
    namespace: "monitoring",
    ports: [9093, 9094],
    requires: [
      { values: KPS, path: ["alertmanager", "enabled"], equals: true, chartDefault: true },
    ],
    read: "Prometheus Operator v0.93.1 creates it for every Alertmanager (web 9093, mesh 9094)",
  },
  {
    name: "kube-prometheus-stack-prometheus",
    namespace: "monitoring",
    ports: [9090, 8080],
    nodePorts: { 9090: 30090, 8080: 30091 },
    requires: [
      { values: KPS, path: ["prometheus", "service", "type"], equals: "NodePort" },
      { values: KPS, path: ["prometheus", "service", "nodePort"], equals: 30090 },
      { values: KPS, path: ["prometheus", "service", "reloaderWebNodePort"], equals: 30091 },
    ],
    read: "kube-prometheus-stack 88.5.3 templates/prometheus/service.yaml: <release>-prometheus, port prometheus.service.port (9090), nodePort prometheus.service.nodePort when type NodePort; reloader-web 8080 with prometheus.service.reloaderWebNodePort",
  },
  {
    name: "kube-prometheus-stack-grafana",
    namespace: "monitoring",
    ports: [80],
    nodePorts: { 80: 30030 },
    requires: [
      { values: KPS, path: ["grafana", "service", "type"], equals: "NodePort" },
      { values: KPS, path: ["grafana", "service", "nodePort"], equals: 30030 },
    ],
    read: "grafana 12.11.1 (subchart) templates/service.yaml: <release>-grafana, port service.port (80) → 3000, nodePort service.nodePort when type NodePort",
  },
  {
    name: "loki",
    namespace: "monitoring",
    ports: [3100, 9095],
    requires: [{ values: LOKI, path: ["deploymentMode"], equals: "Monolithic" }],
    read: "loki 18.11.0 templates/monolithic/service.yaml via templates/_service.tpl: loki.fullname, http-metrics loki.server.http_listen_port (3100), grpc 9095",
  },
  {
    name: "loki-gateway",
    namespace: "monitoring",
    ports: [80],
    requires: [{ values: LOKI, path: ["gateway", "enabled"], equals: true }],
    read: "loki 18.11.0 templates/gateway/service.yaml: <fullname>-gateway, port gateway.service.port (80); nginx routes /otlp/v1/logs and /loki/api to loki:3100 (templates/_helpers.tpl loki.nginxFile)",
  },
  {
    name: "tempo",
    namespace: "monitoring",
    ports: [3200, 4317, 4318],
    requires: [
      {
        values: TEMPO,
        path: ["tempo", "receivers", "otlp", "protocols", "grpc", "endpoint"],
        equals: "0.0.0.0:4317",
      },
      {
        values: TEMPO,
        path: ["tempo", "receivers", "otlp", "protocols", "http", "endpoint"],
        equals: "0.0.0.0:4318",
      },
    ],
    read: "tempo 2.2.4 templates/service.yaml + templates/_ports.tpl: tempo.fullname; 3200 always; OTLP ports taken from tempo.receivers.otlp.protocols.*.endpoint",
  },
  {
    name: "otel-collector",
    namespace: "monitoring",
    ports: [4317, 4318],
    requires: [
      { values: OTEL, path: ["fullnameOverride"], equals: "otel-collector" },
      { values: OTEL, path: ["mode"], equals: "deployment" },
      { values: OTEL, path: ["ports", "otlp", "enabled"], equals: true, chartDefault: true },
      { values: OTEL, path: ["ports", "otlp-http", "enabled"], equals: true, chartDefault: true },
      // The chart's default otlp receiver listens on ${env:MY_POD_IP}:4317 (grpc) and :4318 (http).
      { values: OTEL, path: ["config", "receivers", "otlp"], equals: undefined },
    ],
    read: "opentelemetry-collector 0.170.0 templates/service.yaml: name = fullnameOverride; ports.otlp.servicePort 4317, ports.otlp-http.servicePort 4318 (enabled by default)",
  },
];

/** NodePorts declared outside gitops/ (by bootstrap), mapped in kind-config.yaml too. */
const externalNodePorts: { nodePort: number; what: string; requires?: ServiceFact["requires"] }[] =
  [
    {
      nodePort: 30080,
      what: "argocd-server (argo-cd 10.1.1 templates/argocd-server/service.yaml: server.service.nodePortHttp when type NodePort)",
      requires: [
        { values: ARGOCD, path: ["server", "service", "type"], equals: "NodePort" },
        { values: ARGOCD, path: ["server", "service", "nodePortHttp"], equals: 30080 },
      ],
    },
    {
      nodePort: 30300,
      what: "in-cluster git server (local delivery mode), created by bootstrap in code",
    },
  ];

/** Host ports of the team contract: localhost port → NodePort. */
const hostPorts: Record<number, number> = {
  8080: 30080, // Argo CD UI
  3000: 30030, // Grafana
  9090: 30090, // Prometheus
  8000: 30000, // api-gateway
  8300: 30300, // git server
};

type Endpoint = { service: string; namespace: string; port: number; path: string; scheme: string };

/** Parses `http://svc.ns.svc:port/path` or `svc.ns.svc:port` (gRPC); anything else throws. */
function parseEndpoint(endpoint: string): Endpoint {
  const url = new URL(endpoint.includes("://") ? endpoint : `grpc://${endpoint}`);
  const host = url.hostname.match(/^([a-z0-9-]+)\.([a-z0-9-]+)\.svc(?:\.cluster\.local)?$/);
  if (!host) throw new Error(`${endpoint}: not a <service>.<namespace>.svc address`);
  const scheme = url.protocol.replace(/:$/, "");
  const defaults: Record<string, number> = { http: 80, https: 443 };
  const port = url.port ? Number(url.port) : defaults[scheme];
  if (!port) throw new Error(`${endpoint}: no port`);
  return {
    service: host[1] as string,
    namespace: host[2] as string,
    port,
    path: url.pathname.replace(/\/$/, ""),
    scheme,
  };
}

type KnownService = {
  name: string;
  namespace: string;
  ports: number[];
  nodePorts: number[];
  from: string;
};

function renderedServices(children: Child[]): KnownService[] {
  return children.flatMap(({ app, objects }) =>
    objects
      .filter(({ object }) => object.kind === "Service")
      .map(({ object }) => {
        const ports =
          (dig(object, ["spec", "ports"]) as { port: number; nodePort?: number }[]) ?? [];
        return {
          name: object.metadata.name,
          namespace: object.metadata.namespace ?? "",
          ports: ports.map((p) => p.port),
          nodePorts: ports.flatMap((p) => (p.nodePort ? [p.nodePort] : [])),
          from: `rendered by ${app.metadata.name}`,
        };
      }),
  );
}

async function knownServices(): Promise<KnownService[]> {
  const { children } = await loadTree();
  const upstream = upstreamServices.map((fact) => ({
    name: fact.name,
    namespace: fact.namespace,
    ports: fact.ports,
    nodePorts: Object.values(fact.nodePorts ?? {}),
    from: fact.read,
  }));
  return [...upstream, ...renderedServices(children)];
}

async function expectReachable(endpoint: string, where: string): Promise<Endpoint> {
  const parsed = parseEndpoint(endpoint);
  const services = await knownServices();
  const service = services.find(
    (s) => s.name === parsed.service && s.namespace === parsed.namespace,
  );
  expect(
    service,
    `${where}: ${endpoint} names no known Service ${parsed.service}.${parsed.namespace}`,
  ).toBeDefined();
  expect(
    service?.ports,
    `${where}: ${endpoint} uses a port ${parsed.service} does not expose`,
  ).toContain(parsed.port);
  return parsed;
}

function envOf(object: KubeObject): Record<string, string> {
  const containers = dig(object, ["spec", "template", "spec", "containers"]) as {
    env?: { name: string; value?: string }[];
  }[];
  return Object.fromEntries(
    (containers[0]?.env ?? []).map((e) => [e.name, e.value ?? "(valueFrom)"]),
  );
}

const kps = loadYaml(KPS);
const otel = loadYaml(OTEL);
const tempo = loadYaml(TEMPO);
const loki = loadYaml(LOKI);

type Datasource = {
  name: string;
  uid: string;
  type: string;
  url: string;
  jsonData?: Record<string, unknown>;
};
const datasources = dig(kps, ["grafana", "additionalDataSources"]) as Datasource[];
const datasource = (type: string): Datasource => {
  const found = datasources.filter((d) => d.type === type);
  if (found.length !== 1) throw new Error(`expected one ${type} datasource, found ${found.length}`);
  return found[0] as Datasource;
};

describe("the facts table", () => {
  test.each(upstreamServices.map((fact) => [fact.name, fact] as const))(
    "%s: the values it depends on still hold",
    (_, fact) => {
      for (const requirement of fact.requires) expectRequirement(requirement, fact.read);
    },
  );

  test("release names are the Application names the facts assume", async () => {
    const { children } = await loadTree();
    const releases = Object.fromEntries(
      children.flatMap(({ app }) =>
        sourcesOf(app)
          .filter((s) => s.chart)
          .map((s) => [s.chart, s.helm?.releaseName]),
      ),
    );
    expect(releases).toMatchObject({
      "kube-prometheus-stack": "kube-prometheus-stack",
      loki: "loki",
      tempo: "tempo",
      "opentelemetry-collector": "otel-collector",
    });
    for (const { app } of children) {
      if (sourcesOf(app).some((s) => s.chart))
        expect(app.spec.destination.namespace).toBe("monitoring");
    }
  });

  test("endpoint parsing rejects addresses that name no Service", () => {
    expect(parseEndpoint("http://loki-gateway.monitoring.svc:80/otlp")).toEqual({
      service: "loki-gateway",
      namespace: "monitoring",
      port: 80,
      path: "/otlp",
      scheme: "http",
    });
    expect(parseEndpoint("tempo.monitoring.svc:4317").port).toBe(4317);
    expect(() => parseEndpoint("http://localhost:4318")).toThrow(/not a <service>/);
    expect(() => parseEndpoint("http://tempo:3200")).toThrow(/not a <service>/);
  });
});

describe("OpenTelemetry Collector", () => {
  type Pipeline = { receivers: string[]; processors: string[]; exporters: string[] };
  const config = dig(otel, ["config"]) as {
    receivers: Record<string, unknown>;
    exporters: Record<string, { endpoint?: string } | null>;
    service: { pipelines: Record<string, Pipeline> };
  };
  const pipelines = config.service.pipelines;

  test("receives OTLP over gRPC and HTTP only; chart defaults removed", () => {
    // null removes the chart's default receivers; its otlp receiver (grpc and http) stays.
    expect(config.receivers).toEqual({ jaeger: null, zipkin: null, prometheus: null });
    for (const pipeline of Object.values(pipelines)) expect(pipeline.receivers).toEqual(["otlp"]);
    for (const name of ["jaeger-compact", "jaeger-thrift", "jaeger-grpc", "zipkin"]) {
      expect(dig(otel, ["ports", name, "enabled"]), name).toBe(false);
    }
  });

  test("memory_limiter first, then Kubernetes attributes (chart preset), batch last", () => {
    expect(Object.keys(pipelines).sort()).toEqual(["logs", "metrics", "traces"]);
    for (const pipeline of Object.values(pipelines)) {
      expect(pipeline.processors).toEqual(["memory_limiter", "k8s_attributes", "batch"]);
    }
    // opentelemetry-collector 0.170.0 templates/_config.tpl applyKubernetesAttributesConfig: the
    // preset supplies the processor's config and RBAC, and prepends it only where it is missing.
    expect(dig(otel, ["presets", "kubernetesAttributes", "enabled"])).toBe(true);
  });

  test("no debug exporter in any pipeline", () => {
    expect(config.exporters.debug).toBeNull();
    for (const pipeline of Object.values(pipelines)) {
      for (const exporter of pipeline.exporters) expect(exporter).not.toMatch(/^debug/);
    }
  });

  test("traces go to Tempo over OTLP gRPC", async () => {
    const [exporter] = pipelines.traces?.exporters ?? [];
    expect(exporter).toMatch(/^otlp_grpc\//);
    const endpoint = await expectReachable(
      config.exporters[exporter as string]?.endpoint ?? "",
      `exporter ${exporter}`,
    );
    expect(endpoint).toMatchObject({ service: "tempo", port: 4317 });
  });

  test("metrics go to Prometheus's OTLP receiver, which is switched on", async () => {
    const [exporter] = pipelines.metrics?.exporters ?? [];
    expect(exporter).toMatch(/^otlp_http\//);
    const endpoint = await expectReachable(
      config.exporters[exporter as string]?.endpoint ?? "",
      `exporter ${exporter}`,
    );
    // otlp_http appends /v1/metrics: Prometheus serves /api/v1/otlp/v1/metrics.
    expect(endpoint).toMatchObject({
      service: "prometheus-operated",
      port: 9090,
      path: "/api/v1/otlp",
    });
    expect(dig(kps, ["prometheus", "prometheusSpec", "enableOTLPReceiver"])).toBe(true);
  });

  test("logs go to Loki's OTLP endpoint through the gateway", async () => {
    const [exporter] = pipelines.logs?.exporters ?? [];
    expect(exporter).toMatch(/^otlp_http\//);
    const endpoint = await expectReachable(
      config.exporters[exporter as string]?.endpoint ?? "",
      `exporter ${exporter}`,
    );
    // otlp_http appends /v1/logs: the gateway routes /otlp/v1/logs to Loki.
    expect(endpoint).toMatchObject({ service: "loki-gateway", path: "/otlp" });
  });

  test("every configured exporter endpoint is reachable", async () => {
    for (const [name, exporter] of Object.entries(config.exporters)) {
      if (exporter?.endpoint) await expectReachable(exporter.endpoint, `exporter ${name}`);
    }
  });
});

describe("Prometheus", () => {
  const spec = dig(kps, ["prometheus", "prometheusSpec"]) as Record<string, unknown>;

  test("receives OTLP and remote write, stores exemplars, accepts out-of-order samples", () => {
    expect(spec.enableOTLPReceiver).toBe(true);
    expect(spec.enableRemoteWriteReceiver).toBe(true);
    expect(spec.enableFeatures).toContain("exemplar-storage");
    expect(dig(spec, ["tsdb", "outOfOrderTimeWindow"])).toMatch(/^[1-9]\d*[mh]$/);
    // The contract's metric names (http_server_request_duration_seconds_*) need this strategy.
    expect(dig(spec, ["otlp", "translationStrategy"])).toBe("UnderscoreEscapingWithSuffixes");
  });

  test("selects ServiceMonitors, PodMonitors and rules from every namespace, whatever their labels", () => {
    for (const kind of ["rule", "serviceMonitor", "podMonitor", "probe", "scrapeConfig"]) {
      expect(spec[`${kind}SelectorNilUsesHelmValues`], kind).toBe(false);
    }
    for (const key of [
      "ruleSelector",
      "ruleNamespaceSelector",
      "serviceMonitorSelector",
      "serviceMonitorNamespaceSelector",
      "podMonitorSelector",
      "podMonitorNamespaceSelector",
    ]) {
      expect(spec[key], key).toEqual({});
    }
  });

  test("kind's loopback-bound control-plane components are neither scraped nor alerted on", () => {
    for (const component of ["kubeEtcd", "kubeScheduler", "kubeControllerManager", "kubeProxy"]) {
      expect(dig(kps, [component, "enabled"]), component).toBe(false);
    }
    for (const group of [
      "etcd",
      "kubeControllerManager",
      "kubeProxy",
      "kubeSchedulerAlerting",
      "kubeSchedulerRecording",
    ]) {
      expect(dig(kps, ["defaultRules", "rules", group]), group).toBe(false);
    }
  });

  test("no default alert fires by design on a healthy cluster (Watchdog has no pager to reach)", () => {
    expect(dig(kps, ["defaultRules", "disabled", "Watchdog"])).toBe(true);
  });
});

describe("Tempo and Loki", () => {
  test("Tempo's metrics-generator remote-writes service graphs and span metrics with exemplars to Prometheus", async () => {
    const generator = dig(tempo, ["tempo", "metricsGenerator"]) as Record<string, unknown>;
    expect(generator.enabled).toBe(true);
    const remoteWrite = dig(generator, ["storage", "remote_write"]) as {
      url: string;
      send_exemplars?: boolean;
    }[];
    expect(remoteWrite.length).toBeGreaterThan(0);
    for (const target of remoteWrite) {
      const endpoint = await expectReachable(target.url, "tempo remote_write");
      expect(endpoint).toMatchObject({ service: "prometheus-operated", path: "/api/v1/write" });
      expect(target.send_exemplars).toBe(true);
    }
    expect(dig(kps, ["prometheus", "prometheusSpec", "enableRemoteWriteReceiver"])).toBe(true);
    expect(
      dig(tempo, ["tempo", "overrides", "defaults", "metrics_generator", "processors"]),
    ).toEqual(expect.arrayContaining(["service-graphs", "span-metrics"]));
  });

  test("Loki runs monolithic on the filesystem, single tenant, with a schema", () => {
    expect(dig(loki, ["deploymentMode"])).toBe("Monolithic");
    expect(dig(loki, ["loki", "storage", "type"])).toBe("filesystem");
    expect(dig(loki, ["loki", "auth_enabled"])).toBe(false);
    expect(dig(loki, ["loki", "commonConfig", "replication_factor"])).toBe(1);
    const [schema] = dig(loki, ["loki", "schemaConfig", "configs"]) as Record<string, unknown>[];
    expect(schema).toMatchObject({ store: "tsdb", schema: "v13", object_store: "filesystem" });
  });
});

describe("Grafana datasources and correlations", () => {
  test("Prometheus, Loki, Tempo and Alertmanager are provisioned with unique uids", () => {
    expect(datasources.map((d) => d.type).sort()).toEqual([
      "alertmanager",
      "loki",
      "prometheus",
      "tempo",
    ]);
    expect(new Set(datasources.map((d) => d.uid)).size).toBe(datasources.length);
    expect(dig(kps, ["grafana", "sidecar", "datasources", "defaultDatasourceEnabled"])).toBe(false);
  });

  test.each(["prometheus", "loki", "tempo", "alertmanager"])(
    "the %s datasource URL names a real Service",
    async (type) => {
      await expectReachable(datasource(type).url, `${type} datasource`);
    },
  );

  // The chart's Prometheus Service, which the cluster profile makes sticky to one replica
  // (gitops/cluster-profile.test.ts); Alertmanager's replicas share their state by gossip.
  test("Prometheus is read through the chart's Service, Alertmanager through the operator's", () => {
    expect(parseEndpoint(datasource("prometheus").url).service).toBe(
      "kube-prometheus-stack-prometheus",
    );
    expect(parseEndpoint(datasource("alertmanager").url).service).toBe("alertmanager-operated");
  });

  test("every datasourceUid a correlation names exists", () => {
    const uids = new Set(datasources.map((d) => d.uid));
    const referenced = JSON.stringify(datasources).matchAll(/"datasourceUid":"([^"]+)"/g);
    let count = 0;
    for (const [, uid] of referenced) {
      expect(uids.has(uid as string), `datasourceUid ${uid}`).toBe(true);
      count++;
    }
    expect(count).toBeGreaterThanOrEqual(6);
  });

  test("Prometheus exemplars link to Tempo (Tempo's traceID and OTLP's trace_id labels)", () => {
    const destinations = dig(datasource("prometheus"), [
      "jsonData",
      "exemplarTraceIdDestinations",
    ]) as Record<string, string>[];
    expect(destinations.map((d) => [d.name, d.datasourceUid])).toEqual(
      expect.arrayContaining([
        ["traceID", datasource("tempo").uid],
        ["trace_id", datasource("tempo").uid],
      ]),
    );
  });

  test("Loki → Tempo: a derived field on the trace_id structured-metadata label", () => {
    const fields = dig(datasource("loki"), ["jsonData", "derivedFields"]) as Record<
      string,
      string
    >[];
    expect(fields).toContainEqual(
      expect.objectContaining({
        matcherType: "label",
        matcherRegex: "trace_id",
        datasourceUid: datasource("tempo").uid,
      }),
    );
    // Grafana provisioning expands $VAR: the link template must be escaped as $${__value.raw}.
    expect(fields[0]?.url).toBe("$${__value.raw}");
  });

  test("Tempo → Loki (logs of a trace), Tempo → Prometheus (RED metrics), service map from Prometheus", () => {
    const jsonData = datasource("tempo").jsonData ?? {};
    expect(dig(jsonData, ["tracesToLogsV2", "datasourceUid"])).toBe(datasource("loki").uid);
    // OTLP logs keep trace_id as structured metadata: filter on it, not on the log line.
    expect(dig(jsonData, ["tracesToLogsV2", "customQuery"])).toBe(true);
    expect(dig(jsonData, ["tracesToLogsV2", "query"])).toBe(
      '{$${__tags}} | trace_id="$${__trace.traceId}"',
    );
    expect(dig(jsonData, ["tracesToLogsV2", "tags"])).toEqual([
      { key: "service.name", value: "service_name" },
    ]);
    expect(dig(jsonData, ["tracesToMetrics", "datasourceUid"])).toBe(datasource("prometheus").uid);
    expect(dig(jsonData, ["serviceMap", "datasourceUid"])).toBe(datasource("prometheus").uid);
    const queries = dig(jsonData, ["tracesToMetrics", "queries"]) as { query: string }[];
    expect(queries.length).toBeGreaterThan(0);
    for (const { query } of queries) {
      expect(query).toContain("http_server_request_duration_seconds");
      expect(query).toContain("$$__tags");
    }
  });

  test("the dashboard sidecar watches every namespace for grafana_dashboard ConfigMaps, and finds ours", async () => {
    const sidecar = dig(kps, ["grafana", "sidecar", "dashboards"]) as Record<string, unknown>;
    expect(sidecar).toMatchObject({
      enabled: true,
      label: "grafana_dashboard",
      searchNamespace: "ALL",
    });
    const { children } = await loadTree();
    const dashboards = children
      .flatMap((c) => c.objects)
      .filter(
        ({ object }) =>
          object.kind === "ConfigMap" && object.metadata.labels?.grafana_dashboard !== undefined,
      );
    for (const { object } of dashboards) {
      if (sidecar.labelValue)
        expect(object.metadata.labels?.grafana_dashboard).toBe(sidecar.labelValue as string);
      for (const json of Object.values((object as { data?: Record<string, string> }).data ?? {})) {
        expect(
          () => JSON.parse(json),
          `${object.metadata.name} holds invalid dashboard JSON`,
        ).not.toThrow();
      }
    }
  });
});

describe("the services", () => {
  const workload = async (name: string) => {
    const { children } = await loadTree();
    const found = children
      .flatMap((c) => c.objects)
      .find(({ object }) => object.kind === "Deployment" && object.metadata.name === name);
    if (!found) throw new Error(`no Deployment ${name} rendered`);
    return found.object;
  };

  test.each(["api-gateway", "user-service"])(
    "%s sends OTLP/HTTP to the Collector's HTTP port",
    async (name) => {
      const env = envOf(await workload(name));
      expect(env.OTEL_EXPORTER_OTLP_PROTOCOL).toBe("http/protobuf");
      const endpoint = await expectReachable(
        env.OTEL_EXPORTER_OTLP_ENDPOINT ?? "",
        `${name} OTEL_EXPORTER_OTLP_ENDPOINT`,
      );
      expect(endpoint).toMatchObject({ service: "otel-collector", port: 4318 });
      expect(env.OTEL_SERVICE_NAME).toBe(name);
      expect(env.OTEL_RESOURCE_ATTRIBUTES).toBe(
        "k8s.pod.name=$(POD_NAME),k8s.namespace.name=$(POD_NAMESPACE),k8s.node.name=$(NODE_NAME),deployment.environment.name=kind",
      );
      for (const name of ["POD_NAME", "POD_NAMESPACE", "NODE_NAME"])
        expect(env[name]).toBe("(valueFrom)");
      expect(env.PORT).toBe("8080");
    },
  );

  test("api-gateway reaches user-service through its Service", async () => {
    const env = envOf(await workload("api-gateway"));
    const endpoint = await expectReachable(env.USER_SERVICE_URL ?? "", "USER_SERVICE_URL");
    expect(endpoint).toMatchObject({ service: "user-service", namespace: "apps", port: 8080 });
    expect(Number(env.UPSTREAM_TIMEOUT_MS)).toBeGreaterThan(0);
  });

  test("user-service carries its fault knobs as values", async () => {
    const env = envOf(await workload("user-service"));
    expect(Number(env.QUERY_LATENCY_MS)).toBeGreaterThanOrEqual(0);
    expect(Number(env.ERROR_RATE)).toBeGreaterThanOrEqual(0);
    expect(Number(env.ERROR_RATE)).toBeLessThanOrEqual(1);
  });
});

describe("host ports", () => {
  type Mapping = { containerPort: number; hostPort: number };
  const mappings = loadYaml<{ nodes: { extraPortMappings?: Mapping[] }[] }>(
    "kind-config.yaml",
  ).nodes.flatMap((node) => node.extraPortMappings ?? []);

  test("kind maps exactly the contract's host ports", () => {
    expect(Object.fromEntries(mappings.map((m) => [m.hostPort, m.containerPort]))).toEqual(
      Object.fromEntries(Object.entries(hostPorts).map(([host, node]) => [host, node])),
    );
  });

  test("every mapped NodePort is declared by a Service", async () => {
    const declared = new Map<number, string>();
    for (const service of await knownServices())
      for (const port of service.nodePorts) declared.set(port, service.name);
    for (const external of externalNodePorts) {
      for (const requirement of external.requires ?? [])
        expectRequirement(requirement, external.what);
      declared.set(external.nodePort, external.what);
    }
    for (const { containerPort, hostPort } of mappings) {
      expect(
        declared.has(containerPort),
        `localhost:${hostPort} → ${containerPort}: no Service declares it`,
      ).toBe(true);
    }
    expect(declared.get(30000)).toBe("api-gateway");
  });

  test("no two Services claim the same NodePort", async () => {
    const claimed = (await knownServices()).flatMap((s) => s.nodePorts);
    expect(claimed.length).toBeGreaterThanOrEqual(4);
    expect(new Set(claimed).size).toBe(claimed.length);
  });
});
