// Policy over the whole GitOps tree: exact pins, every child reachable from the root, the sync
// policy, no secret values in git, hardened and resourced project containers, and the memory
// budget (all memory requests of the stack ≤ 3 GiB).
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { PROJECTS } from "../bootstrap/lib/names.ts";
import { loadYaml, repoRoot } from "../model/yaml.ts";
import {
  dig,
  gitopsDir,
  isKubeObject,
  type KubeObject,
  loadDocs,
  yamlFilesUnder,
} from "./testing/load.ts";
import {
  type Application,
  type AppSource,
  type Child,
  loadTree,
  resolveValueFile,
  rootFile,
  sourcesOf,
  syncWave,
} from "./testing/tree.ts";

// ---- Facts ----------------------------------------------------------------------------------

/** Upstream charts and their exact pins (each read in its repository: Chart.yaml at that version). */
const pinnedCharts: Record<string, string> = {
  "https://prometheus-community.github.io/helm-charts#kube-prometheus-stack": "88.5.3",
  "https://grafana-community.github.io/helm-charts#loki": "18.11.0",
  "https://grafana-community.github.io/helm-charts#tempo": "2.2.4",
  "https://open-telemetry.github.io/opentelemetry-helm-charts#opentelemetry-collector": "0.170.0",
};

/** The placeholder the committed root carries; bootstrap substitutes the user's remote. */
const placeholderRepo = "https://github.com/your-user/observability-sandbox.git";

/** Sync order: each child syncs after the ones listed (why: it uses what they create). */
const syncsAfter: Record<string, string[]> = {
  loki: ["kube-prometheus-stack"], // its ServiceMonitors need the operator's CRDs
  tempo: ["kube-prometheus-stack"], // remote-writes to Prometheus
  "otel-collector": ["kube-prometheus-stack", "loki", "tempo"], // exports to all three
  "user-service": ["otel-collector"], // sends OTLP to the Collector
  "api-gateway": ["user-service", "otel-collector"], // calls user-service
};

const KPS = "gitops/values/kube-prometheus-stack.yaml";
const LOKI = "gitops/values/loki.yaml";
const TEMPO = "gitops/values/tempo.yaml";
const OTEL = "gitops/values/otel-collector.yaml";
const ARGOCD = "bootstrap/argocd-values.yaml";

/**
 * Every long-running container the upstream charts start with our values, and the values key
 * that sets its resources. Read in each chart's templates at the pinned version (and checked by
 * rendering those charts with these values files once, outside the test suite: no other
 * container is rendered). `count` multiplies for containers injected more than once.
 */
