// Kubernetes objects bootstrap creates itself (everything else comes from git via Argo CD).
import { dirname } from "node:path";
import { CliError } from "../../cli/errors.ts";
import {
  ARGOCD,
  GIT_SERVER,
  GRAFANA_SECRET,
  KIND_POD_SUBNET,
  OBJECT_STORAGE_SECRET,
  PROJECTS,
  ROOT_APP,
} from "./names.ts";

type Json = Record<string, unknown>;

/**
 * The root Application: gitops/root.yaml (committed with placeholder values) with the
 * repository URL and revision bootstrap detected filled in, both for its own source and
 * for the app-of-apps chart's values that every child uses.
 */
export function rootApplication(
  committedYaml: string,
  repoURL: string,
  revision: string,
  /** More app-of-apps values, e.g. profile and imageRegistry on an existing cluster. */
  values: Json = {},
): Json {
  const app = Bun.YAML.parse(committedYaml) as Json;
  const spec = app?.spec as Json | undefined;
  const source = spec?.source as Json | undefined;
  if (app?.kind !== "Application" || !source) {
    throw new CliError(
      `${ROOT_APP.file} is not an Argo CD Application with spec.source`,
      `restore it: git checkout -- ${ROOT_APP.file}`,
    );
  }
  source.repoURL = repoURL;
  source.targetRevision = revision;
  const helm = (source.helm ?? {}) as Json;
  helm.valuesObject = { ...((helm.valuesObject as Json) ?? {}), repoURL, revision, ...values };
  delete helm.values; // valuesObject is the one place these two values live
  source.helm = helm;
  return app;
}

/**
 * True when every field of `want` is present and equal in `live` (server-added fields ignored).
 * An absent list counts as an empty one: Argo CD writes its objects with Go's `omitempty`.
 */
export function isSubset(want: unknown, live: unknown): boolean {
  if (Array.isArray(want)) {
    if (want.length === 0 && live === undefined) return true;
    return (
      Array.isArray(live) &&
      want.length === live.length &&
      want.every((item, i) => isSubset(item, live[i]))
    );
  }
  if (want && typeof want === "object") {
    if (!live || typeof live !== "object") return false;
    return Object.entries(want).every(([k, v]) => isSubset(v, (live as Json)[k]));
  }
  return want === live;
}

/** Argo CD's name for the cluster it runs in. */
const IN_CLUSTER = "https://kubernetes.default.svc";

/**
 * The namespaces the stack deploys into: the keys of `apps.podSecurity` in
 * gitops/apps/templates/_helpers.tpl, which sets their Pod Security levels.
 */
export const STACK_NAMESPACES = ["apps", "monitoring", "node-exporter"] as const;

/** The chart repositories the children pull from (gitops/apps/templates/*.yaml). */
const CHART_REPOS = [
  "https://prometheus-community.github.io/helm-charts",
  "https://grafana-community.github.io/helm-charts",
  "https://open-telemetry.github.io/opentelemetry-helm-charts",
];
/** The bundled object storage's chart: only the cluster profile renders it. */
const SEAWEEDFS_REPO = "https://seaweedfs.github.io/seaweedfs/helm";

const appProject = (name: string, description: string, spec: Json): Json => ({
  apiVersion: "argoproj.io/v1alpha1",
  kind: "AppProject",
  metadata: {
    name,
    namespace: ARGOCD.namespace,
    labels: { "app.kubernetes.io/managed-by": "bootstrap" },
  },
  // No finalizer: nothing prunes these, and down.ts --context deletes the argocd namespace after
  // Argo CD is gone, when no controller is left to remove one.
  spec: { description, ...spec },
});

/**
 * The AppProjects bootstrap applies before the root Application (docs/cluster.md#what-is-protected).
 * They live outside git: the root syncs gitops/apps, so a project it synced could be widened by
 * the very commit it is meant to bound. Argo CD v3.4.4 does not sync an Application whose source
 * or destination its project does not list: util/argo/argo.go ValidatePermissions sets an
 * InvalidSpecError (IsSourcePermitted and isDestinationMatched in
 * pkg/apis/application/v1alpha1/app_project_types.go match nothing on an empty list), and
 * controller/sync.go SyncAppState stops on that condition. At sync it also refuses any object of
 * a kind the project does not permit (validateSyncPermissions → IsGroupKindNamePermitted).
 */
