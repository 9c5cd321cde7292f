// Stand-ins for docker, kind, kubectl and helm used by the bootstrap tests: each call is
// recorded (FAKE_LOG, one JSON argv per line) and answered in the real tool's output format
// from a JSON state file (FAKE_STATE) that the calls also change, like the real cluster would.
// Usage (from a shim on PATH): bun fake-tools.ts <tool> <args...>
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";

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

/** Children only the cluster profile renders (gitops/apps/templates/seaweedfs.yaml). */
export const CLUSTER_ONLY_APPS = ["seaweedfs"];
/** The app-of-apps' children in the cluster profile: one template per child Application. */
export const CLUSTER_CHILD_APPS = readdirSync(join(import.meta.dir, "../../gitops/apps/templates"))
  .filter((file) => file.endsWith(".yaml"))
  .map((file) => file.slice(0, -".yaml".length))
  .sort();
/** The laptop profile's children. */
export const CHILD_APPS = CLUSTER_CHILD_APPS.filter((app) => !CLUSTER_ONLY_APPS.includes(app));

/** The children the applied root Application's profile renders. */
function childApps(s: FakeState): string[] {
  const source = (
    s.rootApp?.spec as { source?: { helm?: { valuesObject?: { profile?: string } } } }
  )?.source;
  return source?.helm?.valuesObject?.profile === "cluster" ? CLUSTER_CHILD_APPS : CHILD_APPS;
}

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

/** hold: keep running after the output until a signal, like `kubectl port-forward`. */
type Answer = { out?: string; err?: string; code?: number; hold?: boolean };
const DAEMON_DOWN =
  "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?";

function flag(args: string[], ...names: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? "";
    for (const name of names) {
      if (a === name) return args[i + 1];
      if (a.startsWith(`${name}=`)) return a.slice(name.length + 1);
    }
  }
  return undefined;
}

function docker(s: FakeState, args: string[]): Answer {
  const [cmd, sub] = args;
  if (cmd === "version") {
    return s.dockerRunning
      ? { out: `${s.versions.docker}\n` }
      : { out: `${s.versions.docker}\n`, err: `${DAEMON_DOWN}\n`, code: 1 };
  }
  // The CLI looks for its plugins before it talks to the daemon.
  if (cmd === "buildx" && s.buildxMissing)
    return { err: "docker: 'buildx' is not a docker command.\nSee 'docker --help'\n", code: 1 };
  if (!s.dockerRunning) return { err: `${DAEMON_DOWN}\n`, code: 1 };
  if (cmd === "info") return { out: `${s.versions.docker}\n` };
  if (cmd === "buildx") return buildx(s, args.slice(1));
  if (cmd === "image" && sub === "inspect") {
    const ref = args.at(-1) ?? "";
    return s.images.includes(ref)
      ? { out: `sha256:${Bun.hash(ref).toString(16).padStart(16, "0")}\n` }
      : { out: "\n", err: `Error response from daemon: No such image: ${ref}\n`, code: 1 };
  }
  if (cmd === "build") {
    const ref = flag(args, "--tag", "-t") ?? "";
    s.images.push(ref);
    return {
      err: `#0 building with "default" instance using docker driver\n#12 naming to docker.io/${ref} done\n`,
    };
  }
  if (cmd === "inspect") {
    const node = args.at(-1) ?? "";
    if (!s.clusters.some((c) => node === `${c}-control-plane`)) {
      return { out: "\n", err: `Error: No such object: ${node}\n`, code: 1 };
    }
    return { out: `${!s.stoppedNodes?.includes(node)}\n` };
  }
  if (cmd === "start") {
    s.stoppedNodes = (s.stoppedNodes ?? []).filter((n) => !args.includes(n));
    return { out: `${args.slice(1).join("\n")}\n` };
  }
  if (cmd === "exec" && args.includes("crictl")) {
    const node = args[1] ?? "";
    if (!s.clusters.some((c) => node === `${c}-control-plane`)) {
      return { err: `Error response from daemon: No such container: ${node}\n`, code: 1 };
    }
    const images = s.loaded.map((tag, i) => ({
      id: `sha256:${i}`,
      repoTags: [tag],
      repoDigests: [],
      size: "52428800",
      uid: null,
      username: "",
      spec: null,
      pinned: false,
    }));
    return { out: `${JSON.stringify({ images }, null, 2)}\n` };
  }
  return { err: `fake docker: unsupported ${args.join(" ")}\n`, code: 2 };
}

