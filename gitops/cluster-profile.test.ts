// The cluster profile (docs/cluster.md): the root rendered with profile: cluster and an
// imageRegistry, as bootstrap applies it, and every child checked for what the profile promises:
// schemas and pins, no NodePort, replicas with PodDisruptionBudgets and topology spread, Loki and
// Tempo on object storage, registry images, credentials only through existing Secrets. Upstream
// charts cannot be rendered offline: their effective values (value files, then
// helm.valuesObject, coalesced with the chart's recorded defaults by the Helm model in
// model/helm-values.ts) are checked against what each chart does with a key, read in its
// sources at the pinned version (`read` below), and the Collector's rendered config against its
// start-up validation (model/collector-validate.ts).
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { chartDefaults } from "../model/chart-defaults.ts";
import { collectorConfig } from "../model/collector.ts";
import { startupErrors } from "../model/collector-validate.ts";
import { chartValues, type Values } from "../model/helm-values.ts";
import { loadYaml, readText, repoRoot } from "../model/yaml.ts";
import { dig, isKubeObject, type KubeObject } from "./testing/load.ts";
import { validateObject } from "./testing/models.ts";
import {
  type Application,
  type AppSource,
  type Child,
  loadTree,
  resolveValueFile,
  sourcesOf,
} from "./testing/tree.ts";

const registry = "registry.example.test/team";
const cluster = { profile: "cluster", imageRegistry: registry };
/** A team's own S3 bucket instead of the bundled server. */
const ownStorage = {
  ...cluster,
  objectStorage: {
    bundled: false,
    endpoint: "s3.eu-west-1.amazonaws.com",
    region: "eu-west-1",
    insecure: false,
    forcePathStyle: false,
    secretName: "team-s3",
    buckets: { lokiChunks: "acme-loki-chunks", lokiRuler: "acme-loki-ruler", tempo: "acme-tempo" },
  },
};
const appValues = loadYaml<{ objectStorage: typeof ownStorage.objectStorage }>(
  "gitops/apps/values.yaml",
);

/** Upstream charts and their exact pins (Chart.yaml at that version, in each chart's repository). */
const pinnedCharts: Record<string, string> = {
  "https://prometheus-community.github.io/helm-charts#kube-prometheus-stack": "88.5.3",
  "https://grafana-community.github.io/helm-charts#loki": "18.11.0",
  "https://grafana-community.github.io/helm-charts#tempo": "2.2.4",
  "https://open-telemetry.github.io/opentelemetry-helm-charts#opentelemetry-collector": "0.170.0",
  // seaweedfs/seaweedfs k8s/charts/seaweedfs/Chart.yaml; listed in the gh-pages helm/index.yaml.
  "https://seaweedfs.github.io/seaweedfs/helm#seaweedfs": "4.44.0",
};

// ---- Helpers --------------------------------------------------------------------------------

function byName(children: Child[], name: string): Child {
  const child = children.find((c) => c.app.metadata.name === name);
  if (!child) throw new Error(`no child Application named ${name}`);
  return child;
}

function chartSource(app: Application): AppSource {
  const source = sourcesOf(app).find((s) => s.chart);
  if (!source) throw new Error(`${app.metadata.name} has no chart source`);
  return source;
}

/**
 * The values an upstream chart is rendered with: its value files in order, then valuesObject
 * (Argo CD passes it as the last values file), coalesced with the chart's recorded defaults the
 * way Argo CD's Helm 3.19.4 does it.
 */
function effectiveValues(app: Application): Values {
  const source = chartSource(app);
  const defaults = chartDefaults[source.chart as string];
  if (!defaults)
    throw new Error(`${source.chart}: no recorded defaults in model/chart-defaults.ts`);
  const layers = (source.helm?.valueFiles ?? []).map((file) =>
    loadYaml(resolveValueFile(file, source.path)),
  );
  if (source.helm?.valuesObject) layers.push(source.helm.valuesObject);
  return chartValues(defaults, layers, "3.19.4");
}

/** The value files an upstream chart is rendered with, repository-relative. */
function valueFilesOf(app: Application): string[] {
  const source = chartSource(app);
  return (source.helm?.valueFiles ?? []).map((file) => resolveValueFile(file, source.path));
}

function valuesOf(children: Child[], name: string): Values {
  return effectiveValues(byName(children, name).app);
}

function rendered(children: Child[]): KubeObject[] {
  return children.flatMap((c) => c.objects.map((o) => o.object));
}

