// Kubernetes objects bootstrap creates itself (everything else comes from git via Argo CD).
import { GIT_SERVER, GRAFANA_SECRET, OBJECT_STORAGE_SECRET, ROOT_APP } from "./names.ts";
import { BootstrapError } from "./run.ts";

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
    throw new BootstrapError(
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

/** True when every field of `want` is present and equal in `live` (server-added fields ignored). */
export function isSubset(want: unknown, live: unknown): boolean {
  if (Array.isArray(want)) {
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

/**
 * The in-cluster git server (local delivery mode): Soft Serve over HTTP with anonymous read-write, reachable
 * only inside the cluster and on localhost:8300 through kind's port mapping. Its repositories
 * live on a PersistentVolumeClaim (kind's local-path storage), so they last as long as the cluster.
 */
/** The git server Deployment's pod spec (what state.ts compares the live one with). */
export function gitServerPodSpec() {
  const deployment = gitServerObjects()[1] as {
    spec: { template: { spec: Json & { securityContext: { runAsUser: number } } } };
  };
  return deployment.spec.template.spec;
}

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
            containers: [
              {
                name: "soft-serve",
                image: GIT_SERVER.image,
                env: [
                  // Anonymous pushes: the port is published on 127.0.0.1 only, and nothing
                  // here is secret; no credential to generate, store or leak. Since 0.12 these
                  // two override the settings stored in the server's database on every read.
                  { name: "SOFT_SERVE_ANON_ACCESS", value: "read-write" },
                  { name: "SOFT_SERVE_ALLOW_KEYLESS", value: "true" },
                  { name: "SOFT_SERVE_HTTP_LISTEN_ADDR", value: `:${GIT_SERVER.httpPort}` },
                  { name: "SOFT_SERVE_HTTP_PUBLIC_URL", value: GIT_SERVER.hostUrl },
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
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  privileged: false,
                  runAsNonRoot: true,
                  capabilities: { drop: ["ALL"] },
                },
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
  ];
}

export const asList = (items: Json[]): Json => ({ apiVersion: "v1", kind: "List", items });
