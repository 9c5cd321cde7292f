// What a commit or a web page can do to the stack (docs/cluster.md#what-is-protected):
// - the AppProjects bootstrap applies outside git (bootstrap/lib/manifests.ts): the root's, which
//   allows only what gitops/apps renders; the children's (sources, destination namespaces and
//   cluster-scoped kinds); and Argo CD's `default`, locked;
// - Pod Security Admission: each namespace's level, and every pod passing it;
// - the host ports: none lets a page stop or reconfigure a component.
// Upstream charts cannot be rendered offline. Their cluster-scoped objects, namespaces and pod
// security levels below were found by rendering each chart once at its pinned version (checked
// out from its repository at the release tag; kube-prometheus-stack with its pinned subcharts)
// with the value files and valuesObject the Applications pass, laptop and cluster profile with
// the bundled SeaweedFS, through gitops/testing/tree.ts and the pinned helm, then running
// gitops/testing/pod-security.ts on every pod template. The CRDs are kube-prometheus-stack's
// charts/crds/crds/*.yaml. A cluster with its own object storage differs only in S3 settings and
// in having no SeaweedFS. The facts name the values they depend on.
import { describe, expect, test } from "bun:test";
import {
  lockedDefaultProject,
  rootProject,
  STACK_NAMESPACES,
  stackProject,
} from "../bootstrap/lib/manifests.ts";
import { PROJECTS } from "../bootstrap/lib/names.ts";
import { loadYaml } from "../model/yaml.ts";
import { dig, type KubeObject } from "./testing/load.ts";
import { validateObject } from "./testing/models.ts";
import {
  type Level,
  type PodSpec,
  strictestLevel,
  strictestLevelOfAll,
  violations,
} from "./testing/pod-security.ts";
import { loadTree, sourcesOf, type Tree } from "./testing/tree.ts";

const KPS = "gitops/values/kube-prometheus-stack.yaml";
const KPS_CLUSTER = "gitops/profiles/cluster/kube-prometheus-stack.yaml";
const cluster = { profile: "cluster", imageRegistry: "registry.test/team" };
/** What the renders depend on: the profile and whether the cluster profile bundles SeaweedFS. */
type Case = { name: string; values: Record<string, unknown>; seaweedfs: boolean };
const cases: Case[] = [
  { name: "laptop", values: {}, seaweedfs: false },
  { name: "cluster, bundled object storage", values: cluster, seaweedfs: true },
  {
    name: "cluster, own object storage",
    values: {
      ...cluster,
      objectStorage: {
        ...loadYaml<{ objectStorage: Record<string, unknown> }>("gitops/apps/values.yaml")
          .objectStorage,
        bundled: false,
        endpoint: "s3.eu-west-1.amazonaws.com",
      },
    },
    seaweedfs: false,
  },
];

// ---- Facts from the renders -----------------------------------------------------------------

type ClusterScoped = { group: string; kind: string; name: string };
const rbac = (kind: string, ...names: string[]): ClusterScoped[] =>
  names.map((name) => ({ group: "rbac.authorization.k8s.io", kind, name }));

/** Cluster-scoped objects the upstream charts create (every case unless `seaweedfs` says). */
const upstreamClusterScoped: { chart: string; seaweedfs?: true; objects: ClusterScoped[] }[] = [
  {
    chart: "kube-prometheus-stack 88.5.3 (charts/crds, grafana 12.11.1, kube-state-metrics 8.4.0)",
    objects: [
      ...[
        "alertmanagerconfigs",
        "alertmanagers",
        "podmonitors",
        "probes",
        "prometheusagents",
        "prometheuses",
        "prometheusrules",
        "scrapeconfigs",
        "servicemonitors",
        "thanosrulers",
      ].map((plural) => ({
        group: "apiextensions.k8s.io",
        kind: "CustomResourceDefinition",
        name: `${plural}.monitoring.coreos.com`,
      })),
      ...rbac(
        "ClusterRole",
        "kube-prometheus-stack-grafana-clusterrole",
        "kube-prometheus-stack-kube-state-metrics",
        "kube-prometheus-stack-operator",
        "kube-prometheus-stack-prometheus",
      ),
      ...rbac(
        "ClusterRoleBinding",
        "kube-prometheus-stack-grafana-clusterrolebinding",
        "kube-prometheus-stack-kube-state-metrics",
        "kube-prometheus-stack-operator",
        "kube-prometheus-stack-prometheus",
      ),
    ],
  },
  {
    chart: "loki 18.11.0 (templates/backend/clusterrole*.yaml)",
    objects: [
      ...rbac("ClusterRole", "loki-clusterrole"),
      ...rbac("ClusterRoleBinding", "loki-clusterrolebinding"),
    ],
  },
  {
    chart: "opentelemetry-collector 0.170.0 (presets.kubernetesAttributes)",
    objects: [
      ...rbac("ClusterRole", "otel-collector"),
      ...rbac("ClusterRoleBinding", "otel-collector"),
    ],
  },
  {
    chart: "seaweedfs 4.44.0 (templates/shared/cluster-role.yaml, global.createClusterRole)",
    seaweedfs: true,
    objects: [
      ...rbac("ClusterRole", "seaweedfs-rw-cr"),
      ...rbac("ClusterRoleBinding", "seaweedfs-rw-crb"),
    ],
  },
];