/** All leaves of a values tree with their key paths. */
function leaves(value: unknown, path: string[] = []): { path: string[]; value: unknown }[] {
  if (typeof value !== "object" || value === null) return [{ path, value }];
  return Object.entries(value).flatMap(([key, child]) => leaves(child, [...path, key]));
}

/** Loki's ${NAME} reference to an environment variable (expanded with -config.expand-env). */
const envRef = (name: string) => `\${${name}}`;

type Spread = {
  topologyKey: string;
  whenUnsatisfiable: string;
  labelSelector: { matchLabels: Record<string, string> };
};

function expectSpread(spread: unknown, podLabels: Record<string, string>, what: string) {
  const constraints = spread as Spread[] | undefined;
  expect(constraints?.length ?? 0, `${what}: no topologySpreadConstraints`).toBeGreaterThan(0);
  for (const constraint of constraints ?? []) {
    expect(constraint.topologyKey, what).toBe("kubernetes.io/hostname");
    // Preferred, so a cluster with fewer nodes than replicas still schedules every pod.
    expect(constraint.whenUnsatisfiable, what).toBe("ScheduleAnyway");
    expect(constraint.labelSelector.matchLabels, `${what}: selector must match its pods`).toEqual(
      podLabels,
    );
  }
}

// ---- The tree -------------------------------------------------------------------------------

const laptop = await loadTree();
const tree = await loadTree(cluster);
const own = await loadTree(ownStorage);

describe("the cluster profile renders", () => {
  test("the laptop children plus the bundled object storage; nothing else changes name", () => {
    const names = (t: { children: Child[] }) => t.children.map((c) => c.app.metadata.name).sort();
    expect(names(tree)).toEqual([...names(laptop), "seaweedfs"].sort());
    expect(names(own)).toEqual(names(laptop));
  });

  test("every Application and every rendered object matches its schema", async () => {
    for (const { app, objects } of [...tree.children, ...own.children]) {
      await validateObject(app);
      for (const { object } of objects) await validateObject(object);
    }
  });

  test("every upstream chart is pinned to its verified exact version", () => {
    for (const { app } of tree.children) {
      for (const source of sourcesOf(app).filter((s) => s.chart)) {
        const key = `${source.repoURL}#${source.chart}`;
        expect(pinnedCharts[key], `${key} is not a verified chart`).toBe(
          source.targetRevision as string,
        );
      }
    }
  });

  test("each component takes its laptop values, then its cluster overlay; every overlay is used", () => {
    const used = new Set<string>();
    for (const { app } of tree.children) {
      for (const source of sourcesOf(app)) {
        const files = (source.helm?.valueFiles ?? []).map((f) => resolveValueFile(f, source.path));
        for (const file of files) {
          expect(existsSync(join(repoRoot, file)), `${app.metadata.name}: ${file}`).toBe(true);
          used.add(file);
        }
        // The overlay comes last so it wins; the laptop file is never edited for the cluster.
        const overlay = files.findIndex((f) => f.startsWith("gitops/profiles/cluster/"));
        if (overlay >= 0) expect(overlay, app.metadata.name).toBe(files.length - 1);
      }
    }
    const overlays = [...new Bun.Glob("gitops/profiles/cluster/*.yaml").scanSync(repoRoot)];
    expect(overlays.length).toBe(6);
    for (const file of overlays) expect(used.has(file), `${file} is used by no child`).toBe(true);
  });

  test("the laptop tree uses no cluster overlay and keeps its NodePort Services", () => {
    for (const { app } of laptop.children) {
      for (const source of sourcesOf(app)) {
        for (const file of source.helm?.valueFiles ?? [])
          expect(file).not.toContain("profiles/cluster");
        expect(source.helm?.valuesObject, app.metadata.name).toBeUndefined();
      }
    }
    expect(
      rendered(laptop.children).some(
        (o) => o.kind === "Service" && dig(o, ["spec", "type"]) === "NodePort",
      ),
    ).toBe(true);
  });
});

