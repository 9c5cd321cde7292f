// kubectl against the kind clusters and existing clusters in the state: contexts, Argo CD's
// resources, Secrets, namespaces, port-forwards and the git server's pod.
import { application, childApps } from "./argocd.ts";
import { type Answer, type FakeState, flag } from "./state.ts";

/**
 * kubectl 1.34 when the API server does not answer: `get` and friends log the failed discovery
 * (klog lines) before the one-line message, `version` prints only the message.
 */
function unreachableAnswer(url: string, cause: string, message: string, verb?: string): Answer {
  const klog = `E1129 20:31:57.379191   19740 memcache.go:265] "Unhandled Error" err="couldn't get current server API group list: Get \\"${url}/api?timeout=32s\\": ${cause}"\n`;
  return { err: `${verb === "version" ? "" : klog.repeat(5)}${message}\n`, code: 1 };
}

/** Why a call to this context fails, as kubectl says it; undefined when it answers. */
export function contextError(
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

export async function kubectl(s: FakeState, args: string[], stdin: string): Promise<Answer> {
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
        // (git init makes the directory and its parents.)
        if (s.gitServerDir && !(await Bun.file(`${s.gitServerDir}/HEAD`).exists()))
          Bun.spawnSync(["git", "init", "-q", "--bare", s.gitServerDir]);
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
