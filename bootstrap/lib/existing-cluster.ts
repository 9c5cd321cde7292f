// Preflight for an existing cluster (`up.ts --context <ctx> --registry <prefix>`): read-only
// questions to the cluster and the local Docker configuration, each failure with its fix.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { CliError } from "../../cli/errors.ts";
import type { Problem } from "./preflight.ts";
import { type Command, exec, lastLine } from "./run.ts";

export interface ClusterReport {
  problems: Problem[];
  found: string[];
  /** Build platforms for the nodes, e.g. ["linux/amd64", "linux/arm64"]; empty if unknown. */
  platforms: string[];
  /** Worth knowing, not a failure. */
  notes: string[];
}

/** What bootstrap creates that needs more than namespace rights (Argo CD, the operator, the Collector). */
export const REQUIRED_RIGHTS = [
  ["create", "namespaces"],
  ["create", "customresourcedefinitions.apiextensions.k8s.io"],
  ["create", "clusterroles.rbac.authorization.k8s.io"],
  ["create", "clusterrolebindings.rbac.authorization.k8s.io"],
] as const;

/** The read-only questions, as data so a test can run them against the real kubectl. */
export function existingClusterQueries(context: string) {
  const kubectl = (...args: string[]) => ["kubectl", "--context", context, ...args];
  return {
    server: kubectl("version", "--output", "json", "--request-timeout", "10s"),
    rights: REQUIRED_RIGHTS.map(([verb, resource]) => kubectl("auth", "can-i", verb, resource)),
    nodes: kubectl("get", "nodes", "--output", "json"),
    storageClasses: kubectl("get", "storageclasses", "--output", "json"),
  };
}

/** `kubectl get nodes -o json` → sorted unique linux/<arch> platforms. */
export function nodePlatforms(nodesJson: string): string[] {
  const list = JSON.parse(nodesJson) as {
    items?: { status?: { nodeInfo?: { operatingSystem?: string; architecture?: string } } }[];
  };
  const platforms = (list.items ?? []).map(
    (node) =>
      `${node.status?.nodeInfo?.operatingSystem ?? "linux"}/${node.status?.nodeInfo?.architecture ?? "amd64"}`,
  );
  return [...new Set(platforms)].sort();
}

/** `kubectl get storageclasses -o json` → the default class's name, if one is marked. */
export function defaultStorageClass(json: string): string | undefined {
  const list = JSON.parse(json) as {
    items?: { metadata: { name: string; annotations?: Record<string, string> } }[];
  };
  return list.items?.find(
    (sc) =>
      sc.metadata.annotations?.["storageclass.kubernetes.io/is-default-class"] === "true" ||
      sc.metadata.annotations?.["storageclass.beta.kubernetes.io/is-default-class"] === "true",
  )?.metadata.name;
}

/** The registry host of an image prefix ("ghcr.io/acme" → "ghcr.io"). */
export const registryHost = (prefix: string) => prefix.split("/")[0] ?? prefix;

/** A registry on this machine (kind's local registry): no login needed. */
const isLocal = (host: string) => /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(host);

/**
 * Whether Docker has credentials for the registry: an entry in auths or credHelpers of
 * $DOCKER_CONFIG/config.json (~/.docker/config.json). A global credsStore hides which hosts
 * it knows, so it counts as "maybe" and the push itself is the test.
 */