describe("no NodePort", () => {
  test("no project Service is a NodePort, and the Tempo NodePort source is gone", () => {
    const services = rendered(tree.children).filter((o) => o.kind === "Service");
    expect(services.map((s) => s.metadata.name).sort()).toEqual(["api-gateway", "user-service"]);
    for (const service of services) expect(dig(service, ["spec", "type"])).toBe("ClusterIP");
    expect(
      sourcesOf(byName(tree.children, "tempo").app).some(
        (s) => s.path === "gitops/manifests/tempo",
      ),
    ).toBe(false);
  });

  // Each chart key that sets a Service type (default ClusterIP unless set), read at the pin.
  const serviceTypes: { app: string; path: string[]; read: string }[] = [
    {
      app: "kube-prometheus-stack",
      path: ["prometheus", "service", "type"],
      read: "templates/prometheus/service.yaml",
    },
    {
      app: "kube-prometheus-stack",
      path: ["alertmanager", "service", "type"],
      read: "templates/alertmanager/service.yaml",
    },
    {
      app: "kube-prometheus-stack",
      path: ["grafana", "service", "type"],
      read: "grafana subchart templates/service.yaml",
    },
    {
      app: "kube-prometheus-stack",
      path: ["kube-state-metrics", "service", "type"],
      read: "kube-state-metrics templates/service.yaml",
    },
    {
      app: "kube-prometheus-stack",
      path: ["prometheus-node-exporter", "service", "type"],
      read: "prometheus-node-exporter templates/service.yaml",
    },
    { app: "loki", path: ["gateway", "service", "type"], read: "templates/gateway/service.yaml" },
    { app: "loki", path: ["write", "service", "type"], read: "templates/write/service-write.yaml" },
    { app: "loki", path: ["read", "service", "type"], read: "templates/read/service-read.yaml" },
    {
      app: "loki",
      path: ["backend", "service", "type"],
      read: "templates/backend/service-backend.yaml",
    },
    { app: "tempo", path: ["service", "type"], read: "templates/service.yaml" },
    { app: "otel-collector", path: ["service", "type"], read: "templates/service.yaml" },
    {
      app: "seaweedfs",
      path: ["allInOne", "service", "type"],
      read: "templates/all-in-one/all-in-one-service.yml",
    },
  ];
  test.each(serviceTypes)("$app $path.2: no NodePort", ({ app, path }) => {
    const type = dig(valuesOf(tree.children, app), path) ?? "ClusterIP";
    expect(type).toBe("ClusterIP");
  });

  test("no nodePort number is left in any cluster values", () => {
    for (const { app } of tree.children) {
      if (!sourcesOf(app).some((s) => s.chart)) continue;
      for (const { path, value } of leaves(effectiveValues(app))) {
        // A null stays for a key the chart's defaults lack (grafana's service.nodePort): no
        // number either way.
        if (/nodePort$/i.test(path.at(-1) ?? ""))
          expect(value ?? undefined, `${app.metadata.name}: ${path.join(".")}`).toBeUndefined();
      }
    }
  });
});