const upstreamContainers: {
  name: string;
  values: string;
  path: string[];
  count?: number;
  read: string;
}[] = [
  {
    name: "prometheus",
    values: KPS,
    path: ["prometheus", "prometheusSpec", "resources"],
    read: "kube-prometheus-stack 88.5.3 templates/prometheus/prometheus.yaml spec.resources",
  },
  {
    name: "config-reloader (Prometheus and Alertmanager pods)",
    values: KPS,
    path: ["prometheusOperator", "prometheusConfigReloader", "resources"],
    count: 2,
    read: "templates/prometheus-operator/deployment.yaml --config-reloader-{cpu,memory}-{request,limit}",
  },
  {
    name: "alertmanager",
    values: KPS,
    path: ["alertmanager", "alertmanagerSpec", "resources"],
    read: "templates/alertmanager/alertmanager.yaml spec.resources",
  },
  {
    name: "prometheus-operator",
    values: KPS,
    path: ["prometheusOperator", "resources"],
    read: "templates/prometheus-operator/deployment.yaml",
  },
  {
    name: "grafana",
    values: KPS,
    path: ["grafana", "resources"],
    read: "grafana 12.11.1 templates/_pod.tpl .Values.resources",
  },
  {
    name: "grafana sidecars (dashboards, datasources)",
    values: KPS,
    path: ["grafana", "sidecar", "resources"],
    count: 2,
    read: "grafana 12.11.1 templates/_pod.tpl .Values.sidecar.resources",
  },
  {
    name: "kube-state-metrics",
    values: KPS,
    path: ["kube-state-metrics", "resources"],
    read: "kube-state-metrics 8.4.0 templates/deployment.yaml .Values.resources",
  },
  {
    name: "node-exporter (one kind node)",
    values: KPS,
    path: ["prometheus-node-exporter", "resources"],
    read: "prometheus-node-exporter 4.56.1 templates/daemonset.yaml .Values.resources",
  },
  {
    name: "loki",
    values: LOKI,
    path: ["singleBinary", "resources"],
    read: "loki 18.11.0 templates/_pod.tpl $component.resources (monolithic/workload.yaml)",
  },
  {
    name: "loki-gateway (nginx)",
    values: LOKI,
    path: ["gateway", "resources"],
    read: "loki 18.11.0 templates/gateway/deployment.yaml .Values.gateway.resources",
  },
  {
    name: "tempo",
    values: TEMPO,
    path: ["tempo", "resources"],
    read: "tempo 2.2.4 templates/statefulset.yaml .Values.tempo.resources",
  },
  {
    name: "otel-collector",
    values: OTEL,
    path: ["resources"],
    read: "opentelemetry-collector 0.170.0 templates/_pod.tpl .Values.resources",
  },
  // Argo CD is part of the running stack too (installed by bootstrap, argo-cd 10.1.1).
  {
    name: "argocd-application-controller",
    values: ARGOCD,
    path: ["controller", "resources"],
    read: "argo-cd 10.1.1 templates/argocd-application-controller/statefulset.yaml",
  },
  {
    name: "argocd-server",
    values: ARGOCD,
    path: ["server", "resources"],
    read: "argo-cd 10.1.1 templates/argocd-server/deployment.yaml",
  },
  {
    name: "argocd-repo-server",
    values: ARGOCD,
    path: ["repoServer", "resources"],
    read: "argo-cd 10.1.1 templates/argocd-repo-server/deployment.yaml",
  },
  {
    name: "argocd-redis",
    values: ARGOCD,
    path: ["redis", "resources"],
    read: "argo-cd 10.1.1 templates/redis/deployment.yaml",
  },
  {
    name: "argocd-applicationset-controller",
    values: ARGOCD,
    path: ["applicationSet", "resources"],
    read: "argo-cd 10.1.1 templates/argocd-applicationset/deployment.yaml",
  },
  {
    name: "argocd-redis-secret-init",
    values: ARGOCD,
    path: ["redisSecretInit", "resources"],
    read: "argo-cd 10.1.1 templates/redis-secret-init/job.yaml",
  },
];

/** Chart defaults that would start extra (unresourced or heavy) workloads, and must stay off. */
const switchedOff: { values: string; path: string[]; expected: unknown; why: string }[] = [
  {
    values: LOKI,
    path: ["gateway", "metrics", "enabled"],
    expected: false,
    why: "access-log exporter sidecar (templates/gateway/deployment.yaml)",
  },
  {
    values: LOKI,
    path: ["sidecar", "rules", "enabled"],
    expected: false,
    why: "rules sidecar (templates/_pod.tpl)",
  },
  {
    values: LOKI,
    path: ["chunksCache", "enabled"],
    expected: false,
    why: "memcached requesting ~8 GiB",
  },
  { values: LOKI, path: ["resultsCache", "enabled"], expected: false, why: "memcached" },
  { values: LOKI, path: ["lokiCanary", "enabled"], expected: false, why: "canary DaemonSet" },
  { values: LOKI, path: ["test", "enabled"], expected: false, why: "Helm test pod" },
  { values: LOKI, path: ["read", "replicas"], expected: 0, why: "simple-scalable target" },
  { values: LOKI, path: ["write", "replicas"], expected: 0, why: "simple-scalable target" },
  { values: LOKI, path: ["backend", "replicas"], expected: 0, why: "simple-scalable target" },
  {
    values: LOKI,
    path: ["singleBinary", "replicas"],
    expected: 1,
    why: "the one Loki pod counted above",
  },
  {
    values: KPS,
    path: ["prometheusOperator", "admissionWebhooks", "enabled"],
    expected: false,
    why: "certificate Jobs and webhook",
  },
  {
    values: KPS,
    path: ["grafana", "testFramework", "enabled"],
    expected: false,
    why: "Helm test pod",
  },
  { values: ARGOCD, path: ["dex", "enabled"], expected: false, why: "Dex server" },
  {
    values: ARGOCD,
    path: ["notifications", "enabled"],
    expected: false,
    why: "notifications controller",
  },
];

