// The stand-in world the fake tools share: one JSON file (FAKE_STATE) that every call reads
// and the calls that change something write back, like the real cluster would change.
export interface FakeState {
  dockerInstalled: boolean;
  dockerRunning: boolean;
  versions: { docker: string; kind: string; kubectl: string; helm: string };
  clusters: string[];
  images: string[];
  loaded: string[];
  helmRelease?: { chart: string; status: string; values: unknown };
  namespaces: string[];
  secrets: string[];
  /** Deployments by namespace/name: the pod spec as applied (an older one may lack fields). */
  deployments: Record<string, { image: string; podSpec?: Record<string, unknown> }>;
  rootApp?: Record<string, unknown>;
  /** AppProjects in argocd by name: their spec as last applied (argocd-server creates `default`). */
  projects?: Record<string, Record<string, unknown>>;
  /** Polls of `get applications` since the root Application was applied. */
  polls: number;
  /** kind node containers that are stopped (Docker restarted). */
  stoppedNodes?: string[];
  /** Clusters whose kubectl context was lost (kubeconfig replaced). */
  lostContexts?: string[];
  /** An Application that never becomes healthy (the timeout scenario). */
  degradedApp?: string;
  /** Where the in-cluster git server keeps repositories (a bare repo dir per path). */
  gitServerDir?: string;
  /** Push tokens the git server has minted (`token create` through `kubectl exec`). */
  gitServerTokens?: string[];
  /** `kubectl exec` calls that find the git server's SSH port not listening yet. */
  gitServerSshNotReady?: number;
  /** An API server under load: `get applications` answers only after this long. */
  appsQueryDelayMs?: number;
  /** Existing clusters by kube context (`up.ts --context`), none of them kind's. */
  existing?: Record<string, ExistingCluster>;
  /** Image references in registries, with the platforms each was built for. */
  pushed?: Record<string, string[]>;
  /** Registry hosts that refuse pushes (no login). */
  refusingRegistries?: string[];
  /** kubectl's current context (`kubectl config current-context`). */
  currentContext?: string;
  /** Local ports something else listens on (port-forward fails on them). */
  busyPorts?: number[];
  /** Docker without its buildx plugin (a distribution's docker.io package, say). */
  buildxMissing?: boolean;
  /** Containers by name (`docker run --name`), running or stopped. */
  containers?: Record<string, FakeContainer>;
  /** How many `docker exec … test -e /tmp/ready` checks a new container fails first (default 1). */
  containerStartChecks?: number;
  /** A new container exits while starting, leaving these log lines. */
  containerCrashLog?: string;
  /** Docker Hub cannot be reached: `docker pull` fails. */
  registryUnreachable?: boolean;
}

export interface FakeContainer {
  id: string;
  image: string;
  running: boolean;
  /** host address:port → container port, from --publish. */
  published: Record<string, number>;
  /** --volume host:container[:ro], --env NAME=value, --env-file path, as given. */
  volumes: string[];
  env: string[];
  envFiles: string[];
  /** Readiness checks made so far. */
  checks: number;
  logs: string;
}

export interface ExistingCluster {
  version: string;
  /** One architecture per node (amd64, arm64). */
  nodes: string[];
  storageClasses: { name: string; default: boolean }[];
  /** `resource` names `auth can-i create` answers "no" for. */
  denied?: string[];
  /** The API server does not answer (VPN down, wrong credentials). */
  unreachable?: boolean;
}

export const anExistingCluster = (overrides: Partial<ExistingCluster> = {}): ExistingCluster => ({
  version: "v1.35.4",
  nodes: ["amd64", "amd64", "arm64"],
  storageClasses: [
    { name: "standard", default: true },
    { name: "fast", default: false },
  ],
  ...overrides,
});

export function freshState(overrides: Partial<FakeState> = {}): FakeState {
  return {
    dockerInstalled: true,
    dockerRunning: true,
    versions: { docker: "28.2.2", kind: "0.32.0", kubectl: "1.36.1", helm: "4.1.4" },
    clusters: [],
    images: [],
    loaded: [],
    namespaces: ["default", "kube-system"],
    secrets: [],
    deployments: {},
    polls: 0,
    ...overrides,
  };
}

/** One tool's reply. hold: keep running after the output until a signal, like `kubectl port-forward`. */
export type Answer = { out?: string; err?: string; code?: number; hold?: boolean };

/** The value of `--name value` or `--name=value`, as the real tools parse them. */
export function flag(args: string[], ...names: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? "";
    for (const name of names) {
      if (a === name) return args[i + 1];
      if (a.startsWith(`${name}=`)) return a.slice(name.length + 1);
    }
  }
  return undefined;
}