describe("replicas, PodDisruptionBudgets and topology spread", () => {
  test("Prometheus: two replicas on persistent volumes, a budget, spread over nodes", () => {
    const kps = valuesOf(tree.children, "kube-prometheus-stack");
    expect(dig(kps, ["prometheus", "prometheusSpec", "replicas"])).toBe(2);
    expect(
      dig(kps, [
        "prometheus",
        "prometheusSpec",
        "storageSpec",
        "volumeClaimTemplate",
        "spec",
        "resources",
        "requests",
        "storage",
      ]),
    ).toBeDefined();
    expect(dig(kps, ["prometheus", "podDisruptionBudget"])).toMatchObject({
      enabled: true,
      minAvailable: 1,
    });
    // Pod labels the operator v0.93.1 sets on a Prometheus's pods; CR name <release>-prometheus.
    expectSpread(
      dig(kps, ["prometheus", "prometheusSpec", "topologySpreadConstraints"]),
      {
        "app.kubernetes.io/name": "prometheus",
        "operator.prometheus.io/name": "kube-prometheus-stack-prometheus",
      },
      "prometheus",
    );
  });

  test("Alertmanager: a two-member cluster on persistent volumes, a budget, spread over nodes", () => {
    const kps = valuesOf(tree.children, "kube-prometheus-stack");
    // The operator starts replicas > 1 as one gossip cluster (--cluster.peer per replica).
    expect(dig(kps, ["alertmanager", "alertmanagerSpec", "replicas"])).toBe(2);
    expect(
      dig(kps, ["alertmanager", "alertmanagerSpec", "storage", "volumeClaimTemplate"]),
    ).toBeDefined();
    expect(dig(kps, ["alertmanager", "podDisruptionBudget"])).toMatchObject({
      enabled: true,
      minAvailable: 1,
    });
    expectSpread(
      dig(kps, ["alertmanager", "alertmanagerSpec", "topologySpreadConstraints"]),
      {
        "app.kubernetes.io/name": "alertmanager",
        alertmanager: "kube-prometheus-stack-alertmanager",
      },
      "alertmanager",
    );
  });

  test("the Collector: at least two replicas, autoscaled, a budget, spread over nodes", () => {
    const otel = valuesOf(tree.children, "otel-collector");
    expect(otel.mode).toBe("deployment");
    expect(otel.replicaCount as number).toBeGreaterThanOrEqual(2);
    const autoscaling = otel.autoscaling as Record<string, number | boolean>;
    expect(autoscaling.enabled).toBe(true);
    expect(autoscaling.minReplicas as number).toBeGreaterThanOrEqual(2);
    expect(autoscaling.maxReplicas as number).toBeGreaterThan(autoscaling.minReplicas as number);
    expect(otel.podDisruptionBudget).toEqual({ enabled: true, minAvailable: 1 });
    // Chart 0.170.0 _helpers.tpl selectorLabels: name = chart name, instance = release.
    expectSpread(
      otel.topologySpreadConstraints,
      {
        "app.kubernetes.io/name": "opentelemetry-collector",
        "app.kubernetes.io/instance": "otel-collector",
      },
      "otel-collector",
    );
  });

  test("Loki: simple-scalable write, read and backend, and the gateway, each replicated with a budget and spread", () => {
    const loki = valuesOf(tree.children, "loki");
    expect(loki.deploymentMode).toBe("SimpleScalable");
    expect(dig(loki, ["singleBinary", "replicas"])).toBe(0);
    // Three writers for the default replication factor of three.
    expect(dig(loki, ["write", "replicas"])).toBe(3);
    expect(dig(loki, ["loki", "commonConfig", "replication_factor"])).toBe(3);
    for (const target of ["write", "read", "backend", "gateway"]) {
      const component = loki[target] as Values;
      expect(component.replicas as number, target).toBeGreaterThanOrEqual(2);
      // templates/_pdb.tpl renders a budget only when enabled (the default) with a bound set:
      // <target>.maxUnavailable (default 1 for write/read/backend) or podDisruptionBudget.*.
      expect(dig(component, ["podDisruptionBudget", "enabled"]) ?? true, target).toBe(true);
      const bound =
        component.maxUnavailable ??
        dig(component, ["podDisruptionBudget", "minAvailable"]) ??
        dig(component, ["podDisruptionBudget", "maxUnavailable"]);
      const chartDefault = target === "gateway" ? undefined : 1;
      expect(bound ?? chartDefault, `${target}: no PodDisruptionBudget bound`).toBeDefined();
      // The chart's default hard anti-affinity is removed in favour of preferred spreading.
      expect(component.affinity, target).toBeUndefined();
      expectSpread(
        component.topologySpreadConstraints,
        {
          "app.kubernetes.io/name": "loki",
          "app.kubernetes.io/instance": "loki",
          "app.kubernetes.io/component": target,
        },
        `loki ${target}`,
      );
    }
  });

  test("the services: two replicas each, a budget selecting their pods, spread over nodes", () => {
    for (const name of ["api-gateway", "user-service"]) {
      const objects = byName(tree.children, name).objects.map((o) => o.object);
      const deployment = objects.find((o) => o.kind === "Deployment") as KubeObject;
      const pdb = objects.find((o) => o.kind === "PodDisruptionBudget") as KubeObject;
      expect(dig(deployment, ["spec", "replicas"]), name).toBe(2);
      const podLabels = dig(deployment, ["spec", "selector", "matchLabels"]) as Record<
        string,
        string
      >;
      expect(pdb, `${name}: no PodDisruptionBudget`).toBeDefined();
      expect(dig(pdb, ["spec", "selector", "matchLabels"])).toEqual(podLabels);
      expect(dig(pdb, ["spec", "maxUnavailable"])).toBe(1);
      expectSpread(
        dig(deployment, ["spec", "template", "spec", "topologySpreadConstraints"]),
        podLabels,
        name,
      );
    }
  });

  test("the laptop services stay single, without budget or spread", () => {
    for (const name of ["api-gateway", "user-service"]) {
      const objects = byName(laptop.children, name).objects.map((o) => o.object);
      expect(objects.map((o) => o.kind).sort()).toEqual(["Deployment", "Service"]);
      const deployment = objects.find((o) => o.kind === "Deployment") as KubeObject;
      expect(
        dig(deployment, ["spec", "template", "spec", "topologySpreadConstraints"]),
      ).toBeUndefined();
    }
  });

  test("single-replica workloads are the ones that cannot run more than one as configured", () => {
    // Tempo's chart is monolithic (one ingester ring member, its WAL on a ReadWriteOnce volume);
    // SeaweedFS all-in-one owns one volume; Grafana keeps SQLite. Documented in docs/cluster.md.
    expect(valuesOf(tree.children, "tempo").replicas ?? 1).toBe(1);
    expect(dig(valuesOf(tree.children, "seaweedfs"), ["allInOne", "replicas"])).toBe(1);
    expect(
      dig(valuesOf(tree.children, "kube-prometheus-stack"), ["grafana", "replicas"]) ?? 1,
    ).toBe(1);
  });
});

