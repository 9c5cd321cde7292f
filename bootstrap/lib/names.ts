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

/** The in-cluster git server of the local delivery mode. */
export const GIT_SERVER = {
  name: "git-server",
  namespace: "argocd",
  image: "docker.io/charmcli/soft-serve:v0.12.2",
  httpPort: 23232,
  nodePort: 30300,
  hostUrl: "http://localhost:8300",
  repoPath: "/observability-sandbox.git",
  remote: "cluster",
  /** Alpine's `nobody`: the image would otherwise run as root. */
  uid: 65534,
} as const;
export const gitServerInClusterUrl = () =>
  `http://${GIT_SERVER.name}.${GIT_SERVER.namespace}.svc:${GIT_SERVER.httpPort}${GIT_SERVER.repoPath}`;
export const gitServerHostUrl = () => `${GIT_SERVER.hostUrl}${GIT_SERVER.repoPath}`;

export const kubeContext = (cluster: string) => `kind-${cluster}`;

/** Where a service image lives in the cluster profile: <registry>/<service>:<tag>. */
export const registryImageRef = (registry: string, service: Service, tag: string) =>
  `${registry.replace(/\/+$/, "")}/${service}:${tag}`;