const memoryBudgetBytes = 3 * 1024 ** 3;

// ---- Helpers --------------------------------------------------------------------------------

const quantityUnits: Record<string, number> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
  m: 1e-3,
};

/** A Kubernetes resource quantity ("512Mi", "1", "250m") as a number (bytes or cores). */
function quantity(value: unknown): number {
  const match = String(value).match(/^(\d+(?:\.\d+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/);
  if (!match) throw new Error(`not a resource quantity: ${String(value)}`);
  return Number(match[1]) * (quantityUnits[match[2] ?? ""] ?? Number.NaN);
}

type Resources = { requests?: Record<string, unknown>; limits?: Record<string, unknown> };

function expectFullResources(resources: Resources | undefined, what: string) {
  for (const kind of ["requests", "limits"] as const) {
    for (const resource of ["cpu", "memory"]) {
      const value = resources?.[kind]?.[resource];
      expect(value, `${what}: resources.${kind}.${resource} missing`).toBeDefined();
      expect(quantity(value), `${what}: resources.${kind}.${resource}`).toBeGreaterThan(0);
    }
  }
  expect(
    quantity(resources?.limits?.memory),
    `${what}: memory limit below request`,
  ).toBeGreaterThanOrEqual(quantity(resources?.requests?.memory));
}

const podKinds = new Set([
  "Deployment",
  "StatefulSet",
  "DaemonSet",
  "Job",
  "CronJob",
  "ReplicaSet",
  "Pod",
]);

type Container = {
  name: string;
  image: string;
  imagePullPolicy?: string;
  resources?: Resources;
  securityContext?: Record<string, unknown>;
  livenessProbe?: { httpGet?: { path?: string } };
  readinessProbe?: { httpGet?: { path?: string } };
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  ports?: { containerPort: number }[];
};
type PodSpec = {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: Record<string, unknown>;
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds?: number;
};

function podSpecOf(object: KubeObject): PodSpec {
  if (object.kind === "Pod") return object.spec as PodSpec;
  if (object.kind === "CronJob")
    return dig(object, ["spec", "jobTemplate", "spec", "template", "spec"]) as PodSpec;
  return dig(object, ["spec", "template", "spec"]) as PodSpec;
}

function byName(children: Child[], name: string): Child {
  const child = children.find((c) => c.app.metadata.name === name);
  if (!child) throw new Error(`no child Application named ${name}`);
  return child;
}

/** All string leaves of a values tree with their key paths. */
function leaves(value: unknown, path: string[] = []): { path: string[]; value: unknown }[] {
  if (typeof value !== "object" || value === null) return [{ path, value }];
  return Object.entries(value).flatMap(([key, child]) => leaves(child, [...path, key]));
}

const valuesFiles = [
  ...yamlFilesUnder(join(gitopsDir, "values")),
  ...yamlFilesUnder(join(gitopsDir, "services")),
];

// ---- Tests ----------------------------------------------------------------------------------

describe("exact pins", () => {
  test("every upstream chart source is pinned to its verified exact version", async () => {
    const { children } = await loadTree();
    const charts = children.flatMap(({ app }) => sourcesOf(app).filter((s) => s.chart));
    expect(charts.length).toBeGreaterThan(0);
    for (const source of charts) {
      const key = `${source.repoURL}#${source.chart}`;
      expect(source.targetRevision ?? "", `${key} is not an exact version`).toMatch(
        /^\d+\.\d+\.\d+$/,
      );
      expect(pinnedCharts[key], `${key} is not a verified chart: add its pin to this table`).toBe(
        source.targetRevision as string,
      );
    }
    // Loki and Tempo moved to grafana-community in 2026; the old repository is frozen.
    expect(charts.some((s) => s.repoURL.includes("grafana.github.io"))).toBe(false);
  });

  test("image tags in values files are exact (no latest, no ranges)", () => {
    const tags = valuesFiles.flatMap((file) =>
      leaves(loadYaml(file))
        .filter(({ path }) => path.at(-1) === "tag")
        .map(({ path, value }) => ({ where: `${file}: ${path.join(".")}`, value })),
    );
    expect(tags.length).toBeGreaterThan(0);
    for (const { where, value } of tags) {
      expect(typeof value, where).toBe("string");
      expect(value as string, where).toMatch(/^[0-9A-Za-z][0-9A-Za-z._-]*$/);
      expect(value, where).not.toBe("latest");
    }
    expect(dig(loadYaml(OTEL), ["image", "tag"])).toBe("0.158.0");
    expect(dig(loadYaml(OTEL), ["image", "repository"])).toBe(
      "otel/opentelemetry-collector-contrib",
    );
    expect(dig(loadYaml(TEMPO), ["tempo", "tag"])).toBe("2.10.8");
  });

  test("local charts have exact versions", () => {
    for (const chart of ["gitops/apps/Chart.yaml", "gitops/charts/service/Chart.yaml"]) {
      expect(loadYaml<{ version: string }>(chart).version).toMatch(/^\d+\.\d+\.\d+$/);
    }
  });

  test("the kind node image is pinned by tag and sha256 digest", () => {
    const config = loadYaml<{ nodes: { image: string }[] }>("kind-config.yaml");
    for (const node of config.nodes) {
      expect(node.image).toMatch(/^kindest\/node:v\d+\.\d+\.\d+@sha256:[0-9a-f]{64}$/);
    }
  });
});

describe("the root reaches every child", () => {
  test("the root Application renders gitops/apps with its own repository and revision", () => {
    const root = loadYaml<Application>(rootFile);
    expect(root.metadata).toMatchObject({ name: "root", namespace: "argocd" });
    expect(root.spec.project, "bootstrap applies it (gitops/security.test.ts)").toBe(PROJECTS.root);
    const source = root.spec.source as AppSource;
    expect(source.path).toBe("gitops/apps");
    expect(source.repoURL).toBe(placeholderRepo);
    expect(source.helm?.valuesObject).toEqual({
      repoURL: source.repoURL,
      revision: source.targetRevision,
    });
    expect(root.spec.syncPolicy?.automated).toEqual({ prune: true, selfHeal: true });
  });

  test("every template in gitops/apps/templates yields a uniquely named Application", async () => {
    const { children } = await loadTree();
    // Some templates render only in the cluster profile (gitops/cluster-profile.test.ts).
    const cluster = await loadTree({ profile: "cluster", imageRegistry: "registry.test/team" });
    const templates = readdirSync(join(gitopsDir, "apps", "templates")).filter((f) =>
      /\.ya?ml$/.test(f),
    );
    for (const template of templates) {
      expect(
        [...children, ...cluster.children].some((c) => c.template === `apps/templates/${template}`),
        `${template} renders nothing`,
      ).toBe(true);
    }
    const names = children.map((c) => c.app.metadata.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of [
      "kube-prometheus-stack",
      "loki",
      "tempo",
      "otel-collector",
      "api-gateway",
      "user-service",
    ]) {
      expect(names).toContain(name);
    }
  });

  test("project-local sources follow the root's repository and revision", async () => {
    const { root, children } = await loadTree();
    const { repoURL, revision } = (root.spec.source?.helm?.valuesObject ?? {}) as {
      repoURL?: string;
      revision?: string;
    };
    if (!repoURL || !revision) {
      throw new Error(`${rootFile}: helm.valuesObject needs repoURL and revision`);
    }
    for (const { app } of children) {
      for (const source of sourcesOf(app).filter((s) => !s.chart)) {
        expect(source.repoURL, app.metadata.name).toBe(repoURL);
        expect(source.targetRevision, app.metadata.name).toBe(revision);
      }
    }
  });

  test("every $values file exists and every values file is used by a child", async () => {
    const { children } = await loadTree();
    const used = new Set<string>();
    for (const { app } of children) {
      const sources = sourcesOf(app);
      for (const source of sources) {
        for (const file of source.helm?.valueFiles ?? []) {
          if (file.startsWith("$values/")) {
            expect(
              sources.some((s) => s.ref === "values"),
              `${app.metadata.name} uses $values without a ref`,
            ).toBe(true);
          }
          const resolved = resolveValueFile(file, source.path);
          expect(
            existsSync(join(repoRoot, resolved)),
            `${app.metadata.name}: ${resolved} missing`,
          ).toBe(true);
          used.add(resolved);
        }
      }
    }
    for (const file of valuesFiles)
      expect(used.has(file), `${file} is used by no Application`).toBe(true);
  });

  test("every folder of manifests under gitops/ is synced by some child", async () => {
    const { children } = await loadTree();
    const manifestDirs = new Set(
      yamlFilesUnder(gitopsDir)
        .filter(
          (file) => file !== rootFile && loadDocs(file).some((doc) => isKubeObject(doc.value)),
        )
        .map((file) => dirname(file)),
    );
    expect(manifestDirs.size).toBeGreaterThan(0);
    const synced = children.flatMap(({ app }) => sourcesOf(app).filter((s) => s.path && !s.chart));
    for (const dir of manifestDirs) {
      const covered = synced.some(
        (s) => s.path === dir || (s.directory?.recurse === true && dir.startsWith(`${s.path}/`)),
      );
      expect(covered, `${dir}/ holds manifests but no Application syncs it`).toBe(true);
    }
  });
});

describe("sync policy", () => {
  test("every child: automated prune + selfHeal, CreateNamespace, retry with backoff, in-cluster", async () => {
    const { children } = await loadTree();
    for (const { app } of children) {
      const name = app.metadata.name;
      const policy = app.spec.syncPolicy;
      expect(app.metadata.namespace, name).toBe("argocd");
      expect(app.spec.project, `${name}: the stack's AppProject (gitops/security.test.ts)`).toBe(
        "observability",
      );
      expect(app.spec.destination.server, name).toBe("https://kubernetes.default.svc");
      expect(app.spec.destination.namespace, `${name}: destination namespace`).toMatch(
        /^[a-z0-9-]+$/,
      );
      expect(policy?.automated, name).toEqual({ prune: true, selfHeal: true });
      expect(policy?.syncOptions ?? [], name).toContain("CreateNamespace=true");
      expect(policy?.retry?.limit ?? 0, `${name}: retry.limit`).toBeGreaterThan(0);
      const backoff = policy?.retry?.backoff;
      expect(backoff?.duration, `${name}: backoff.duration`).toMatch(/^\d+[sm]$/);
      expect(backoff?.factor ?? 0, `${name}: backoff.factor`).toBeGreaterThanOrEqual(2);
      expect(backoff?.maxDuration, `${name}: backoff.maxDuration`).toMatch(/^\d+[sm]$/);
      expect(
        app.metadata.finalizers ?? [],
        `${name}: deleting it must delete what it deployed`,
      ).toContain("resources-finalizer.argocd.argoproj.io");
      syncWave(app); // throws unless an integer
    }
  });

  test("kube-prometheus-stack syncs server-side (its CRDs are too large for client-side apply)", async () => {
    const { children } = await loadTree();
    expect(byName(children, "kube-prometheus-stack").app.spec.syncPolicy?.syncOptions).toContain(
      "ServerSideApply=true",
    );
  });

  test("waves gate on health: bootstrap's Argo CD values restore the Application health check", () => {
    // Since Argo CD 1.8 an Application has no health of its own, so the root would move past a
    // wave before its children are Healthy; the check lives in the values bootstrap installs.
    const lua = dig(loadYaml(ARGOCD), [
      "configs",
      "cm",
      "resource.customizations.health.argoproj.io_Application",
    ]);
    expect(typeof lua).toBe("string");
    expect(lua as string).toContain("obj.status.health");
  });

  test("sync waves put CRDs and backends before their consumers", async () => {
    const { children } = await loadTree();
    for (const [name, before] of Object.entries(syncsAfter)) {
      for (const other of before) {
        expect(
          syncWave(byName(children, name).app),
          `${name} must sync after ${other}`,
        ).toBeGreaterThan(syncWave(byName(children, other).app));
      }
    }
    // Generic rule for any child (alerts, dashboards, ...): Prometheus Operator objects need the CRDs.
    const crdWave = syncWave(byName(children, "kube-prometheus-stack").app);
    for (const { app, objects } of children) {
      if (objects.some(({ object }) => object.apiVersion.startsWith("monitoring.coreos.com/"))) {
        expect(
          syncWave(app),
          `${app.metadata.name} deploys Prometheus Operator objects`,
        ).toBeGreaterThan(crdWave);
      }
    }
  });
});

describe("no secret values in git", () => {
  const secretish = /(password|passwd|secret|token|api[-_]?key|credential)/i;
  // Keys that name a Secret or a key inside one, not a secret value.
  const references = new Set([
    "existingSecret",
    "passwordKey",
    "userKey",
    "secretName",
    "existingSecretName",
  ]);

  test("no Secret objects are committed or rendered", async () => {
    const { children } = await loadTree();
    const committed = yamlFilesUnder(gitopsDir).flatMap((file) =>
      loadDocs(file).map((doc) => doc.value),
    );
    const rendered = children.flatMap((c) => c.objects.map((o) => o.object));
    for (const object of [...committed, ...rendered]) {
      if (isKubeObject(object)) expect(object.kind, object.metadata.name).not.toBe("Secret");
    }
  });

  test("values files hold no password, token or key values", () => {
    for (const file of [...valuesFiles, rootFile, "gitops/charts/service/values.yaml"]) {
      for (const { path, value } of leaves(loadYaml(file))) {
        const key = path.at(-1) ?? "";
        if (!secretish.test(key) || references.has(key)) continue;
        expect(value, `${file}: ${path.join(".")} looks like a secret value`).toSatisfy(
          (v: unknown) => v === null || v === "" || typeof v === "boolean",
        );
      }
    }
  });

  test("Grafana takes its admin credentials from the grafana-admin Secret", () => {
    const grafana = dig(loadYaml(KPS), ["grafana"]) as Record<string, unknown>;
    expect(grafana.admin).toEqual({
      existingSecret: "grafana-admin",
      userKey: "admin-user",
      passwordKey: "admin-password",
    });
    expect(grafana.adminPassword).toBeUndefined();
    for (const source of grafana.additionalDataSources as Record<string, unknown>[]) {
      expect(source.secureJsonData, String(source.name)).toBeUndefined();
      expect(source.basicAuth ?? false, String(source.name)).toBe(false);
    }
  });
});

describe("project containers", () => {
  const workloads = async () => {
    const { children } = await loadTree();
    return children.flatMap(({ app, objects }) =>
      objects
        .filter(({ object }) => podKinds.has(object.kind))
        .map(({ object }) => ({ app: app.metadata.name, object })),
    );
  };

  test("the services are workloads of this repository", async () => {
    const names = (await workloads()).map(({ object }) => object.metadata.name);
    expect(names).toEqual(expect.arrayContaining(["api-gateway", "user-service"]));
  });

  test("every project container is hardened and resourced", async () => {
    for (const { app, object } of await workloads()) {
      const pod = podSpecOf(object);
      const where = `${app}: ${object.kind}/${object.metadata.name}`;
      expect(pod.securityContext?.runAsNonRoot, `${where}: runAsNonRoot`).toBe(true);
      expect(pod.securityContext?.seccompProfile, `${where}: seccompProfile`).toEqual({
        type: "RuntimeDefault",
      });
      expect(pod.automountServiceAccountToken, `${where}: automountServiceAccountToken`).toBe(
        false,
      );
      for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
        const at = `${where} container ${container.name}`;
        const security = container.securityContext ?? {};
        expect(security.allowPrivilegeEscalation, `${at}: allowPrivilegeEscalation`).toBe(false);
        expect(security.readOnlyRootFilesystem, `${at}: readOnlyRootFilesystem`).toBe(true);
        expect(security.privileged ?? false, `${at}: privileged`).toBe(false);
        expect(dig(security, ["capabilities", "drop"]), `${at}: capabilities.drop`).toEqual([
          "ALL",
        ]);
        expect(dig(security, ["capabilities", "add"]), `${at}: capabilities.add`).toBeUndefined();
        expectFullResources(container.resources, at);
        expect(container.imagePullPolicy, `${at}: images are loaded into kind`).toBe(
          "IfNotPresent",
        );
        expect(container.image, `${at}: exact image tag`).toMatch(
          /^[^:@\s]+:(?!latest$)[0-9A-Za-z][0-9A-Za-z._-]*$/,
        );
      }
      if (object.kind !== "Job" && object.kind !== "CronJob") {
        for (const container of pod.containers) {
          expect(container.livenessProbe?.httpGet?.path, `${where}: liveness probe`).toBe(
            "/healthz",
          );
          expect(container.readinessProbe?.httpGet?.path, `${where}: readiness probe`).toBe(
            "/readyz",
          );
        }
      }
    }
  });

  test("the services keep serving briefly on termination, within the grace period", async () => {
    for (const { object } of await workloads()) {
      if (!["api-gateway", "user-service"].includes(object.metadata.name)) continue;
      const pod = podSpecOf(object);
      const sleep = dig(pod.containers[0], ["lifecycle", "preStop", "sleep", "seconds"]);
      expect(sleep, object.metadata.name).toBeGreaterThan(0);
      expect(sleep as number).toBeLessThan(pod.terminationGracePeriodSeconds ?? 30);
    }
  });

  test("a hardening regression is caught: a container without limits fails the check", () => {
    expect(() =>
      expectFullResources({ requests: { cpu: "10m", memory: "64Mi" } }, "example"),
    ).toThrow();
    expect(() =>
      expectFullResources(
        { requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "1", memory: "512Mi" } },
        "example",
      ),
    ).toThrow();
  });
});