describe("every replica of Prometheus receives every sample", () => {
  const kps = valuesOf(tree.children, "kube-prometheus-stack");
  const replicas = dig(kps, ["prometheus", "prometheusSpec", "replicas"]) as number;
  // The operator names the StatefulSet prometheus-<CR name> with serviceName prometheus-operated.
  const podHosts = Array.from(
    { length: replicas },
    (_, i) =>
      `prometheus-kube-prometheus-stack-prometheus-${i}.prometheus-operated.monitoring.svc:9090`,
  );

  test("the Collector exports metrics to each replica's pod address", () => {
    const otel = valuesOf(tree.children, "otel-collector");
    const exporters = dig(otel, [
      "config",
      "service",
      "pipelines",
      "metrics",
      "exporters",
    ]) as string[];
    const endpoints = exporters.map((name) => dig(otel, ["config", "exporters", name, "endpoint"]));
    expect(endpoints.sort()).toEqual(podHosts.map((h) => `http://${h}/api/v1/otlp`).sort());
  });

  test("Tempo's metrics-generator remote-writes to each replica", () => {
    const tempo = valuesOf(tree.children, "tempo");
    const writes = dig(tempo, ["tempo", "metricsGenerator", "storage", "remote_write"]) as {
      url: string;
      send_exemplars: boolean;
    }[];
    expect(writes.map((w) => w.url).sort()).toEqual(
      podHosts.map((h) => `http://${h}/api/v1/write`).sort(),
    );
    for (const write of writes) expect(write.send_exemplars).toBe(true);
  });
});

describe("the Collector starts with the cluster profile's config", () => {
  const app = byName(tree.children, "otel-collector").app;
  // Rendered as the chart renders it: value files coalesced with the chart's defaults as Helm
  // does it (a null survives for a key the defaults lack), then the chart's presets.
  const config = collectorConfig(valueFilesOf(app));

  test("the rendered config passes the Collector's start-up validation", () => {
    expect(chartSource(app).helm?.valuesObject).toBeUndefined();
    expect(startupErrors(config)).toEqual([]);
  });

  test("every declared exporter is one a pipeline uses: no laptop exporter is left over", () => {
    const pipelines = Object.values(
      (config.service as { pipelines: Record<string, { exporters: string[] }> }).pipelines,
    );
    const used = new Set(pipelines.flatMap((p) => p.exporters));
    expect(Object.keys(config.exporters as Values).sort()).toEqual([...used].sort());
  });
});

describe("Prometheus's readers and node metrics", () => {
  const app = byName(tree.children, "kube-prometheus-stack").app;
  const kps = valuesOf(tree.children, "kube-prometheus-stack");

  test("Grafana reads Prometheus through the chart's Service, sticky to one replica", () => {
    const datasources = dig(kps, ["grafana", "additionalDataSources"]) as {
      type: string;
      url: string;
    }[];
    const prometheus = datasources.filter((d) => d.type === "prometheus");
    expect(prometheus.length).toBe(1);
    // kube-prometheus-stack 88.5.3 templates/prometheus/service.yaml: `<fullname>-prometheus` on
    // prometheus.service.port; _helpers.tpl fullname is the release name when it contains the
    // chart name and no fullnameOverride/nameOverride is set.
    expect(kps.fullnameOverride ?? "").toBe("");
    expect(kps.nameOverride ?? "").toBe("");
    const release = chartSource(app).helm?.releaseName ?? app.metadata.name;
    expect(release).toContain("kube-prometheus-stack");
    const port = dig(kps, ["prometheus", "service", "port"]);
    expect(prometheus[0]?.url).toBe(`http://${release}-prometheus.monitoring.svc:${port}`);
    // The same template sets sessionAffinity, and its sessionAffinityConfig when ClientIP.
    expect(dig(kps, ["prometheus", "service", "sessionAffinity"])).toBe("ClientIP");
    const timeout = dig(kps, [
      "prometheus",
      "service",
      "sessionAffinityConfig",
      "clientIP",
      "timeoutSeconds",
    ]) as number;
    // Kubernetes accepts 1 to 86400 seconds.
    expect(timeout).toBeGreaterThan(0);
    expect(timeout).toBeLessThanOrEqual(86400);
  });

  test("node-exporter reads each node's root filesystem", () => {
    // prometheus-node-exporter 4.56.1 templates/daemonset.yaml: --path.rootfs=/host/root and the
    // hostPath / mount only when hostRootFsMount.enabled.
    expect(dig(kps, ["prometheus-node-exporter", "hostRootFsMount", "enabled"])).toBe(true);
  });
});