export function dockerLogin(
  host: string,
  env: Record<string, string | undefined>,
): "yes" | "no" | "maybe" {
  if (isLocal(host)) return "yes";
  const file = join(env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), ".docker"), "config.json");
  if (!existsSync(file)) return "no";
  let config: {
    auths?: Record<string, unknown>;
    credHelpers?: Record<string, string>;
    credsStore?: string;
  };
  try {
    config = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return "no";
  }
  const keys = [...Object.keys(config.auths ?? {}), ...Object.keys(config.credHelpers ?? {})];
  if (keys.some((key) => key.replace(/^https?:\/\//, "").split("/")[0] === host)) return "yes";
  return config.credsStore ? "maybe" : "no";
}

export async function checkExistingCluster(
  root: string,
  context: string,
  registry: string,
  env: Record<string, string | undefined>,
): Promise<ClusterReport> {
  const report: ClusterReport = { problems: [], found: [], platforms: [], notes: [] };
  const ask = existingClusterQueries(context);
  const run = (argv: string[]) => exec({ argv }, { cwd: root, timeoutMs: 15_000 });

  const server = await run(ask.server);
  const version = server.code === 0 ? safeServerVersion(server.stdout) : undefined;
  if (!version) {
    report.problems.push({
      problem: `kube context ${context} does not answer (${lastLine(server.stderr) || `exit ${server.code}`})`,
      fix: `check it with \`kubectl --context ${context} get nodes\`: the context name (kubectl config get-contexts), your credentials, VPN or network`,
    });
    return report; // nothing else can be asked
  }
  report.found.push(`cluster ${context} (Kubernetes ${version})`);

  const [rights, nodes, classes] = await Promise.all([
    Promise.all(ask.rights.map(run)),
    run(ask.nodes),
    run(ask.storageClasses),
  ]);
  const denied = REQUIRED_RIGHTS.filter((_, i) => rights[i]?.stdout.trim() !== "yes").map(
    ([verb, resource]) => `${verb} ${resource.split(".")[0]}`,
  );
  if (denied.length > 0) {
    report.problems.push({
      problem: `your user on ${context} may not ${denied.join(", ")} (Argo CD, the Prometheus Operator and the Collector install cluster-wide objects)`,
      fix: `ask a cluster admin for cluster-admin or a role with those verbs; check with \`kubectl --context ${context} auth can-i create customresourcedefinitions\``,
    });
  } else report.found.push("rights to create namespaces, CRDs and cluster roles");

  if (nodes.code === 0) {
    report.platforms = nodePlatforms(nodes.stdout);
    report.found.push(
      `nodes: ${report.platforms.join(", ")}${report.platforms.length > 1 ? " (multi-arch images)" : ""}`,
    );
    if (report.platforms.length > 1) {
      report.notes.push(
        "a multi-platform build needs a buildx builder that can do it (Docker Desktop does; elsewhere `docker buildx create --use` and QEMU: docker run --privileged --rm tonistiigi/binfmt --install all)",
      );
    }
  } else {
    report.problems.push({
      problem: `cannot list the nodes of ${context} (${lastLine(nodes.stderr)}): their architectures decide the image platforms`,
      fix: `allow your user to list nodes (kubectl --context ${context} auth can-i list nodes)`,
    });
  }

  const defaultClass = classes.code === 0 ? defaultStorageClass(classes.stdout) : undefined;
  if (defaultClass) report.found.push(`default StorageClass ${defaultClass}`);
  else {
    report.problems.push({
      problem: `${context} has no default StorageClass: Prometheus, Alertmanager, Loki, Tempo and SeaweedFS claim volumes`,
      fix: `mark one as default: kubectl --context ${context} patch storageclass <name> -p '{"metadata":{"annotations":{"storageclass.kubernetes.io/is-default-class":"true"}}}' (list them with kubectl get storageclass)`,
    });
  }

  const host = registryHost(registry);
  const login = dockerLogin(host, env);
  if (login === "no") {
    report.problems.push({
      problem: `Docker has no credentials for ${host}, so pushing ${registry}/<service> would be refused`,
      fix: `docker login ${host}   (GitHub: a token with write:packages; cloud registries: their CLI's docker login helper)`,
    });
  } else {
    report.found.push(
      login === "yes"
        ? `registry ${host}: ${isLocal(host) ? "local, no login needed" : "logged in"}`
        : `registry ${host}: a credential store may hold the login; the push will tell`,
    );
  }
  return report;
}

function safeServerVersion(stdout: string): string | undefined {
  try {
    return (JSON.parse(stdout) as { serverVersion?: { gitVersion?: string } }).serverVersion
      ?.gitVersion;
  } catch {
    return undefined;
  }
}

/** Builds an image for the given platforms and pushes it to its registry in one go. */
export const buildxPush = (ref: string, dockerfile: string, platforms: string[]): Command => ({
  argv: [
    "docker",
    "buildx",
    "build",
    "--platform",
    platforms.join(","),
    "--tag",
    ref,
    "--file",
    dockerfile,
    "--push",
    ".",
  ],
});

/** Whether the registry holds an image (its manifest answers). */
export const registryImageQuery = (ref: string) => [
  "docker",
  "buildx",
  "imagetools",
  "inspect",
  ref,
];

/** release.ts --context --registry: the platforms to build for, read from the cluster's nodes. */
/** Both flags for an existing cluster, undefined for kind (neither); one alone is an error. */
export function checkRegistryPair(
  context: string | undefined,
  registry: string | undefined,
): { context: string; registry: string } | undefined {
  if (context === undefined && registry === undefined) return undefined;
  if (!context || !registry) {
    throw new CliError(
      "--context and --registry go together: the images go to the registry the cluster pulls from",
      "pass both, as for up.ts, e.g. --context my-cluster --registry ghcr.io/acme",
    );
  }
  return { context, registry };
}

export async function registryTarget(
  root: string,
  contextFlag: string | undefined,
  registryFlag: string | undefined,
): Promise<{ context: string; registry: string; platforms: string[] } | undefined> {
  const pair = checkRegistryPair(contextFlag, registryFlag);
  if (!pair) return undefined;
  const { context, registry } = pair;
  const nodes = await exec(
    { argv: existingClusterQueries(context).nodes },
    { cwd: root, timeoutMs: 15_000 },
  );
  if (nodes.code !== 0) {
    throw new CliError(
      `cannot read the nodes of ${context} (${lastLine(nodes.stderr) || `exit ${nodes.code}`})`,
      `check it with \`kubectl --context ${context} get nodes\`; their architectures decide the image platforms`,
    );
  }
  return {
    context,
    registry: registry.replace(/\/+$/, ""),
    platforms: nodePlatforms(nodes.stdout),
  };
}