function buildx(s: FakeState, args: string[]): Answer {
  const [cmd, sub] = args;
  if (cmd === "version") return { out: "github.com/docker/buildx v0.29.1 a1b2c3d4\n" };
  if (cmd === "imagetools" && sub === "inspect") {
    const ref = args.at(-1) ?? "";
    const platforms = s.pushed?.[ref];
    if (!platforms) return { err: `ERROR: ${ref}: not found\n`, code: 1 };
    return {
      out: `Name:      ${ref}\nMediaType: application/vnd.oci.image.index.v1+json\nDigest:    sha256:${Bun.hash(ref).toString(16).padStart(64, "0")}\n\nManifests:\n${platforms
        .map(
          (p) =>
            `  Name:      ${ref}@sha256:${Bun.hash(ref + p)
              .toString(16)
              .padStart(
                64,
                "0",
              )}\n  MediaType: application/vnd.oci.image.manifest.v1+json\n  Platform:  ${p}\n`,
        )
        .join("\n")}`,
    };
  }
  if (cmd === "build") {
    const ref = flag(args, "--tag", "-t") ?? "";
    const platforms = (flag(args, "--platform") ?? "linux/amd64").split(",");
    if (!args.includes("--push"))
      return { err: "fake docker buildx: only --push builds are modelled\n", code: 2 };
    const host = ref.split("/")[0] ?? "";
    if (s.refusingRegistries?.includes(host)) {
      return {
        err: `#12 ERROR: failed to push ${ref}: unexpected status from HEAD request to https://${host}/v2/: 401 Unauthorized\nERROR: failed to solve: failed to push ${ref}: unauthorized: authentication required\n`,
        code: 1,
      };
    }
    s.pushed = { ...s.pushed, [ref]: platforms };
    return {
      err: `#0 building with "default" instance using docker-container driver\n#15 pushing layers done\n#15 pushing manifest for ${ref} done\n`,
    };
  }
  return { err: `fake docker buildx: unsupported ${args.join(" ")}\n`, code: 2 };
}

function kind(s: FakeState, args: string[]): Answer {
  const name = flag(args, "--name") ?? "kind";
  const [cmd, what] = args;
  if (cmd === "version") return { out: `kind v${s.versions.kind} go1.24.6 linux/amd64\n` };
  if (!s.dockerRunning) {
    return {
      err: `ERROR: failed to list clusters: command "docker ps -a" failed: ${DAEMON_DOWN}\n`,
      code: 1,
    };
  }
  if (cmd === "get" && what === "clusters") {
    return s.clusters.length
      ? { out: `${s.clusters.join("\n")}\n` }
      : { err: "No kind clusters found.\n" };
  }
  if (cmd === "get" && what === "nodes") {
    return s.clusters.includes(name)
      ? { out: `${name}-control-plane\n` }
      : { err: `No kind nodes found for cluster "${name}".\n` };
  }
  if (cmd === "create" && what === "cluster") {
    if (s.clusters.includes(name)) {
      return {
        err: `ERROR: failed to create cluster: node(s) already exist for a cluster with the name "${name}"\n`,
        code: 1,
      };
    }
    s.clusters.push(name);
    return {
      err: `Creating cluster "${name}" ...\n ✓ Ensuring node image (kindest/node:v1.36.1) 🖼\nSet kubectl context to "kind-${name}"\n`,
    };
  }
  if (cmd === "load" && what === "docker-image") {
    const ref = args[2] ?? "";
    if (!s.images.includes(ref)) {
      return { err: `ERROR: image: "${ref}" not present locally\n`, code: 1 };
    }
    s.loaded.push(`docker.io/${ref}`);
    return {
      err: `Image: "${ref}" with ID "sha256:1" not yet present on node "${name}-control-plane", loading...\n`,
    };
  }
  if (cmd === "export" && what === "kubeconfig") {
    s.lostContexts = (s.lostContexts ?? []).filter((c) => c !== name);
    return { err: `Set kubectl context to "kind-${name}"\n` };
  }
  if (cmd === "delete" && what === "cluster") {
    s.clusters = s.clusters.filter((c) => c !== name);
    s.loaded = [];
    return { err: `Deleting cluster "${name}" ...\nDeleted nodes: ["${name}-control-plane"]\n` };
  }
  return { err: `fake kind: unsupported ${args.join(" ")}\n`, code: 2 };
}