describe("object storage", () => {
  // The bundled server: fullnameOverride seaweedfs + "-all-in-one" (templates/shared/_helpers.tpl
  // seaweedfs.componentName), S3 on s3.port 8333 (values.yaml).
  const bundledEndpoint = "seaweedfs-all-in-one.monitoring.svc:8333";

  test.each([
    [
      "bundled SeaweedFS",
      tree,
      { ...appValues.objectStorage, endpoint: bundledEndpoint, insecure: true },
    ],
    ["a team's own bucket", own, ownStorage.objectStorage],
  ] as const)("Loki keeps chunks and rules in the buckets (%s)", (_, t, storage) => {
    const loki = valuesOf(t.children, "loki");
    expect(dig(loki, ["loki", "storage", "type"])).toBe("s3");
    expect(dig(loki, ["loki", "storage", "bucketNames"])).toEqual({
      chunks: storage.buckets.lokiChunks,
      ruler: storage.buckets.lokiRuler,
    });
    expect(dig(loki, ["loki", "storage", "s3"])).toMatchObject({
      endpoint: storage.endpoint,
      region: storage.region,
      insecure: storage.insecure,
      s3ForcePathStyle: storage.forcePathStyle,
    });
    const schemas = dig(loki, ["loki", "schemaConfig", "configs"]) as { object_store: string }[];
    for (const schema of schemas) expect(schema.object_store).toBe("s3");
    expect(dig(loki, ["loki", "compactor", "delete_request_store"])).toBe("s3");
  });

  test.each([
    [
      "bundled SeaweedFS",
      tree,
      { ...appValues.objectStorage, endpoint: bundledEndpoint, insecure: true },
    ],
    ["a team's own bucket", own, ownStorage.objectStorage],
  ] as const)("Tempo keeps traces in the bucket (%s)", (_, t, storage) => {
    const trace = dig(valuesOf(t.children, "tempo"), ["tempo", "storage", "trace"]) as Values;
    expect(trace.backend).toBe("s3");
    expect(trace.s3).toEqual({
      bucket: storage.buckets.tempo,
      endpoint: storage.endpoint,
      region: storage.region,
      insecure: storage.insecure,
      forcepathstyle: storage.forcePathStyle,
    });
  });

  test("the bundled server creates exactly the buckets Loki and Tempo use", () => {
    const buckets = dig(valuesOf(tree.children, "seaweedfs"), [
      "allInOne",
      "s3",
      "createBuckets",
    ]) as {
      name: string;
      anonymousRead: boolean;
    }[];
    const { lokiChunks, lokiRuler, tempo } = appValues.objectStorage.buckets;
    expect(buckets).toEqual(
      [lokiChunks, lokiRuler, tempo].map((name) => ({ name, anonymousRead: false })),
    );
  });

  test("the bundled server runs with S3 auth from the existing Secret, on a persistent volume", () => {
    const seaweedfs = valuesOf(tree.children, "seaweedfs");
    expect(seaweedfs.fullnameOverride).toBe("seaweedfs");
    for (const component of ["master", "volume", "filer"])
      expect(dig(seaweedfs, [component, "enabled"]), component).toBe(false);
    expect(dig(seaweedfs, ["allInOne", "enabled"])).toBe(true);
    expect(dig(seaweedfs, ["allInOne", "s3"])).toMatchObject({
      enabled: true,
      enableAuth: true,
      existingConfigSecret: appValues.objectStorage.secretName,
    });
    expect(dig(seaweedfs, ["allInOne", "data", "type"])).toBe("persistentVolumeClaim");
    expect(dig(seaweedfs, ["image", "tag"])).toBe("4.44");
    // Loki and Tempo sync after the storage they write to.
    const wave = (name: string) =>
      Number(
        byName(tree.children, name).app.metadata.annotations?.["argocd.argoproj.io/sync-wave"],
      );
    expect(wave("seaweedfs")).toBeLessThan(wave("loki"));
    expect(wave("seaweedfs")).toBeLessThan(wave("tempo"));
  });
});

