// Detecting what exists: cluster, images, Argo CD, the Secret, the git server, the root
// Application. Every question is a read-only tool call; a failed call means "unknown".
import { allReady, parseApplications } from "./apps.ts";
import { registryImageQuery } from "./existing-cluster.ts";
import { readHelpers, tokenStored } from "./git-credential.ts";
import { gitServerPodSpec, isSubset, wantedProjects } from "./manifests.ts";
import { ARGOCD, gitServerHostUrl, ROOT_APP } from "./names.ts";
import type { Desired, State } from "./plan.ts";
import { clusterQueries } from "./queries.ts";
import { exec } from "./run.ts";

export async function detectState(
  root: string,
  want: Desired,
  argocdValues: unknown,
  dockerReachable: boolean,
  clusterRemoteUrl: string | undefined,
): Promise<State> {
  if (want.target)
    return detectExistingCluster(root, want, argocdValues, dockerReachable, clusterRemoteUrl);
  const state: State = { images: {}, clusterRemoteUrl };
  if (want.delivery.mode === "local") {
    state.pushTokenStored = tokenStored(want.pushTokenFile, gitServerHostUrl());
    state.clusterRemoteHelpers = await readHelpers(root, gitServerHostUrl());
  }
  if (!dockerReachable) return state;
  const run = (argv: string[]) => exec({ argv }, { cwd: root });

  const clusters = await run(["kind", "get", "clusters"]);
  if (clusters.code !== 0) return state;
  state.cluster = clusters.stdout.split("\n").some((line) => line.trim() === want.clusterName);

  const nodes = state.cluster
    ? (await run(["kind", "get", "nodes", "--name", want.clusterName])).stdout
        .split("\n")
        .map((n) => n.trim())
        .filter(Boolean)
    : [];
  if (state.cluster) {
    const [running, contexts] = await Promise.all([
      Promise.all(
        nodes.map((node) => run(["docker", "inspect", "--format", "{{.State.Running}}", node])),
      ),
      run(clusterQueries(want.context).contexts),
    ]);
    state.stoppedNodes = nodes.filter((_, i) => running[i]?.stdout.trim() === "false");
    if (contexts.code === 0) {
      state.kubeContext = contexts.stdout.split("\n").some((c) => c.trim() === want.context);
    }
    // Nothing inside a stopped or unreachable cluster can be read yet: up.ts detects again
    // after the cluster step has run.
    if (state.stoppedNodes.length > 0 || state.kubeContext === false) return state;
  }
  const loadedPerNode = await Promise.all(nodes.map((node) => imagesOnNode(root, node)));
  await Promise.all(
    want.images.map(async (image) => {
      const inspect = await run(["docker", "image", "inspect", "--format", "{{.Id}}", image.ref]);
      const loaded = state.cluster
        ? loadedPerNode.length > 0 &&
          loadedPerNode.every((tags) => tags?.has(`docker.io/${image.ref}`) === true)
        : false;
      state.images[image.ref] = { built: inspect.code === 0, loaded };
    }),
  );
  if (!state.cluster) {
    state.argocd = { deployed: false, valuesMatch: false };
    state.monitoringNamespace = false;
    state.grafanaSecret = false;
    state.gitServer = false;
    state.projects = "differs";
    state.rootApp = "absent";
    state.appsReady = false;
    return state;
  }

  await readCluster(root, want, argocdValues, state);
  return state;
}

/**
 * An existing cluster (`up.ts --context`): no kind, images live in the registry. Docker being
 * unreachable only hides the images; the cluster is asked all the same.
 */
async function detectExistingCluster(
  root: string,
  want: Desired,
  argocdValues: unknown,
  dockerReachable: boolean,
  clusterRemoteUrl: string | undefined,
): Promise<State> {
  const state: State = { images: {}, clusterRemoteUrl, cluster: true };
  const run = (argv: string[]) => exec({ argv }, { cwd: root, timeoutMs: 30_000 });
  if (dockerReachable) {
    await Promise.all(
      want.images.map(async (image) => {
        const inspect = await run(registryImageQuery(image.ref));
        state.images[image.ref] = { pushed: inspect.code === 0 };
      }),
    );
  }
  const secret = await run(clusterQueries(want.context).objectStorageSecret);
  if (secret.code === 0) state.objectStorageSecret = secret.stdout.trim() !== "";
  await readCluster(root, want, argocdValues, state);
  return state;
}