describe("memory budget", () => {
  test("quantities parse like Kubernetes does", () => {
    expect(quantity("512Mi")).toBe(512 * 1024 ** 2);
    expect(quantity("1Gi")).toBe(1024 ** 3);
    expect(quantity("250m")).toBe(0.25);
    expect(quantity("1")).toBe(1);
    expect(quantity("1.5")).toBe(1.5);
    expect(() => quantity("lots")).toThrow();
  });

  test("chart defaults that would add workloads stay switched off", () => {
    for (const { values, path, expected, why } of switchedOff) {
      expect(dig(loadYaml(values), path), `${values}: ${path.join(".")} (${why})`).toEqual(
        expected,
      );
    }
  });

  test("every upstream container has CPU and memory requests and limits", () => {
    for (const row of upstreamContainers) {
      const resources = dig(loadYaml(row.values), row.path) as Resources | undefined;
      expectFullResources(resources, `${row.name} (${row.values}: ${row.path.join(".")})`);
    }
  });

  test("Tempo's Go heap stays under its memory limit (no GC ballast above it, GOMEMLIMIT below it)", () => {
    const values = dig(loadYaml(TEMPO), ["tempo"]) as Record<string, unknown>;
    const limit = quantity(dig(values, ["resources", "limits", "memory"]));
    // tempo 2.2.4 templates/statefulset.yaml passes -mem-ballast-size-mbs (chart default 1024).
    expect(Number(values.memBallastSizeMbs) * 1024 ** 2).toBeLessThan(limit / 2);
    const env = (values.extraEnv as { name: string; value: string }[]).find(
      (e) => e.name === "GOMEMLIMIT",
    );
    const soft = quantity(env?.value.replace(/B$/, "") ?? "");
    expect(soft).toBeLessThan(limit);
    expect(soft).toBeGreaterThan(limit / 2);
  });

  test("the whole stack requests at most 3 GiB of memory", async () => {
    const upstream = upstreamContainers.map((row) => {
      const resources = dig(loadYaml(row.values), row.path) as Resources;
      return { name: row.name, bytes: quantity(resources.requests?.memory) * (row.count ?? 1) };
    });
    const { children } = await loadTree();
    const project = children.flatMap(({ objects }) =>
      objects
        .filter(
          ({ object }) =>
            podKinds.has(object.kind) && object.kind !== "Job" && object.kind !== "CronJob",
        )
        .flatMap(({ object }) => {
          const replicas = Number(dig(object, ["spec", "replicas"]) ?? 1);
          return podSpecOf(object).containers.map((c) => ({
            name: `${object.metadata.name}/${c.name}`,
            bytes: quantity(c.resources?.requests?.memory) * replicas,
          }));
        }),
    );
    const rows = [...upstream, ...project];
    const total = rows.reduce((sum, row) => sum + row.bytes, 0);
    const table = rows
      .map((row) => `${(row.bytes / 1024 ** 2).toFixed(0).padStart(5)} Mi  ${row.name}`)
      .join("\n");
    expect(
      total,
      `memory requests add up to ${(total / 1024 ** 2).toFixed(0)} Mi:\n${table}`,
    ).toBeLessThanOrEqual(memoryBudgetBytes);
    expect(project.length).toBeGreaterThanOrEqual(2);
  });
});