/**
 * kubectl 1.34 when the API server does not answer: `get` and friends log the failed discovery
 * (klog lines) before the one-line message, `version` prints only the message.
 */
function unreachableAnswer(url: string, cause: string, message: string, verb?: string): Answer {
  const klog = `E1129 20:31:57.379191   19740 memcache.go:265] "Unhandled Error" err="couldn't get current server API group list: Get \\"${url}/api?timeout=32s\\": ${cause}"\n`;
  return { err: `${verb === "version" ? "" : klog.repeat(5)}${message}\n`, code: 1 };
}

function contextError(
  s: FakeState,
  context: string | undefined,
  verb?: string,
): Answer | undefined {
  const existing = context ? s.existing?.[context] : undefined;
  if (existing) {
    const cause = "dial tcp: lookup api.staging.example.test on 127.0.0.53:53: no such host";
    return existing.unreachable
      ? unreachableAnswer(
          "https://api.staging.example.test:6443",
          cause,
          `Unable to connect to the server: ${cause}`,
          verb,
        )
      : undefined;
  }
  const cluster = context?.replace(/^kind-/, "");
  const unreachable = s.stoppedNodes?.includes(`${cluster}-control-plane`);
  if (unreachable) {
    return unreachableAnswer(
      "https://127.0.0.1:39333",
      "dial tcp 127.0.0.1:39333: connect: connection refused",
      "The connection to the server 127.0.0.1:39333 was refused - did you specify the right host or port?",
      verb,
    );
  }
  if (
    !cluster ||
    !s.clusters.includes(cluster) ||
    !s.dockerRunning ||
    s.lostContexts?.includes(cluster)
  ) {
    return { err: `error: context "${context}" does not exist\n`, code: 1 };
  }
  return undefined;
}

function application(name: string, s: FakeState): Record<string, unknown> {
  const degraded = name === s.degradedApp;
  const phase = s.polls <= 1 ? "missing" : s.polls === 2 ? "progressing" : "done";
  const sync = phase === "missing" ? "OutOfSync" : "Synced";
  const health =
    degraded && phase === "done"
      ? "Degraded"
      : phase === "missing"
        ? "Missing"
        : phase === "progressing"
          ? "Progressing"
          : "Healthy";
  const resources =
    name === "root"
      ? childApps(s).map((child) => ({
          group: "argoproj.io",
          version: "v1alpha1",
          kind: "Application",
          namespace: "argocd",
          name: child,
          status: "Synced",
          health: { status: child === s.degradedApp && phase === "done" ? "Degraded" : health },
        }))
      : [
          {
            group: "apps",
            version: "v1",
            kind: "Deployment",
            namespace: name === "api-gateway" || name === "user-service" ? "apps" : "monitoring",
            name,
            status: sync,
            health:
              degraded && phase === "done"
                ? {
                    status: "Degraded",
                    message: `Deployment "${name}" exceeded its progress deadline`,
                  }
                : { status: health },
          },
        ];
  const rootDegraded = name === "root" && s.degradedApp && phase === "done";
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Application",
    metadata: { name, namespace: "argocd" },
    spec: name === "root" ? (s.rootApp?.spec ?? {}) : { project: "observability" },
    status: {
      sync: { status: sync, revision: "0123456789abcdef0123456789abcdef01234567" },
      health: { status: rootDegraded ? "Degraded" : health },
      operationState: {
        phase: phase === "missing" ? "Running" : "Succeeded",
        message: "successfully synced (all tasks run)",
      },
      resources,
    },
  };
}