export function appProjects(repoURL: string, clusterProfile: boolean): Json[] {
  return [lockedDefaultProject(), rootProject(repoURL), stackProject(repoURL, clusterProfile)];
}

/** The AppProjects for an up.ts run: the root's repository, and the profile the root renders. */
export const wantedProjects = (want: { delivery: { repoURL: string }; target?: unknown }) =>
  appProjects(want.delivery.repoURL, want.target !== undefined);

/**
 * Argo CD's `default` project with nothing allowed. argocd-server creates it at start-up only when
 * it is missing, allowing every source, destination and cluster-scoped kind (server/server.go
 * initializeDefaultProject, v3.4.4), so it is overwritten rather than deleted. An Application a
 * commit adds in `default` then syncs nothing.
 */
export function lockedDefaultProject(): Json {
  return appProject(
    PROJECTS.default,
    `Locked by bootstrap: Applications belong in ${PROJECTS.root} or ${PROJECTS.stack}.`,
    {
      sourceRepos: [],
      destinations: [],
      clusterResourceWhitelist: [],
    },
  );
}

/**
 * The root Application's project: your repository, Applications in argocd, nothing cluster-scoped.
 * That is all gitops/apps renders (gitops/security.test.ts), so a commit there can add or change
 * Applications, but only in projects it cannot change. A namespaced whitelist that is not empty
 * permits only what it lists (IsGroupKindNamePermitted).
 */
export function rootProject(repoURL: string): Json {
  return appProject(PROJECTS.root, "The app-of-apps (gitops/apps): Applications only.", {
    sourceRepos: [repoURL],
    destinations: [{ server: IN_CLUSTER, namespace: ARGOCD.namespace }],
    clusterResourceWhitelist: [],
    namespaceResourceWhitelist: [{ group: "argoproj.io", kind: "Application" }],
  });
}

/**
 * The children's project: sources only from your repository and the pinned chart repositories,
 * objects only in the stack's namespaces, and of the cluster-scoped kinds only those the charts
 * create, by name (the list and how it was found: gitops/security.test.ts). The cluster profile
 * also allows the bundled SeaweedFS, whether or not objectStorage.bundled uses it.
 */
export function stackProject(repoURL: string, clusterProfile: boolean): Json {
  const rbacNames = [
    "kube-prometheus-stack-*",
    "loki-*",
    "otel-collector",
    ...(clusterProfile ? ["seaweedfs-rw-*"] : []),
  ];
  return appProject(PROJECTS.stack, "The observability sandbox's components (gitops/apps).", {
    sourceRepos: [repoURL, ...CHART_REPOS, ...(clusterProfile ? [SEAWEEDFS_REPO] : [])],
    destinations: STACK_NAMESPACES.map((namespace) => ({ server: IN_CLUSTER, namespace })),
    clusterResourceWhitelist: [
      // CreateNamespace=true and gitops/manifests/node-exporter/.
      ...STACK_NAMESPACES.map((name) => ({ group: "", kind: "Namespace", name })),
      // kube-prometheus-stack's CRDs (charts/crds).
      {
        group: "apiextensions.k8s.io",
        kind: "CustomResourceDefinition",
        name: "*.monitoring.coreos.com",
      },
      ...["ClusterRole", "ClusterRoleBinding"].flatMap((kind) =>
        rbacNames.map((name) => ({ group: "rbac.authorization.k8s.io", kind, name })),
      ),
    ],
  });
}

export function grafanaSecret(password: string): Json {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: GRAFANA_SECRET.name,
      namespace: GRAFANA_SECRET.namespace,
      labels: { "app.kubernetes.io/managed-by": "bootstrap" },
    },
    type: "Opaque",
    stringData: { "admin-user": "admin", "admin-password": password },
  };
}

/**
 * The object-storage Secret of the cluster profile: S3 keys as environment variables for Loki
 * and Tempo, and the same keys as the bundled SeaweedFS's one identity (its s3 config file).
 */
export function objectStorageSecret(accessKeyId: string, secretAccessKey: string): Json {
  const identity = {
    name: "observability",
    credentials: [{ accessKey: accessKeyId, secretKey: secretAccessKey }],
    actions: ["Admin", "Read", "Write", "List", "Tagging"],
  };
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: OBJECT_STORAGE_SECRET.name,
      namespace: OBJECT_STORAGE_SECRET.namespace,
      labels: { "app.kubernetes.io/managed-by": "bootstrap" },
    },
    type: "Opaque",
    stringData: {
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
      seaweedfs_s3_config: JSON.stringify({ identities: [identity] }),
    },
  };
}