/**
 * Every pod the upstream charts create, where, and the strictest level it passes. Prometheus and
 * Alertmanager pods come from the operator (v0.93 pkg/prometheus/server/statefulset.go,
 * pkg/alertmanager/statefulset.go: containers without privilege escalation, ALL capabilities
 * dropped) with kube-prometheus-stack's default prometheusSpec/alertmanagerSpec.securityContext
 * (runAsNonRoot, seccomp RuntimeDefault); their volumes are secrets, config maps, emptyDirs and
 * PVCs. `requires`: the values the level depends on.
 */
const upstreamPods: {
  chart: string;
  pod: string;
  namespace: string;
  level: Level;
  seaweedfs?: true;
  requires?: { values: string; path: string[]; equals: unknown }[];
}[] = [
  { chart: "kube-prometheus-stack", pod: "grafana", namespace: "monitoring", level: "restricted" },
  {
    chart: "kube-prometheus-stack",
    pod: "kube-state-metrics",
    namespace: "monitoring",
    level: "restricted",
  },
  { chart: "kube-prometheus-stack", pod: "operator", namespace: "monitoring", level: "restricted" },
  {
    chart: "kube-prometheus-stack (operator)",
    pod: "prometheus",
    namespace: "monitoring",
    level: "restricted",
  },
  {
    chart: "kube-prometheus-stack (operator)",
    pod: "alertmanager",
    namespace: "monitoring",
    level: "restricted",
  },
  {
    chart: "kube-prometheus-stack",
    pod: "node-exporter (hostNetwork, hostPID, hostPath /proc and /sys)",
    namespace: "node-exporter",
    level: "privileged",
    requires: [
      {
        values: KPS,
        path: ["prometheus-node-exporter", "namespaceOverride"],
        equals: "node-exporter",
      },
    ],
  },
  {
    chart: "loki",
    pod: "loki, or write/read/backend (cluster)",
    namespace: "monitoring",
    level: "restricted",
  },
  { chart: "loki", pod: "loki-gateway", namespace: "monitoring", level: "restricted" },
  {
    chart: "tempo",
    pod: "tempo",
    namespace: "monitoring",
    level: "restricted",
    requires: [
      {
        values: "gitops/values/tempo.yaml",
        path: ["tempo", "securityContext", "seccompProfile", "type"],
        equals: "RuntimeDefault",
      },
    ],
  },
  {
    chart: "opentelemetry-collector",
    pod: "otel-collector",
    namespace: "monitoring",
    level: "restricted",
    requires: [
      {
        values: "gitops/values/otel-collector.yaml",
        path: ["securityContext", "seccompProfile", "type"],
        equals: "RuntimeDefault",
      },
    ],
  },
  // Root, no seccomp profile, privilege escalation allowed: the chart's allInOne and filer
  // podSecurityContext / containerSecurityContext are empty by default.
  ...["seaweedfs-all-in-one", "seaweedfs-bucket-hook (Job)"].map((pod) => ({
    chart: "seaweedfs 4.44.0",
    pod,
    namespace: "monitoring",
    level: "baseline" as Level,
    seaweedfs: true as const,
  })),
];

// ---- A model of Argo CD's project checks ----------------------------------------------------