describe("credentials only through existing Secrets", () => {
  const secretish = /(password|passwd|secret|token|api[-_]?key|access[-_]?key|credential)/i;

  test("no secret value in any cluster values, only environment references", () => {
    for (const t of [tree, own]) {
      for (const { app } of t.children) {
        if (!sourcesOf(app).some((s) => s.chart)) continue;
        for (const { path, value } of leaves(effectiveValues(app))) {
          const key = path.at(-1) ?? "";
          // Keys that name a Secret or a key inside one, not a secret value.
          if (
            !secretish.test(key) ||
            /(existingSecret|secretName|ConfigSecret|passwordKey|userKey)$/.test(key)
          )
            continue;
          const where = `${app.metadata.name}: ${path.join(".")}`;
          // Loki expands ${VAR} from its environment (-config.expand-env=true).
          expect(value, where).toMatch(/^\$\{[A-Z_]+\}$/);
        }
      }
    }
  });

  test("Loki and Tempo read the keys from the named Secret", () => {
    for (const [t, secretName] of [
      [tree, appValues.objectStorage.secretName],
      [own, ownStorage.objectStorage.secretName],
    ] as const) {
      const loki = valuesOf(t.children, "loki");
      expect(dig(loki, ["defaults", "extraEnvFrom"])).toEqual([
        { secretRef: { name: secretName } },
      ]);
      // loki 18.11.0 templates/_pod.tpl passes -config.expand-env=true to every target.
      expect(dig(loki, ["loki", "storage", "s3"])).toMatchObject({
        accessKeyId: envRef("AWS_ACCESS_KEY_ID"),
        secretAccessKey: envRef("AWS_SECRET_ACCESS_KEY"),
      });
      // Tempo's S3 client reads AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY from its environment.
      const tempo = valuesOf(t.children, "tempo");
      expect(dig(tempo, ["tempo", "extraEnvFrom"])).toEqual([{ secretRef: { name: secretName } }]);
      expect(dig(tempo, ["tempo", "storage", "trace", "s3", "access_key"])).toBeUndefined();
    }
  });

  test("no Secret object is rendered or committed for the cluster profile", () => {
    for (const object of rendered(tree.children)) expect(object.kind).not.toBe("Secret");
    for (const file of new Bun.Glob("gitops/profiles/cluster/*.yaml").scanSync(repoRoot))
      expect(isKubeObject(loadYaml(file)), file).toBe(false);
  });
});

describe("service images come from imageRegistry", () => {
  test("each service runs <imageRegistry>/<service>:<the tag in its values file>", () => {
    for (const name of ["api-gateway", "user-service"]) {
      const tag = dig(loadYaml(`gitops/services/${name}.yaml`), ["image", "tag"]);
      const deployment = byName(tree.children, name).objects.find(
        (o) => o.object.kind === "Deployment",
      );
      const containers = dig(deployment?.object, ["spec", "template", "spec", "containers"]) as {
        image: string;
      }[];
      expect(containers.map((c) => c.image)).toEqual([`${registry}/${name}:${tag}`]);
    }
  });

  test("git names no registry: the prefix comes only from the root's values", () => {
    const committed = [...new Bun.Glob("gitops/**/*.yaml").scanSync(repoRoot)].map(readText);
    for (const text of committed) expect(text).not.toContain(registry);
  });
});

describe("bad profile values fail the render, with the fix in the message", () => {
  test.each([
    [{ profile: "cluster" }, "imageRegistry is required with profile cluster"],
    [{ profile: "staging" }, 'profile must be laptop or cluster, not "staging"'],
    [
      { ...cluster, objectStorage: { bundled: false, endpoint: "" } },
      "objectStorage.endpoint is required when objectStorage.bundled is false",
    ],
  ])("%j", async (values, message) => {
    await expect(loadTree(values)).rejects.toThrow(message);
  });
});