async function kubectl(s: FakeState, args: string[], stdin: string): Promise<Answer> {
  if (args[0] === "version") {
    return {
      out: `${JSON.stringify({ clientVersion: { major: "1", minor: s.versions.kubectl.split(".")[1], gitVersion: `v${s.versions.kubectl}`, platform: "linux/amd64" }, kustomizeVersion: "v5.7.1" }, null, 2)}\n`,
    };
  }
  if (args[0] === "config" && args[1] === "current-context") {
    return s.currentContext
      ? { out: `${s.currentContext}\n` }
      : { err: "error: current-context is not set\n", code: 1 };
  }
  if (args[0] === "config" && args[1] === "get-contexts") {
    return {
      out: [
        ...s.clusters.filter((c) => !s.lostContexts?.includes(c)).map((c) => `kind-${c}\n`),
        ...Object.keys(s.existing ?? {}).map((c) => `${c}\n`),
      ].join(""),
    };
  }
  const context = flag(args, "--context");
  const rest = args.filter((_, i) => args[i] !== "--context" && args[i - 1] !== "--context");
  const bad = contextError(s, context, rest[0]);
  if (bad) return bad;
  const ns = flag(rest, "-n", "--namespace") ?? "default";
  const [verb, kindName, name] = rest;
  const argoInstalled = s.helmRelease?.status === "deployed";
  const existing = context ? s.existing?.[context] : undefined;
  if (verb === "version") {
    const [, major = "1", minor = "0"] =
      /^v(\d+)\.(\d+)/.exec(existing?.version ?? "v1.36.0") ?? [];
    return {
      out: `${JSON.stringify({ clientVersion: { major: "1", minor: s.versions.kubectl.split(".")[1], gitVersion: `v${s.versions.kubectl}` }, kustomizeVersion: "v5.7.1", serverVersion: { major, minor, gitVersion: existing?.version ?? "v1.36.0", platform: "linux/amd64" } }, null, 2)}\n`,
    };
  }
  if (verb === "auth" && kindName === "can-i") {
    const resource = rest[3] ?? "";
    const no = existing?.denied?.some((d) => resource.startsWith(d));
    return no ? { out: "no\n", code: 1 } : { out: "yes\n" };
  }
  if (verb === "get" && kindName === "nodes") {
    const archs = existing?.nodes ?? ["amd64"];
    const items = archs.map((arch, i) => ({
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: `node-${i}`, labels: { "kubernetes.io/arch": arch } },
      status: {
        nodeInfo: {
          architecture: arch,
          operatingSystem: "linux",
          kubeletVersion: existing?.version,
        },
      },
    }));
    return { out: JSON.stringify({ apiVersion: "v1", kind: "List", items }) };
  }
  if (verb === "get" && kindName === "storageclasses") {
    const classes = existing?.storageClasses ?? [{ name: "standard", default: true }];
    const items = classes.map((sc) => ({
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: {
        name: sc.name,
        annotations: sc.default ? { "storageclass.kubernetes.io/is-default-class": "true" } : {},
      },
      provisioner: "rancher.io/local-path",
    }));
    return { out: JSON.stringify({ apiVersion: "v1", kind: "List", items }) };
  }
  if (verb === "port-forward") {
    const target = rest.find((a) => a.startsWith("svc/"))?.slice(4) ?? "";
    const ports = rest.find((a) => /^\d+:\d+$/.test(a)) ?? "";
    const [local, remote] = ports.split(":");
    if (s.busyPorts?.includes(Number(local))) {
      return {
        err: `Unable to listen on port ${local}: Listeners failed to create with the following errors: [unable to create listener: Error listen tcp4 127.0.0.1:${local}: bind: address already in use unable to create listener: Error listen tcp6 [::1]:${local}: bind: address already in use]\nerror: unable to listen on any of the requested ports: [{${local} ${remote}}]\n`,
        code: 1,
      };
    }
    if (!runningServices(s).includes(`${ns}/${target}`)) {
      return { err: `Error from server (NotFound): services "${target}" not found\n`, code: 1 };
    }
    return {
      out: `Forwarding from 127.0.0.1:${local} -> ${remote}\nForwarding from [::1]:${local} -> ${remote}\n`,
      hold: true,
    };
  }
  if (verb === "delete" && kindName?.startsWith("application") && !argoInstalled) {
    return { err: `error: the server doesn't have a resource type "applications"\n`, code: 1 };
  }
  if (verb === "delete") {
    const names = rest
      .slice(2)
      .filter(
        (a, i, all) => !a.startsWith("-") && !all[i - 1]?.match(/^(-n|--namespace|--timeout)$/),
      );
    const out: string[] = [];
    for (const n of names) {
      if (kindName?.startsWith("application") && n === "root" && s.rootApp) {
        s.rootApp = undefined;
        out.push(`application.argoproj.io "root" deleted from argocd namespace`);
      } else if (kindName === "namespace" && s.namespaces.includes(n)) {
        s.namespaces = s.namespaces.filter((x) => x !== n);
        s.secrets = s.secrets.filter((x) => !x.startsWith(`${n}/`));
        if (n === "argocd") s.projects = undefined;
        out.push(`namespace "${n}" deleted`);
      } else if (kindName === "secret" && s.secrets.includes(`${ns}/${n}`)) {
        s.secrets = s.secrets.filter((x) => x !== `${ns}/${n}`);
        out.push(`secret "${n}" deleted from ${ns} namespace`);
      } else if (!rest.includes("--ignore-not-found")) {
        return { err: `Error from server (NotFound): ${kindName} "${n}" not found\n`, code: 1 };
      }
    }
    return { out: out.map((l) => `${l}\n`).join("") };
  }
  if (verb === "get" && kindName === "namespaces") {
    const names = rest.slice(2).filter((a) => !a.startsWith("-") && a !== "name");
    return {
      out: names
        .filter((n) => s.namespaces.includes(n))
        .map((n) => `namespace/${n}\n`)
        .join(""),
    };
  }
  if (verb === "get" && kindName === "namespace") {
    return { out: s.namespaces.includes(name ?? "") ? `namespace/${name}\n` : "" };
  }
  if (verb === "get" && kindName === "secret") {
    return { out: s.secrets.includes(`${ns}/${name}`) ? `secret/${name}\n` : "" };
  }
  if (verb === "get" && kindName === "deployment") {
    const d = s.deployments[`${ns}/${name}`];
    if (!d) return { out: "" };
    return {
      out: JSON.stringify({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name, namespace: ns },
        spec: {
          template: { spec: d.podSpec ?? { containers: [{ name: "soft-serve", image: d.image }] } },
        },
        status: { replicas: 1, readyReplicas: 1, availableReplicas: 1 },
      }),
    };
  }
  if (verb === "get" && kindName?.startsWith("appproject")) {
    if (!argoInstalled) {
      return { err: `error: the server doesn't have a resource type "appprojects"\n`, code: 1 };
    }
    const items = Object.entries(s.projects ?? {}).map(([n, spec]) => ({
      apiVersion: "argoproj.io/v1alpha1",
      kind: "AppProject",
      metadata: { name: n, namespace: "argocd" },
      spec,
    }));
    return { out: JSON.stringify({ apiVersion: "v1", kind: "List", items }) };
  }
  if (verb === "get" && kindName?.startsWith("application")) {
    if (!argoInstalled) {
      return {
        err: `error: the server doesn't have a resource type "${kindName.split(".")[0]}"\n`,
        code: 1,
      };
    }
    if (name && name !== "-n" && !name.startsWith("-")) {
      return { out: name === "root" && s.rootApp ? JSON.stringify(application("root", s)) : "" };
    }
    if (s.appsQueryDelayMs) await Bun.sleep(s.appsQueryDelayMs);
    if (!s.rootApp) return { out: JSON.stringify({ apiVersion: "v1", kind: "List", items: [] }) };
    s.polls++;
    const names = ["root", ...(s.polls >= 1 ? childApps(s) : [])];
    return {
      out: JSON.stringify({
        apiVersion: "v1",
        kind: "List",
        items: names.map((n) => application(n, s)),
      }),
    };
  }
  if (verb === "create" && kindName === "namespace") {
    if (s.namespaces.includes(name ?? "")) {
      return {
        err: `Error from server (AlreadyExists): namespaces "${name}" already exists\n`,
        code: 1,
      };
    }
    s.namespaces.push(name ?? "");
    return { out: `namespace/${name} created\n` };
  }
  if ((verb === "create" || verb === "apply") && flag(rest, "-f") === "-") {
    const doc = JSON.parse(stdin) as {
      kind: string;
      metadata: { name: string; namespace?: string };
      items?: (typeof doc)[];
    };
    const objects = doc.kind === "List" ? (doc.items ?? []) : [doc];
    const out: string[] = [];
    for (const o of objects) {
      const key = `${o.metadata.namespace ?? "default"}/${o.metadata.name}`;
      if (o.kind === "Secret") {
        if (verb === "create" && s.secrets.includes(key)) {
          return {
            err: `Error from server (AlreadyExists): secrets "${o.metadata.name}" already exists\n`,
            code: 1,
          };
        }
        if (!s.namespaces.includes(o.metadata.namespace ?? "")) {
          return {
            err: `Error from server (NotFound): namespaces "${o.metadata.namespace}" not found\n`,
            code: 1,
          };
        }
        s.secrets.push(key);
      } else if (o.kind === "AppProject") {
        if (!argoInstalled) {
          return {
            err: `error: resource mapping not found for name: "${o.metadata.name}": no matches for kind "AppProject" in version "argoproj.io/v1alpha1"\n`,
            code: 1,
          };
        }
        // A merge patch of the spec, as kubectl apply sends for a custom resource: lists replace.
        const spec = (o as unknown as { spec: Record<string, unknown> }).spec;
        s.projects = {
          ...s.projects,
          [o.metadata.name]: { ...s.projects?.[o.metadata.name], ...spec },
        };
      } else if (o.kind === "Application") {
        if (!argoInstalled) {
          return {
            err: `error: resource mapping not found for name: "${o.metadata.name}": no matches for kind "Application" in version "argoproj.io/v1alpha1"\n`,
            code: 1,
          };
        }
        s.rootApp = o as unknown as Record<string, unknown>;
        s.polls = 0;
      } else if (o.kind === "Deployment") {
        const spec = (
          o as unknown as { spec: { template: { spec: { containers: { image: string }[] } } } }
        ).spec;
        s.deployments[key] = {
          image: spec.template.spec.containers[0]?.image ?? "",
          podSpec: spec.template.spec,
        };
        // The server starts with no repositories; Soft Serve creates one on the first push,
        // which a bare repository stands in for.
        if (s.gitServerDir && !existsSync(s.gitServerDir)) {
          mkdirSync(s.gitServerDir, { recursive: true });
          Bun.spawnSync(["git", "init", "-q", "--bare", s.gitServerDir]);
        }
      }
      out.push(
        `${o.kind.toLowerCase()}/${o.metadata.name} ${verb === "create" ? "created" : "configured"}`,
      );
    }
    return { out: `${out.join("\n")}\n` };
  }
  if (verb === "annotate") {
    const names = rest.includes("--all")
      ? s.rootApp
        ? ["root", ...childApps(s)]
        : []
      : [name ?? ""];
    return { out: names.map((n) => `application.argoproj.io/${n} annotated\n`).join("") };
  }
  if (verb === "exec") {
    // Soft Serve's `token create` run in the git server's pod (git-credential.ts): the token
    // on stdout, the notice on stderr (pkg/ssh/cmd/token.go, v0.12.2).
    const target = kindName ?? "";
    const script = rest.at(-1) ?? "";
    if (target !== "deployment/git-server" || ns !== "argocd")
      return { err: `fake kubectl: unsupported exec ${target}\n`, code: 2 };
    if (!s.deployments["argocd/git-server"]) {
      return {
        err: `Error from server (NotFound): deployments.apps "git-server" not found\n`,
        code: 1,
      };
    }
    if (!/ token create \S+$/.test(script))
      return { err: `fake kubectl: unsupported script ${script}\n`, code: 2 };
    if (s.gitServerSshNotReady) {
      s.gitServerSshNotReady--;
      return {
        err: "ssh: connect to host localhost port 23231: Connection refused\ncommand terminated with exit code 255\n",
        code: 255,
      };
    }
    const token = `ss_${Buffer.from(crypto.getRandomValues(new Uint8Array(20))).toString("hex")}`;
    s.gitServerTokens = [...(s.gitServerTokens ?? []), token];
    return { out: `${token}\n`, err: "Access token created\n" };
  }
  if (verb === "rollout" && kindName === "status") {
    return { out: `deployment "${name?.split("/")[1]}" successfully rolled out\n` };
  }
  return { err: `fake kubectl: unsupported ${args.join(" ")}\n`, code: 2 };
}