/** A random password: 24 characters from a URL-safe alphabet (about 143 bits). */
export function randomPassword(): string {
  const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}

/** The git server Deployment's pod spec (what state.ts compares the live one with). */
export function gitServerPodSpec() {
  const deployment = gitServerObjects()[1] as {
    spec: { template: { spec: Json & { securityContext: { runAsUser: number } } } };
  };
  return deployment.spec.template.spec;
}

/**
 * The in-cluster git server (local delivery mode): Soft Serve over HTTP. Anyone it lets in may
 * read (Argo CD needs no credential); only the admin pushes, with the token up.ts mints (see
 * git-credential.ts). A NetworkPolicy lets in only Argo CD's repo-server and traffic from
 * outside the pod network (your pushes through kind's port mapping on 127.0.0.1:8300). Its
 * repositories live on a PersistentVolumeClaim (kind's local-path storage), so they last as
 * long as the cluster.
 */
export function gitServerObjects(): Json[] {
  const labels = {
    "app.kubernetes.io/name": GIT_SERVER.name,
    "app.kubernetes.io/managed-by": "bootstrap",
  };
  const metadata = { name: GIT_SERVER.name, namespace: GIT_SERVER.namespace, labels };
  return [
    {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata,
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata,
      spec: {
        replicas: 1,
        strategy: { type: "Recreate" }, // one writer on the volume
        selector: { matchLabels: { "app.kubernetes.io/name": GIT_SERVER.name } },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            // The image has no USER (it would run as root). Alpine's `nobody` has a passwd entry,
            // which git wants. kind's local-path volumes are created mode 0777, so it can write
            // the PVC; fsGroup makes other provisioners' volumes writable too.
            securityContext: {
              runAsNonRoot: true,
              runAsUser: GIT_SERVER.uid,
              runAsGroup: GIT_SERVER.uid,
              fsGroup: GIT_SERVER.uid,
              seccompProfile: { type: "RuntimeDefault" },
            },
            // The admin key is made where it is used, on the server's own volume: no private
            // key leaves the cluster, none goes through git or a Secret. Kept across restarts.
            initContainers: [
              {
                name: "admin-key",
                image: GIT_SERVER.image,
                command: [
                  "sh",
                  "-c",
                  `test -f ${GIT_SERVER.adminKey} || { mkdir -p ${dirname(GIT_SERVER.adminKey)} && ssh-keygen -q -t ed25519 -N '' -C git-server-admin -f ${GIT_SERVER.adminKey}; }`,
                ],
                resources: {
                  requests: { cpu: "10m", memory: "16Mi" },
                  limits: { cpu: "200m", memory: "64Mi" },
                },
                securityContext: CONTAINER_SECURITY,
                volumeMounts: [{ name: "data", mountPath: "/soft-serve" }],
              },
            ],
            containers: [
              {
                name: "soft-serve",
                image: GIT_SERVER.image,
                // Soft Serve v0.12.2 (pkg/config/config.go): these two override the settings
                // stored in the server's database on every read.
                env: [
                  // Anonymous users may read, never push: AccessLevelForUser
                  // (pkg/backend/user.go) gives them exactly this level, and receive-pack needs
                  // read-write (withAccess, pkg/web/git.go). An authenticated user may also
                  // create a missing repository; anonymous ones no longer can.
                  { name: "SOFT_SERVE_ANON_ACCESS", value: "read-only" },
                  // Keyless = without an SSH key or HTTP credential. Without it every anonymous
                  // HTTP request gets 401 (withAccess), and Argo CD would need a credential to read.
                  { name: "SOFT_SERVE_ALLOW_KEYLESS", value: "true" },
                  // A path works as well as a key (parseAuthKeys, pkg/config/config.go): the key
                  // the init container generated. Its holder is admin (IsPublicKeyAdmin); on a new
                  // database the first user, admin, gets it too (migrate/0001_create_tables.go).
                  { name: "SOFT_SERVE_INITIAL_ADMIN_KEYS", value: `${GIT_SERVER.adminKey}.pub` },
                  { name: "SOFT_SERVE_HTTP_LISTEN_ADDR", value: `:${GIT_SERVER.httpPort}` },
                  { name: "SOFT_SERVE_HTTP_PUBLIC_URL", value: GIT_SERVER.hostUrl },
                  // SSH only on the pod's loopback: up.ts mints the token there, through
                  // kubectl exec, and no other pod can reach it, NetworkPolicy or not.
                  {
                    name: "SOFT_SERVE_SSH_LISTEN_ADDR",
                    value: `127.0.0.1:${GIT_SERVER.sshPort}`,
                  },
                  // No git:// daemon (read-only, but one more door).
                  { name: "SOFT_SERVE_GIT_ENABLED", value: "false" },
                  { name: "SOFT_SERVE_STATS_ENABLED", value: "false" },
                  { name: "SOFT_SERVE_LFS_ENABLED", value: "false" },
                ],
                ports: [{ name: "http", containerPort: GIT_SERVER.httpPort }],
                readinessProbe: { tcpSocket: { port: "http" }, periodSeconds: 2 },
                resources: {
                  requests: { cpu: "20m", memory: "32Mi" },
                  limits: { cpu: "500m", memory: "256Mi" },
                },
                // Soft Serve 0.12 writes only under SOFT_SERVE_DATA_PATH (/soft-serve: config,
                // database, keys, repositories; the PVC) and os.TempDir() (a scratch git index
                // for attribute checks), so the root filesystem can be read-only.
                securityContext: CONTAINER_SECURITY,
                volumeMounts: [
                  { name: "data", mountPath: "/soft-serve" },
                  { name: "tmp", mountPath: "/tmp" },
                ],
              },
            ],
            volumes: [
              { name: "data", persistentVolumeClaim: { claimName: GIT_SERVER.name } },
              { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
            ],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata,
      spec: {
        type: "NodePort",
        selector: { "app.kubernetes.io/name": GIT_SERVER.name },
        ports: [
          {
            name: "http",
            port: GIT_SERVER.httpPort,
            targetPort: "http",
            nodePort: GIT_SERVER.nodePort,
          },
        ],
      },
    },
    gitServerNetworkPolicy(labels),
  ];
}

/** The pods that clone for Argo CD. */
export const ARGOCD_REPO_SERVER = "argocd-repo-server";

const CONTAINER_SECURITY = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  privileged: false,
  runAsNonRoot: true,
  capabilities: { drop: ["ALL"] },
};

/**
 * Who may open a connection to the git server: Argo CD's repo-server (it clones), and anything
 * from outside the pod network, which on kind is your machine through the NodePort (the node
 * or Docker's gateway is the source address). Every other pod is refused, so a compromised
 * workload can neither read the repository nor try the push token. Only the HTTP port: SSH is
 * for `kubectl exec` inside the pod. A CNI that does not enforce NetworkPolicy ignores this
 * object; the push token still guards pushes (docs/bootstrap.md).
 */
function gitServerNetworkPolicy(labels: Record<string, string>): Json {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: GIT_SERVER.name, namespace: GIT_SERVER.namespace, labels },
    spec: {
      podSelector: { matchLabels: { "app.kubernetes.io/name": GIT_SERVER.name } },
      policyTypes: ["Ingress"],
      ingress: [
        {
          // The argo-cd chart labels its repo-server pods app.kubernetes.io/name:
          // <nameOverride>-<repoServer.name> (argo-cd.selectorLabels in templates/_helpers.tpl,
          // argo-helm); values.yaml sets nameOverride: argocd, repoServer.name: repo-server,
          // and bootstrap/argocd-values.yaml changes neither.
          from: [
            { podSelector: { matchLabels: { "app.kubernetes.io/name": ARGOCD_REPO_SERVER } } },
          ],
          ports: [{ protocol: "TCP", port: GIT_SERVER.httpPort }],
        },
        {
          // Also the kubelet's readiness probe, which comes from the node.
          from: [{ ipBlock: { cidr: "0.0.0.0/0", except: [KIND_POD_SUBNET] } }],
          ports: [{ protocol: "TCP", port: GIT_SERVER.httpPort }],
        },
      ],
    },
  };
}

export const asList = (items: Json[]): Json => ({ apiVersion: "v1", kind: "List", items });