describe("what the cluster profile requests (docs/cluster.md)", () => {
  /**
   * Every long-running container of the cluster profile, how many run, and where its resources
   * are set (effective values of the upstream charts, rendered objects of the local ones). The
   * containers are the laptop's (gitops/policy.test.ts) with the cluster's replica counts, plus
   * Loki's simple-scalable targets and SeaweedFS. Per-node DaemonSets and Argo CD are listed
   * apart in the doc.
   */
  const workloads: { name: string; app: string; path: string[]; count: number }[] = [
    {
      name: "prometheus",
      app: "kube-prometheus-stack",
      path: ["prometheus", "prometheusSpec", "resources"],
      count: 2,
    },
    {
      name: "config-reloader",
      app: "kube-prometheus-stack",
      path: ["prometheusOperator", "prometheusConfigReloader", "resources"],
      count: 4,
    },
    {
      name: "alertmanager",
      app: "kube-prometheus-stack",
      path: ["alertmanager", "alertmanagerSpec", "resources"],
      count: 2,
    },
    {
      name: "prometheus-operator",
      app: "kube-prometheus-stack",
      path: ["prometheusOperator", "resources"],
      count: 1,
    },
    { name: "grafana", app: "kube-prometheus-stack", path: ["grafana", "resources"], count: 1 },
    {
      name: "grafana sidecars",
      app: "kube-prometheus-stack",
      path: ["grafana", "sidecar", "resources"],
      count: 2,
    },
    {
      name: "kube-state-metrics",
      app: "kube-prometheus-stack",
      path: ["kube-state-metrics", "resources"],
      count: 1,
    },
    { name: "loki write", app: "loki", path: ["write", "resources"], count: 3 },
    { name: "loki read", app: "loki", path: ["read", "resources"], count: 2 },
    { name: "loki backend", app: "loki", path: ["backend", "resources"], count: 2 },
    { name: "loki gateway", app: "loki", path: ["gateway", "resources"], count: 2 },
    { name: "tempo", app: "tempo", path: ["tempo", "resources"], count: 1 },
    {
      name: "otel-collector (autoscaler minimum)",
      app: "otel-collector",
      path: ["resources"],
      count: 2,
    },
    { name: "seaweedfs", app: "seaweedfs", path: ["allInOne", "resources"], count: 1 },
  ];
  const units: Record<string, number> = { "": 1, m: 1e-3, Mi: 1024 ** 2, Gi: 1024 ** 3 };
  const quantity = (value: unknown) => {
    const match = String(value).match(/^(\d+(?:\.\d+)?)(m|Mi|Gi)?$/);
    if (!match) throw new Error(`not a resource quantity: ${String(value)}`);
    return Number(match[1]) * (units[match[2] ?? ""] as number);
  };

  test("every workload's replica count is the one the profile sets", () => {
    const kps = valuesOf(tree.children, "kube-prometheus-stack");
    const loki = valuesOf(tree.children, "loki");
    const count = (name: string) => workloads.find((w) => w.name === name)?.count;
    expect(count("prometheus")).toBe(
      dig(kps, ["prometheus", "prometheusSpec", "replicas"]) as number,
    );
    expect(count("alertmanager")).toBe(
      dig(kps, ["alertmanager", "alertmanagerSpec", "replicas"]) as number,
    );
    for (const target of ["write", "read", "backend", "gateway"])
      expect(count(`loki ${target}`)).toBe(dig(loki, [target, "replicas"]) as number);
    expect(count("otel-collector (autoscaler minimum)")).toBe(
      dig(valuesOf(tree.children, "otel-collector"), ["autoscaling", "minReplicas"]) as number,
    );
  });

  test("the totals in docs/cluster.md are the sum of the rendered requests", () => {
    let cpu = 0;
    let memory = 0;
    for (const { name, app, path, count } of workloads) {
      const requests = dig(valuesOf(tree.children, app), [...path, "requests"]) as Values;
      expect(requests?.cpu, `${name}: no CPU request`).toBeDefined();
      expect(requests?.memory, `${name}: no memory request`).toBeDefined();
      cpu += count * quantity(requests.cpu);
      memory += count * quantity(requests.memory);
    }
    for (const name of ["api-gateway", "user-service"]) {
      for (const { object } of byName(tree.children, name).objects) {
        if (object.kind !== "Deployment") continue;
        const replicas = dig(object, ["spec", "replicas"]) as number;
        for (const container of dig(object, [
          "spec",
          "template",
          "spec",
          "containers",
        ]) as Values[]) {
          cpu += replicas * quantity(dig(container, ["resources", "requests", "cpu"]));
          memory += replicas * quantity(dig(container, ["resources", "requests", "memory"]));
        }
      }
    }
    const total = `${Math.round(cpu * 1000)}m CPU and ${Math.round(memory / 1024 ** 2)} MiB of memory`;
    expect(readText("docs/cluster.md")).toContain(total);
  });
});
