// Names shared with the rest of the repository (see the team contract): one place to change them.

export const DEFAULT_CLUSTER = "observability-sandbox";
export const SERVICES = ["api-gateway", "user-service"] as const;
export type Service = (typeof SERVICES)[number];
export const imageRepository = (service: Service) => `sandbox/${service}`;

export const ARGOCD = {
  release: "argocd",
  namespace: "argocd",
  chart: "argo-cd",
  chartVersion: "10.1.1",
  repo: "https://argoproj.github.io/argo-helm",
  valuesFile: "bootstrap/argocd-values.yaml",
  /** Added after valuesFile on an existing cluster (--context): no NodePort. */
  clusterValuesFile: "bootstrap/argocd-values-cluster.yaml",
} as const;

export const GRAFANA_SECRET = { name: "grafana-admin", namespace: "monitoring" } as const;
/** S3 keys for Loki, Tempo and the bundled SeaweedFS (cluster profile; gitops/apps objectStorage). */
export const OBJECT_STORAGE_SECRET = { name: "object-storage", namespace: "monitoring" } as const;
export const ROOT_APP = { name: "root", namespace: "argocd", file: "gitops/root.yaml" } as const;

/**
 * The AppProjects bootstrap applies (bootstrap/lib/manifests.ts), outside git so that no commit
 * can widen them: the root Application's, the children's, and Argo CD's own `default`, locked.
 */
export const PROJECTS = {
  root: "sandbox-root",
  stack: "observability",
  default: "default",
} as const;

/** The in-cluster git server of the local delivery mode. */
export const GIT_SERVER = {
  name: "git-server",
  namespace: "argocd",
  image: "docker.io/charmcli/soft-serve:v0.12.2",
  httpPort: 23232,
  /** Soft Serve's SSH port: not in the Service; up.ts reaches it only from inside the pod. */
  sshPort: 23231,
  nodePort: 30300,
  hostUrl: "http://localhost:8300",
  repoPath: "/observability-sandbox.git",
  remote: "cluster",
  /** Alpine's `nobody`: the image would otherwise run as root. */
  uid: 65534,
  /**
   * The server's admin SSH key, generated in the pod (init container) on its volume: it never
   * leaves the cluster. up.ts uses it, through `kubectl exec`, to mint the push token.
   */
  adminKey: "/soft-serve/bootstrap/admin_ed25519",
  /** Soft Serve's first user, the admin (pkg/db/migrate/0001_create_tables.go, v0.12.2). */
  adminUser: "admin",
  /** Name of the access token up.ts mints (`token list` in the server shows it). */
  tokenName: "bootstrap-push",
} as const;
/** kind's default pod subnet (kind-config.yaml sets no `networking.podSubnet`). */
export const KIND_POD_SUBNET = "10.244.0.0/16";
export const gitServerInClusterUrl = () =>
  `http://${GIT_SERVER.name}.${GIT_SERVER.namespace}.svc:${GIT_SERVER.httpPort}${GIT_SERVER.repoPath}`;
export const gitServerHostUrl = () => `${GIT_SERVER.hostUrl}${GIT_SERVER.repoPath}`;

export const kubeContext = (cluster: string) => `kind-${cluster}`;

/** Where a service image lives in the cluster profile: <registry>/<service>:<tag>. */
export const registryImageRef = (registry: string, service: Service, tag: string) =>
  `${registry.replace(/\/+$/, "")}/${service}:${tag}`;