/** Go's filepath.Match for names without "/": `*` any run, `?` one character. */
function globMatch(pattern: string, value: string): boolean {
  if (/[[\\]/.test(pattern)) throw new Error(`pattern ${pattern}: only * and ? are modelled`);
  const regex = pattern
    .replace(/[.+^${}()|]/g, "\\$&")
    .replace(/\*/g, "[^/]*")
    .replace(/\?/g, "[^/]");
  return new RegExp(`^${regex}$`).test(value);
}

type ProjectSpec = {
  sourceRepos: string[];
  destinations: { server: string; namespace: string }[];
  clusterResourceWhitelist: { group: string; kind: string; name?: string }[];
  namespaceResourceWhitelist?: { group: string; kind: string }[];
  clusterResourceBlacklist?: unknown[];
  namespaceResourceBlacklist?: unknown[];
};

/**
 * Whether the project lets an Application create a cluster-scoped object: argo-cd v3.4.4
 * pkg/apis/application/v1alpha1 app_project_types.go IsGroupKindNamePermitted and types.go
 * isNamedResourceInList (an empty whitelist permits nothing; no name in an entry matches all).
 */
function clusterScopedPermitted(spec: ProjectSpec, object: ClusterScoped): boolean {
  return spec.clusterResourceWhitelist.some(
    (item) =>
      globMatch(item.kind, object.kind) &&
      globMatch(item.group, object.group) &&
      (item.name === undefined || item.name === "" || globMatch(item.name, object.name)),
  );
}

/**
 * The same for a namespaced kind (IsGroupKindNamePermitted, namespaced branch): no whitelist
 * permits every kind, an empty one none, else only what it lists.
 */
function namespacedKindPermitted(spec: ProjectSpec, group: string, kind: string): boolean {
  const list = spec.namespaceResourceWhitelist;
  if (list === undefined) return true;
  return list.some((item) => globMatch(item.kind, kind) && globMatch(item.group, group));
}

/** Argo CD's globMatch (app_project_types.go): "*" alone matches anything, "/" included. */
const projectMatch = (pattern: string, value: string) =>
  pattern === "*" || globMatch(pattern, value);

const namespacePermitted = (spec: ProjectSpec, server: string, namespace: string) =>
  spec.destinations.some(
    (d) => projectMatch(d.server, server) && projectMatch(d.namespace, namespace),
  );

/** IsSourcePermitted without negations: any entry matches. */
const sourcePermitted = (spec: ProjectSpec, repoURL: string) =>
  spec.sourceRepos.some((pattern) => projectMatch(pattern, repoURL));

type Project = KubeObject & { spec: ProjectSpec };
const rootRepo = (tree: Tree) => dig(tree.root, ["spec", "source", "repoURL"]) as string;
const isCluster = (values: Record<string, unknown>) => values.profile === "cluster";
/** The children's project as bootstrap applies it for this tree's repository and profile. */
const projectOf = (tree: Tree, values: Record<string, unknown>) =>
  stackProject(rootRepo(tree), isCluster(values)) as unknown as Project;

const groupOf = (apiVersion: string) =>
  apiVersion.includes("/") ? (apiVersion.split("/")[0] ?? "") : "";

/** Kinds of the objects in this tree that are cluster-scoped (only these appear locally). */
const clusterScopedKinds = new Set([
  "Namespace",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
]);

// ---- Helpers --------------------------------------------------------------------------------

const podKinds = new Set(["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"]);

function podTemplate(object: KubeObject): {
  spec: PodSpec;
  metadata: { annotations?: Record<string, string> };
} {
  if (object.kind === "Pod") return object as never;
  if (object.kind === "CronJob")
    return dig(object, ["spec", "jobTemplate", "spec", "template"]) as never;
  return dig(object, ["spec", "template"]) as never;
}

const psaLabels = (level: string) => ({
  "pod-security.kubernetes.io/enforce": level,
  "pod-security.kubernetes.io/warn": level,
  "pod-security.kubernetes.io/audit": level,
});

/** Each namespace of the tree and the level its labels enforce: the children's
 * managedNamespaceMetadata and Namespace objects synced from git. Disagreeing labels throw. */
function namespaceLevels(tree: Tree): Map<string, Level> {
  const levels = new Map<string, Level>();
  const record = (namespace: string, labels: Record<string, string> | undefined, where: string) => {
    const level = labels?.["pod-security.kubernetes.io/enforce"] as Level | undefined;
    if (!level) throw new Error(`${where}: namespace ${namespace} has no enforce label`);
    expect(labels, `${where}: enforce, warn and audit agree`).toEqual(psaLabels(level));
    const known = levels.get(namespace);
    if (known && known !== level)
      throw new Error(`${where}: ${namespace} is ${level} and ${known}`);
    levels.set(namespace, level);
  };
  for (const { app, objects } of tree.children) {
    const meta = dig(app, ["spec", "syncPolicy", "managedNamespaceMetadata", "labels"]);
    record(app.spec.destination.namespace ?? "", meta as Record<string, string>, app.metadata.name);
    for (const { object, from } of objects)
      if (object.kind === "Namespace") record(object.metadata.name, object.metadata.labels, from);
  }
  return levels;
}

const order: Level[] = ["privileged", "baseline", "restricted"];
const admits = (namespace: Level, pod: Level) => order.indexOf(pod) >= order.indexOf(namespace);

// ---- Tests ----------------------------------------------------------------------------------

describe.each(cases)("what the root may create ($name)", ({ values }) => {
  const tree = () => loadTree(values);

  test("git renders no AppProject; every Application is in a project bootstrap applies", async () => {
    const t = await tree();
    // A project the root synced could be widened by the commit it is meant to bound.
    expect(t.projects.map((p) => p.metadata.name)).toEqual([]);
    expect(t.root.spec.project).toBe(PROJECTS.root);
    for (const { app } of t.children)
      expect(app.spec.project, app.metadata.name).toBe(PROJECTS.stack);
  });

  test("the root's project: its repository, Applications in argocd, nothing cluster-scoped", async () => {
    const t = await tree();
    const project = rootProject(rootRepo(t)) as unknown as Project;
    await validateObject(project);
    const { spec } = project;
    expect(spec.sourceRepos).toEqual([rootRepo(t)]);
    const destination = t.root.spec.destination;
    expect(namespacePermitted(spec, destination.server ?? "", destination.namespace ?? "")).toBe(
      true,
    );
    expect(spec.clusterResourceWhitelist).toEqual([]);
    // It lists exactly the kinds the root renders, and each rendered object passes.
    const rendered = [...t.children.map(({ app }) => app), ...t.projects];
    const kinds = new Set(rendered.map((o) => `${groupOf(o.apiVersion)}/${o.kind}`));
    expect(new Set(spec.namespaceResourceWhitelist?.map((w) => `${w.group}/${w.kind}`))).toEqual(
      kinds,
    );
    for (const object of rendered) {
      const where = `${object.kind} ${object.metadata.name}`;
      expect(namespacedKindPermitted(spec, groupOf(object.apiVersion), object.kind), where).toBe(
        true,
      );
      expect(
        namespacePermitted(spec, destination.server ?? "", object.metadata.namespace ?? "argocd"),
        where,
      ).toBe(true);
    }
    // What a commit to gitops/apps might add instead: refused.
    for (const [group, kind] of [
      ["argoproj.io", "AppProject"],
      ["", "Pod"],
      ["", "Secret"],
      ["apps", "DaemonSet"],
      ["rbac.authorization.k8s.io", "RoleBinding"],
    ])
      expect(namespacedKindPermitted(spec, group ?? "", kind ?? ""), kind).toBe(false);
    for (const namespace of ["apps", "kube-system", "default"])
      expect(namespacePermitted(spec, destination.server ?? "", namespace), namespace).toBe(false);
    expect(sourcePermitted(spec, "https://github.com/someone-else/repo.git")).toBe(false);
  });
});

test("Argo CD's default project is locked: no source, no destination, nothing cluster-scoped", async () => {
  const project = lockedDefaultProject() as unknown as Project;
  await validateObject(project);
  expect(project.metadata).toMatchObject({ name: "default", namespace: "argocd" });
  const { spec } = project;
  const server = "https://kubernetes.default.svc";
  expect(sourcePermitted(spec, "https://github.com/your-user/observability-sandbox.git")).toBe(
    false,
  );
  for (const namespace of ["argocd", "apps", "kube-system"])
    expect(namespacePermitted(spec, server, namespace), namespace).toBe(false);
  expect(clusterScopedPermitted(spec, { group: "", kind: "Namespace", name: "kube-system" })).toBe(
    false,
  );
  // argocd-server's own default (server/server.go initializeDefaultProject, v3.4.4), for contrast.
  const open: ProjectSpec = {
    sourceRepos: ["*"],
    destinations: [{ server: "*", namespace: "*" }],
    clusterResourceWhitelist: [{ group: "*", kind: "*" }],
  };
  expect(sourcePermitted(open, "https://github.com/someone-else/repo.git")).toBe(true);
  expect(namespacePermitted(open, server, "kube-system")).toBe(true);
});

describe.each(cases)("the children's AppProject ($name)", ({ values, seaweedfs }) => {
  const tree = () => loadTree(values);

  test("bootstrap applies it in argocd, schema-valid, with no finalizer to outlive Argo CD", async () => {
    const project = projectOf(await tree(), values);
    await validateObject(project);
    expect(project.metadata.namespace).toBe("argocd");
    expect(project.metadata.name).toBe(PROJECTS.stack);
    // down.ts --context deletes the argocd namespace after Argo CD: nothing would remove one.
    expect(project.metadata.finalizers ?? []).toEqual([]);
    expect(project.spec.destinations.map((d) => d.namespace)).toEqual([...STACK_NAMESPACES]);
  });

  test("sources: exactly this repository and the pinned chart repositories, no wildcard", async () => {
    const t = await tree();
    const { spec } = projectOf(t, values);
    const used = new Set(t.children.flatMap(({ app }) => sourcesOf(app).map((s) => s.repoURL)));
    // The cluster profile allows the bundled SeaweedFS's chart even where own storage leaves it out.
    if (isCluster(values)) used.add("https://seaweedfs.github.io/seaweedfs/helm");
    expect(new Set(spec.sourceRepos)).toEqual(used);
    for (const repo of spec.sourceRepos) expect(repo).not.toMatch(/[*?[]/);
    // The root's repository (the `$values` source and every local path) is one of them.
    expect(spec.sourceRepos).toContain(dig(t.root, ["spec", "source", "repoURL"]) as string);
  });

  test("destinations: only the stack's namespaces, in this cluster; never kube-system or argocd", async () => {
    const t = await tree();
    const { spec } = projectOf(t, values);
    const server = "https://kubernetes.default.svc";
    for (const d of spec.destinations) {
      expect(d.server).toBe(server);
      expect(d.namespace).toMatch(/^[a-z0-9-]+$/); // a name, not a pattern
    }
    const used = new Set([
      ...t.children.map(({ app }) => app.spec.destination.namespace ?? ""),
      ...t.children.flatMap(({ objects }) =>
        objects
          .filter(({ object }) => !clusterScopedKinds.has(object.kind))
          .map(({ object }) => object.metadata.namespace ?? ""),
      ),
      ...upstreamPods.map((p) => p.namespace),
    ]);
    expect(new Set(spec.destinations.map((d) => d.namespace))).toEqual(used);
    for (const namespace of ["kube-system", "argocd", "default", "kube-public"])
      expect(namespacePermitted(spec, server, namespace), namespace).toBe(false);
  });

  test("cluster-scoped: what the charts create, by name, and nothing else", async () => {
    const t = await tree();
    const { spec } = projectOf(t, values);
    expect(spec.clusterResourceBlacklist ?? []).toEqual([]);
    for (const item of spec.clusterResourceWhitelist) {
      expect(item.kind, "a kind, not a pattern").toMatch(/^[A-Za-z]+$/);
      expect(item.name ?? "", `${item.kind}: entries name what they allow`).not.toBe("");
    }
    const wanted: ClusterScoped[] = [
      ...upstreamClusterScoped.filter((u) => !u.seaweedfs || seaweedfs).flatMap((u) => u.objects),
      // CreateNamespace=true creates each destination namespace (a Namespace the project must permit).
      ...t.children.map(({ app }) => ({
        group: "",
        kind: "Namespace",
        name: app.spec.destination.namespace ?? "",
      })),
      ...t.children.flatMap(({ objects }) =>
        objects
          .filter(({ object }) => clusterScopedKinds.has(object.kind))
          .map(({ object }) => ({
            group: groupOf(object.apiVersion),
            kind: object.kind,
            name: object.metadata.name,
          })),
      ),
    ];
    for (const object of wanted)
      expect(clusterScopedPermitted(spec, object), `${object.kind} ${object.name}`).toBe(true);
    // What a pushed commit might add to take the cluster over: refused.
    for (const object of [
      {
        group: "rbac.authorization.k8s.io",
        kind: "ClusterRoleBinding",
        name: "cluster-admin-for-me",
      },
      { group: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "aggregate-to-admin" },
      { group: "", kind: "Namespace", name: "kube-system" },
      { group: "", kind: "Namespace", name: "playground" },
      { group: "", kind: "PersistentVolume", name: "host-root" },
      {
        group: "admissionregistration.k8s.io",
        kind: "MutatingWebhookConfiguration",
        name: "loki-x",
      },
      {
        group: "apiextensions.k8s.io",
        kind: "CustomResourceDefinition",
        name: "applications.argoproj.io",
      },
      { group: "node.k8s.io", kind: "RuntimeClass", name: "otel-collector" },
    ])
      expect(clusterScopedPermitted(spec, object), `${object.kind} ${object.name}`).toBe(false);
  });
});

test("the project model matches like Argo CD's filepath.Match", () => {
  expect(globMatch("loki-*", "loki-clusterrole")).toBe(true);
  expect(globMatch("loki-*", "loki")).toBe(false);
  expect(globMatch("*.monitoring.coreos.com", "prometheuses.monitoring.coreos.com")).toBe(true);
  expect(globMatch("*.monitoring.coreos.com", "x.monitoring.coreos.com.evil")).toBe(false);
  expect(globMatch("otel-collecto?", "otel-collector")).toBe(true);
  expect(globMatch("", "")).toBe(true);
  expect(() => globMatch("[a-z]", "a")).toThrow();
  const spec: ProjectSpec = {
    sourceRepos: [],
    destinations: [],
    clusterResourceWhitelist: [{ group: "", kind: "Namespace" }],
  };
  // An entry without a name allows every object of its kind; an empty list allows none.
  expect(clusterScopedPermitted(spec, { group: "", kind: "Namespace", name: "any" })).toBe(true);
  expect(
    clusterScopedPermitted(
      { ...spec, clusterResourceWhitelist: [] },
      { group: "", kind: "Namespace", name: "any" },
    ),
  ).toBe(false);
});

describe.each(cases)("Pod Security Admission ($name)", ({ values, seaweedfs }) => {
  const tree = () => loadTree(values);

  test("apps restricted, monitoring restricted (baseline beside SeaweedFS), node-exporter privileged", async () => {
    const t = await tree();
    const levels = namespaceLevels(t);
    expect(Object.fromEntries(levels)).toEqual({
      apps: "restricted",
      monitoring: seaweedfs ? "baseline" : "restricted",
      "node-exporter": "privileged",
    });
    // Every namespace the project allows has its level set by what syncs from git.
    expect(new Set(projectOf(t, values).spec.destinations.map((d) => d.namespace))).toEqual(
      new Set(levels.keys()),
    );
    for (const { app } of t.children)
      expect(app.spec.syncPolicy?.syncOptions, app.metadata.name).toContain("CreateNamespace=true");
  });

  test("each namespace is at the strictest level its pods pass", async () => {
    const t = await tree();
    const levels = namespaceLevels(t);
    const pods = new Map<string, Level[]>();
    const add = (namespace: string, level: Level) =>
      pods.set(namespace, [...(pods.get(namespace) ?? []), level]);
    for (const { objects } of t.children) {
      for (const { object } of objects) {
        if (!podKinds.has(object.kind)) continue;
        const template = podTemplate(object);
        const namespace = object.metadata.namespace ?? "";
        const level = levels.get(namespace);
        expect(level, `${object.metadata.name}: namespace ${namespace} has a level`).toBeDefined();
        expect(
          violations(level as Level, template.spec, template.metadata),
          `${object.kind} ${object.metadata.name}`,
        ).toEqual([]);
        add(namespace, strictestLevel(template.spec, template.metadata));
      }
    }
    for (const pod of upstreamPods.filter((p) => !p.seaweedfs || seaweedfs)) {
      for (const r of pod.requires ?? [])
        expect(
          dig(loadYaml(r.values), r.path),
          `${pod.pod}: ${r.values} ${r.path.join(".")}`,
        ).toEqual(r.equals);
      add(pod.namespace, pod.level);
    }
    for (const [namespace, level] of levels) {
      const found = pods.get(namespace) ?? [];
      expect(found.length, `${namespace} runs pods`).toBeGreaterThan(0);
      for (const podLevel of found) expect(admits(level, podLevel), namespace).toBe(true);
      expect(level, `${namespace}: its pods pass ${strictestLevelOfAll(found)}`).toBe(
        strictestLevelOfAll(found),
      );
    }
  });
});

describe("host ports: nothing a web page can reach stops or reconfigures a component", () => {
  type Mapping = { containerPort: number; hostPort: number };
  const mappings = loadYaml<{ nodes: { extraPortMappings?: Mapping[] }[] }>(
    "kind-config.yaml",
  ).nodes.flatMap((node) => node.extraPortMappings ?? []);

  /**
   * Every published NodePort and why a page's request cannot stop or reconfigure what answers.
   * A page can send GET (an <img>) and a form or text/plain POST without a preflight.
   */
  const published: Record<number, string> = {
    30080: "Argo CD: every change needs a login",
    30030: "Grafana: every change needs a login",
    30090:
      "Prometheus: no --web.enable-lifecycle (reloadStrategy ProcessSignal) and no --web.enable-admin-api",
    30000: "api-gateway: read-only lookups (GET /user/:id, /healthz, /readyz)",
    30300: "in-cluster git server: who may push is set in bootstrap/lib/manifests.ts",
  };

  test("kind publishes only the reviewed NodePorts, on 127.0.0.1", () => {
    expect(new Set(mappings.map((m) => m.containerPort))).toEqual(
      new Set(Object.keys(published).map(Number)),
    );
    for (const m of loadYaml<{
      nodes: { extraPortMappings?: (Mapping & { listenAddress?: string })[] }[];
    }>("kind-config.yaml").nodes.flatMap((n) => n.extraPortMappings ?? []))
      expect(m.listenAddress, `${m.hostPort}`).toBe("127.0.0.1");
  });

  test("Tempo (GET /shutdown) and Loki (GET /ingester/shutdown) are not published", async () => {
    const hostPorts = mappings.map((m) => m.hostPort);
    expect(hostPorts).not.toContain(3200);
    expect(hostPorts).not.toContain(3100);
    for (const { values } of cases) {
      const { children } = await loadTree(values);
      for (const { app, objects } of children) {
        if (app.metadata.name !== "tempo" && app.metadata.name !== "loki") continue;
        // No project-local source adds a Service next to the chart (the old tempo-nodeport).
        expect(
          objects.filter(({ object }) => object.kind === "Service"),
          app.metadata.name,
        ).toEqual([]);
      }
    }
    // The charts' own Services stay ClusterIP: no type or nodePort set (tempo 2.2.4 has no
    // setting for a NodePort; loki 18.11.0 gateway.service.type defaults to ClusterIP).
    expect(dig(loadYaml("gitops/values/loki.yaml"), ["gateway", "service"])).toBeUndefined();
    expect(dig(loadYaml("gitops/values/tempo.yaml"), ["service"])).toBeUndefined();
  });

  test("Prometheus reloads by signal, so the operator passes no --web.enable-lifecycle", () => {
    // prometheus-operator v0.93 pkg/prometheus/promcfg.go BuildCommonPrometheusArgs adds
    // web.enable-lifecycle only for the HTTP reload strategy (the default); kube-prometheus-stack
    // 88.5.3 templates/prometheus/prometheus.yaml passes prometheusSpec.reloadStrategy through.
    for (const file of [KPS, KPS_CLUSTER]) {
      const spec = dig(loadYaml(file), ["prometheus", "prometheusSpec"]) as
        | Record<string, unknown>
        | undefined;
      if (file === KPS) expect(spec?.reloadStrategy).toBe("ProcessSignal");
      else expect(spec?.reloadStrategy, `${file} keeps the laptop's strategy`).toBeUndefined();
      // Nothing puts the flag (or the admin API) back.
      expect(JSON.stringify(spec?.additionalArgs ?? [])).not.toContain("lifecycle");
      expect(spec?.enableAdminAPI ?? false).toBe(false);
    }
  });
});