/** namespace/name of the Services that exist: Argo CD's, and the stack's once the root is applied. */
function runningServices(s: FakeState): string[] {
  return [
    ...(s.helmRelease?.status === "deployed" ? ["argocd/argocd-server"] : []),
    ...(s.rootApp
      ? [
          "monitoring/kube-prometheus-stack-grafana",
          "monitoring/kube-prometheus-stack-prometheus",
          "monitoring/loki-gateway",
          "monitoring/tempo",
          "apps/api-gateway",
          "apps/user-service",
        ]
      : []),
  ];
}

/** Maps merge, everything else replaces: helm's merge of several --values files. */
function mergeValues(base: unknown, over: unknown): unknown {
  const isMap = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isMap(base) || !isMap(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = mergeValues(out[key], value);
  return out;
}

async function helm(s: FakeState, args: string[], cwd: string): Promise<Answer> {
  if (args[0] === "version") return { out: `v${s.versions.helm}+g05fa379\n` };
  const bad = contextError(s, flag(args, "--kube-context"), "version");
  if (bad) return { err: `Error: Kubernetes cluster unreachable: ${bad.err}`, code: 1 };
  if (args[0] === "list") {
    const r = s.helmRelease;
    return {
      out: `${JSON.stringify(r ? [{ name: "argocd", namespace: "argocd", revision: "1", updated: "2026-11-25 19:40:00.123456 +0000 UTC", status: r.status, chart: r.chart, app_version: "v3.4.4" }] : [])}\n`,
    };
  }
  if (args[0] === "get" && args[1] === "values") {
    return s.helmRelease
      ? { out: `${JSON.stringify(s.helmRelease.values)}\n` }
      : { err: "Error: release: not found\n", code: 1 };
  }
  if (args[0] === "upgrade" && args.includes("--install")) {
    const valuesPaths = args.flatMap((a, i) =>
      a === "--values" || a === "-f" ? [args[i + 1] ?? ""] : [],
    );
    const values = valuesPaths
      .map((path) => Bun.YAML.parse(readFileSync(resolve(cwd, path), "utf8")))
      .reduce((merged: unknown, next) => mergeValues(merged, next), {});
    const installing = !s.helmRelease;
    s.helmRelease = { chart: `argo-cd-${flag(args, "--version")}`, status: "deployed", values };
    s.namespaces.push("argocd");
    // argocd-server creates `default`, allowing everything, when it is missing
    // (server/server.go initializeDefaultProject, Argo CD v3.4.4).
    s.projects = {
      default: {
        sourceRepos: ["*"],
        destinations: [{ server: "*", namespace: "*" }],
        clusterResourceWhitelist: [{ group: "*", kind: "*" }],
      },
      ...s.projects,
    };
    return {
      out: `${installing ? 'Release "argocd" does not exist. Installing it now.\n' : ""}NAME: argocd\nLAST DEPLOYED: Wed Nov 25 19:40:00 2026\nNAMESPACE: argocd\nSTATUS: deployed\nREVISION: 1\n`,
    };
  }
  if (args[0] === "uninstall") {
    if (!s.helmRelease)
      return { err: "Error: uninstall: Release not loaded: argocd: release: not found\n", code: 1 };
    s.helmRelease = undefined;
    return { out: 'release "argocd" uninstalled\n' };
  }
  return { err: `fake helm: unsupported ${args.join(" ")}\n`, code: 2 };
}

if (import.meta.main) {
  const [tool = "", ...args] = Bun.argv.slice(2);
  const statePath = process.env.FAKE_STATE ?? "";
  appendFileSync(process.env.FAKE_LOG ?? "/dev/null", `${JSON.stringify([tool, ...args])}\n`);
  const before = readFileSync(statePath, "utf8");
  const state = JSON.parse(before) as FakeState;
  const needsStdin = tool === "kubectl" && args.includes("-f");
  const stdin = needsStdin ? await Bun.stdin.text() : "";
  const answer: Answer =
    tool === "docker"
      ? docker(state, args)
      : tool === "kind"
        ? kind(state, args)
        : tool === "kubectl"
          ? await kubectl(state, args, stdin)
          : await helm(state, args, process.cwd());
  // Only calls that change something write: read-only calls run concurrently.
  const after = JSON.stringify(state, null, 2);
  if (after !== JSON.stringify(JSON.parse(before), null, 2)) writeFileSync(statePath, after);
  // Bun.write, not process.stdout: a Node stream costs each call ~10 ms to set up, and the
  // bootstrap tests make hundreds of these calls.
  if (answer.out) await Bun.write(Bun.stdout, answer.out);
  if (answer.err) await Bun.write(Bun.stderr, answer.err);
  if (answer.hold) {
    // Like kubectl port-forward: serve until interrupted, then exit quietly.
    for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(0));
    setInterval(() => {}, 60_000);
  } else process.exit(answer.code ?? 0);
}

/** Writes executable shims for the tools into `dir`; the omitted ones stay missing. */
export function writeShims(
  dir: string,
  tools: string[] = ["docker", "kind", "kubectl", "helm"],
): void {
  mkdirSync(dir, { recursive: true });
  const bun = process.execPath;
  for (const tool of tools) {
    const path = join(dir, tool);
    writeFileSync(path, `#!/bin/sh\nexec "${bun}" "${import.meta.path}" ${tool} "$@"\n`, {
      mode: 0o755,
    });
  }
}

export const readState = (path: string) => JSON.parse(readFileSync(path, "utf8")) as FakeState;
export const writeState = (path: string, state: FakeState) =>
  writeFileSync(path, JSON.stringify(state, null, 2));
export const readCalls = (path: string): string[][] =>
  existsSync(path)
    ? readFileSync(path, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : [];