/** Argo CD, the Secrets, the git server and the Applications, as the cluster reports them. */
async function readCluster(
  root: string,
  want: Desired,
  argocdValues: unknown,
  state: State,
): Promise<void> {
  const run = (argv: string[]) => exec({ argv }, { cwd: root });
  const ask = clusterQueries(want.context);
  const [releases, namespace, secret, gitServer, projects, rootApp, apps] = await Promise.all([
    run(ask.helmReleases),
    run(ask.monitoringNamespace),
    run(ask.grafanaSecret),
    run(ask.gitServer),
    run(ask.projects),
    run(ask.rootApp),
    run(ask.applications),
  ]);

  if (releases.code === 0) {
    const list = JSON.parse(releases.stdout || "[]") as {
      name: string;
      status: string;
      chart: string;
    }[];
    const release = list.find((r) => r.name === ARGOCD.release);
    if (release?.status !== "deployed") {
      state.argocd = { deployed: false, chart: release?.chart, valuesMatch: false };
    } else {
      const values = await run(ask.helmValues);
      const live = values.code === 0 ? JSON.parse(values.stdout || "null") : undefined;
      state.argocd = {
        deployed: true,
        chart: release.chart,
        valuesMatch: live !== undefined && Bun.deepEquals(live ?? {}, argocdValues ?? {}),
      };
    }
  }
  if (namespace.code === 0) state.monitoringNamespace = namespace.stdout.trim() !== "";
  if (secret.code === 0) state.grafanaSecret = secret.stdout.trim() !== "";
  if (gitServer.code === 0) {
    const deployment = gitServer.stdout.trim() ? JSON.parse(gitServer.stdout) : undefined;
    const live = deployment?.spec?.template?.spec;
    const wanted = gitServerPodSpec();
    state.gitServerSpec = !live ? undefined : isSubset(wanted, live) ? "matches" : "differs";
    state.gitServer =
      state.gitServerSpec === "matches" && (deployment?.status?.readyReplicas ?? 0) > 0;
  }
  if (state.gitServer && want.delivery.mode === "local") {
    const branch = want.branch ?? want.delivery.revision;
    const remote = await exec(
      { argv: ["git", "ls-remote", gitServerHostUrl(), `refs/heads/${branch}`] },
      { cwd: root, timeoutMs: 10_000, env: { GIT_TERMINAL_PROMPT: "0" } },
    );
    if (remote.code === 0)
      state.gitServerCommit = remote.stdout.split("\t")[0]?.trim() || undefined;
  }
  if (projects.code === 0) {
    type Project = { metadata: { name: string }; spec?: unknown };
    const live = (JSON.parse(projects.stdout || "{}").items ?? []) as Project[];
    const wanted = wantedProjects(want) as Project[];
    const applied = wanted.every((w) =>
      isSubset(w.spec, live.find((l) => l.metadata.name === w.metadata.name)?.spec),
    );
    state.projects = applied ? "matches" : "differs";
  } else if (/doesn't have a resource type|no matches for kind/.test(projects.stderr)) {
    state.projects = "differs"; // Argo CD's CRDs are not installed yet
  }
  if (rootApp.code === 0) {
    const live = rootApp.stdout.trim() ? JSON.parse(rootApp.stdout) : undefined;
    state.rootApp = !live
      ? "absent"
      : isSubset((want.rootApp as { spec: unknown }).spec, live.spec)
        ? "matches"
        : "differs";
  } else if (/doesn't have a resource type|no matches for kind/.test(rootApp.stderr)) {
    state.rootApp = "absent"; // Argo CD's CRDs are not installed yet
  }
  if (apps.code === 0) state.appsReady = allReady(parseApplications(apps.stdout), ROOT_APP.name);
}

/** Image references in a kind node's containerd (`crictl images -o json`), or undefined. */
async function imagesOnNode(root: string, node: string): Promise<Set<string> | undefined> {
  const listed = await exec(
    { argv: ["docker", "exec", node, "crictl", "images", "-o", "json"] },
    { cwd: root },
  );
  if (listed.code !== 0) return undefined;
  const parsed = JSON.parse(listed.stdout) as { images?: { repoTags?: string[] }[] };
  return new Set((parsed.images ?? []).flatMap((image) => image.repoTags ?? []));
}
