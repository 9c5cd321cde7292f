// The plan: which steps to take, with their exact commands, computed from the detected state.
// Pure (no I/O) so that "what would happen" is testable for every starting point.

import { buildxPush } from "./existing-cluster.ts";
import type { Delivery } from "./git.ts";
import { helperCommands, helperValues, mintTokenCommand } from "./git-credential.ts";
import {
  asList,
  gitServerObjects,
  grafanaSecret,
  objectStorageSecret,
  wantedProjects,
} from "./manifests.ts";
import {
  ARGOCD,
  GIT_SERVER,
  GRAFANA_SECRET,
  gitServerHostUrl,
  OBJECT_STORAGE_SECRET,
  PROJECTS,
  type Service,
} from "./names.ts";
import { clusterQueries } from "./queries.ts";
import type { Command } from "./run.ts";

export interface DesiredImage {
  service: Service;
  ref: string;
  dockerfile: string;
}

/** What the stack should look like, from flags, the repository and git. */
export interface Desired {
  clusterName: string;
  context: string;
  kindConfig: string;
  images: DesiredImage[];
  delivery: Delivery;
  branch?: string;
  head?: string;
  rootApp: Record<string, unknown>;
  /** Used only when the Secret is absent; never printed. */
  grafanaPassword: string;
  verify: boolean;
  /** The file holding the in-cluster git server's push token (git-credential.ts). */
  pushTokenFile: string;
  /** An existing cluster (`--context`, `--registry`) instead of kind. */
  target?: ExistingCluster;
}

export interface ExistingCluster {
  registry: string;
  /** The nodes' platforms (linux/amd64, ...): what the images are built for. */
  platforms: string[];
  /** Keys for the object-storage Secret, used only when it is absent; never printed. */
  objectStorageKeys: { accessKeyId: string; secretAccessKey: string };
}

/** What exists now. `undefined` means "could not tell" (e.g. Docker not reachable): act. */
export interface State {
  cluster?: boolean;
  /** Node containers that exist but are stopped (e.g. after Docker restarted). */
  stoppedNodes?: string[];
  /** kubectl has the cluster's context (kind writes it; a lost kubeconfig loses it). */
  kubeContext?: boolean;
  images: Record<string, { built?: boolean; loaded?: boolean; pushed?: boolean }>;
  argocd?: { deployed: boolean; chart?: string; valuesMatch: boolean };
  monitoringNamespace?: boolean;
  grafanaSecret?: boolean;
  /** The object-storage Secret exists (existing cluster only). */
  objectStorageSecret?: boolean;
  /** The git server Deployment exists, current and ready. */
  gitServer?: boolean;
  /** How the live git server's pod spec compares with the wanted one, when it exists. */
  gitServerSpec?: "matches" | "differs";
  clusterRemoteUrl?: string;
  /** The credential helpers this clone has for the git server's URL (git config --get-all). */
  clusterRemoteHelpers?: string[];
  /** A push token is stored for the git server (its file exists, mode 0600). */
  pushTokenStored?: boolean;
  gitServerCommit?: string;
  /** Whether every AppProject bootstrap owns is live with the wanted spec. */
  projects?: "matches" | "differs";
  rootApp?: "absent" | "differs" | "matches";
  appsReady?: boolean;
}

export interface Step {
  id: string;
  title: string;
  /** change: alters the machine or cluster; check: only reads (the wait, verify). */
  kind: "change" | "check";
  run: boolean;
  reason: string;
  commands: Command[];
  /** Each command's time limit: generous, so only a hang reaches it. */
  timeoutMs: number;
  /** Show the command's output as it runs (the long steps: builds, pulls, pushes). */
  streamOutput: boolean;
}

const MINUTE = 60_000;
/** Per-command limits of the long steps; the rest are quick kubectl/git calls. */
const STEP_LIMITS: Record<string, { timeoutMs: number; streamOutput: boolean }> = {
  cluster: { timeoutMs: 10 * MINUTE, streamOutput: true }, // kind create pulls the node image
  image: { timeoutMs: 20 * MINUTE, streamOutput: true }, // docker build, kind load
  argocd: { timeoutMs: 12 * MINUTE, streamOutput: true }, // helm --wait --timeout 10m, plus pulls
  "git-server": { timeoutMs: 5 * MINUTE, streamOutput: false }, // rollout status --timeout 180s
  "git-push": { timeoutMs: 2 * MINUTE, streamOutput: true },
};
const limitsFor = (id: string) =>
  STEP_LIMITS[id.startsWith("image-") ? "image" : id] ?? {
    timeoutMs: MINUTE,
    streamOutput: false,
  };

const dockerUnknown = "state unknown (Docker not reachable)";

function clusterStep(want: Desired, state: State): [string, string, boolean, string, Command[]] {
  const title = `kind cluster ${want.clusterName}`;
  if (state.cluster !== true) {
    const create = [
      "kind",
      "create",
      "cluster",
      "--name",
      want.clusterName,
      "--config",
      want.kindConfig,
      "--wait",
      "120s",
    ];
    const reason = state.cluster === false ? "does not exist: create it" : dockerUnknown;
    return ["cluster", title, true, reason, [{ argv: create }]];
  }
  const commands: Command[] = [];
  const reasons: string[] = [];
  if (state.stoppedNodes?.length) {
    commands.push({ argv: ["docker", "start", ...state.stoppedNodes] });
    reasons.push(`node ${state.stoppedNodes.join(", ")} stopped: start it`);
  }
  if (state.kubeContext === false) {
    commands.push({ argv: ["kind", "export", "kubeconfig", "--name", want.clusterName] });
    reasons.push(`kubectl has no context ${want.context}: export it`);
  }
  return ["cluster", title, commands.length > 0, reasons.join("; ") || "exists", commands];
}

export function plan(want: Desired, state: State): Step[] {
  const ctx = want.context;
  const steps: Step[] = [];
  const change = (id: string, title: string, run: boolean, reason: string, commands: Command[]) =>
    steps.push({
      id,
      title,
      kind: "change",
      run,
      reason,
      commands: run ? commands : [],
      ...limitsFor(id),
    });

  const target = want.target;
  // kind is asked through Docker; an existing cluster is asked directly.
  const unknown = target ? "state unknown (the cluster did not answer)" : dockerUnknown;
  if (!target) change(...clusterStep(want, state));

  for (const image of target ? [] : want.images) {
    const seen = state.images[image.ref] ?? {};
    const commands: Command[] = [];
    if (seen.built !== true) {
      commands.push({
        argv: ["docker", "build", "--tag", image.ref, "--file", image.dockerfile, "."],
      });
    }
    if (seen.loaded !== true) {
      commands.push({
        argv: ["kind", "load", "docker-image", image.ref, "--name", want.clusterName],
      });
    }
    const reason =
      seen.loaded === true
        ? "already loaded into the cluster"
        : seen.built === true
          ? "built, not loaded into the cluster yet"
          : seen.built === false
            ? "not built yet"
            : unknown;
    change(`image-${image.service}`, `image ${image.ref}`, commands.length > 0, reason, commands);
  }

  if (target) {
    for (const image of want.images) {
      const pushed = state.images[image.ref]?.pushed;
      change(
        `image-${image.service}`,
        `image ${image.ref}`,
        pushed !== true,
        pushed === true
          ? "already in the registry"
          : pushed === false
            ? `not in the registry: build for ${target.platforms.join(", ")} and push`
            : dockerUnknown,
        [buildxPush(image.ref, image.dockerfile, target.platforms)],
      );
    }
  }

  const argo = state.argocd;
  const wantedChart = `${ARGOCD.chart}-${ARGOCD.chartVersion}`;
  const argoCurrent = argo?.deployed && argo.chart === wantedChart && argo.valuesMatch;
  change(
    "argocd",
    `Argo CD (chart ${wantedChart})`,
    !argoCurrent,
    argo === undefined
      ? state.cluster === false
        ? "not installed"
        : unknown
      : !argo.deployed
        ? "not installed"
        : argo.chart !== wantedChart
          ? `installed chart ${argo.chart}: upgrade`
          : argo.valuesMatch
            ? `installed, ${ARGOCD.valuesFile} unchanged`
            : `${ARGOCD.valuesFile} changed: upgrade`,
    [
      {
        argv: [
          "helm",
          "upgrade",
          "--install",
          ARGOCD.release,
          ARGOCD.chart,
          "--repo",
          ARGOCD.repo,
          "--version",
          ARGOCD.chartVersion,
          "--namespace",
          ARGOCD.namespace,
          "--create-namespace",
          "--values",
          ARGOCD.valuesFile,
          ...(target ? ["--values", ARGOCD.clusterValuesFile] : []),
          "--kube-context",
          ctx,
          "--wait",
          "--timeout",
          "10m",
        ],
      },
    ],
  );

  const secretCommands: Command[] = [];
  if (state.monitoringNamespace !== true) {
    secretCommands.push({
      argv: ["kubectl", "--context", ctx, "create", "namespace", GRAFANA_SECRET.namespace],
    });
  }
  // `create`, not `apply`: it refuses to overwrite a Secret that appeared meanwhile.
  const createSecret = ["kubectl", "--context", ctx, "create", "-f", "-"];
  secretCommands.push({
    argv: createSecret,
    stdin: JSON.stringify(grafanaSecret(want.grafanaPassword)),
    display: `${createSecret.join(" ")}   # Secret ${GRAFANA_SECRET.namespace}/${GRAFANA_SECRET.name}, random password`,
  });
  change(
    "grafana-secret",
    `Grafana admin Secret ${GRAFANA_SECRET.namespace}/${GRAFANA_SECRET.name}`,
    state.grafanaSecret !== true,
    state.grafanaSecret === true
      ? "exists; never overwritten"
      : state.grafanaSecret === false || state.cluster === false
        ? "absent: create it with a random password"
        : unknown,
    secretCommands,
  );

  if (target) {
    const create = ["kubectl", "--context", ctx, "create", "-f", "-"];
    const { accessKeyId, secretAccessKey } = target.objectStorageKeys;
    change(
      "object-storage-secret",
      `object storage Secret ${OBJECT_STORAGE_SECRET.namespace}/${OBJECT_STORAGE_SECRET.name}`,
      state.objectStorageSecret !== true,
      state.objectStorageSecret === true
        ? "exists; never overwritten"
        : state.objectStorageSecret === false
          ? "absent: create it with random keys (the bundled SeaweedFS accepts them)"
          : unknown,
      [
        {
          argv: create,
          stdin: JSON.stringify(objectStorageSecret(accessKeyId, secretAccessKey)),
          display: `${create.join(" ")}   # Secret ${OBJECT_STORAGE_SECRET.namespace}/${OBJECT_STORAGE_SECRET.name}, random S3 keys`,
        },
      ],
    );
  }

  if (want.delivery.mode === "local") {
    const apply = ["kubectl", "--context", ctx, "apply", "-f", "-"];
    change(
      "git-server",
      `in-cluster git server (${GIT_SERVER.image})`,
      state.gitServer !== true,
      state.gitServer === true
        ? "running"
        : state.gitServerSpec === "differs"
          ? "its spec changed: apply"
          : state.gitServerSpec === "matches"
            ? "not ready yet: wait for it"
            : state.gitServer === false || state.cluster === false
              ? "not deployed"
              : unknown,
      [
        {
          argv: apply,
          stdin: JSON.stringify(asList(gitServerObjects())),
          display: `${apply.join(" ")}   # PVC, Deployment, Service, NetworkPolicy ${GIT_SERVER.namespace}/${GIT_SERVER.name}`,
        },
        {
          argv: [
            "kubectl",
            "--context",
            ctx,
            "rollout",
            "status",
            `deployment/${GIT_SERVER.name}`,
            "--namespace",
            GIT_SERVER.namespace,
            "--timeout",
            "180s",
          ],
        },
      ],
    );
    // A token belongs to one server's database: a server that did not exist before this run
    // (a new cluster) has never seen the stored one, so it gets a new one.
    const newServer = state.gitServerSpec === undefined;
    change(
      "git-credential",
      `push token for ${GIT_SERVER.remote} (${want.pushTokenFile})`,
      !state.pushTokenStored || newServer,
      !state.pushTokenStored
        ? "none stored: mint one in the git server"
        : newServer
          ? "the git server is new: mint a new one"
          : "stored, kept",
      [mintTokenCommand(ctx)],
    );
    const url = gitServerHostUrl();
    const remoteOk = state.clusterRemoteUrl === url;
    const helpersOk = Bun.deepEquals(state.clusterRemoteHelpers, helperValues(want.pushTokenFile));
    change(
      "git-remote",
      `git remote ${GIT_SERVER.remote} → ${url}`,
      !remoteOk || !helpersOk,
      remoteOk && helpersOk
        ? "already added, with its credential helper"
        : remoteOk
          ? "added; point its credential helper at the push token"
          : state.clusterRemoteUrl
            ? `points at ${state.clusterRemoteUrl}: repoint it`
            : "absent: add it",
      [
        ...(remoteOk
          ? []
          : [
              {
                argv: state.clusterRemoteUrl
                  ? ["git", "remote", "set-url", GIT_SERVER.remote, url]
                  : ["git", "remote", "add", GIT_SERVER.remote, url],
              },
            ]),
        ...helperCommands(url, want.pushTokenFile),
      ],
    );
    const branch = want.branch ?? want.delivery.revision;
    change(
      "git-push",
      `push ${branch} to ${GIT_SERVER.remote}`,
      !want.head || state.gitServerCommit !== want.head,
      state.gitServerCommit === want.head
        ? `${GIT_SERVER.remote}/${branch} is at HEAD`
        : state.gitServerCommit
          ? `${GIT_SERVER.remote}/${branch} is at ${state.gitServerCommit.slice(0, 12)}: push HEAD`
          : `${GIT_SERVER.remote} has no ${branch} yet`,
      [
        {
          argv: ["git", "push", GIT_SERVER.remote, `HEAD:refs/heads/${branch}`],
          // A refused token fails the push instead of asking on the terminal.
          env: { GIT_TERMINAL_PROMPT: "0" },
        },
      ],
    );
  }

  const applyProjects = ["kubectl", "--context", ctx, "apply", "-f", "-"];
  change(
    "projects",
    `AppProjects ${PROJECTS.root} and ${PROJECTS.stack}, ${PROJECTS.default} locked`,
    state.projects !== "matches",
    state.projects === "matches"
      ? "applied, unchanged"
      : state.projects === "differs" || state.cluster === false
        ? "absent or changed: apply"
        : unknown,
    [
      {
        argv: applyProjects,
        stdin: JSON.stringify(asList(wantedProjects(want))),
        display: `${applyProjects.join(" ")}   # AppProjects ${PROJECTS.default} (nothing allowed), ${PROJECTS.root}, ${PROJECTS.stack}`,
      },
    ],
  );

  const applyRoot = ["kubectl", "--context", ctx, "apply", "-f", "-"];
  change(
    "root-app",
    `root Application → ${want.delivery.repoURL} @ ${want.delivery.revision}`,
    state.rootApp !== "matches",
    state.rootApp === "matches"
      ? "applied, unchanged"
      : state.rootApp === "differs"
        ? "differs from the wanted source: apply"
        : state.rootApp === "absent" || state.cluster === false
          ? "absent: apply it"
          : unknown,
    [
      {
        argv: applyRoot,
        stdin: JSON.stringify(want.rootApp),
        display: `${applyRoot.join(" ")}   # gitops/root.yaml with repoURL=${want.delivery.repoURL} revision=${want.delivery.revision}${target ? ` profile=cluster imageRegistry=${target.registry}` : ""}`,
      },
    ],
  );

  steps.push({
    id: "wait",
    title: "every Application Synced and Healthy",
    kind: "check",
    run: true,
    reason: state.appsReady ? "all ready now" : "wait, showing progress",
    commands: [{ argv: clusterQueries(ctx).applications }],
    ...limitsFor("wait"), // per poll; the wait as a whole is --timeout
  });
  if (want.verify) {
    // verify.ts waits for the next metric export (30-60 s): worth it after a change or on a
    // stack that was not ready, not on a re-run that found everything in place.
    const changing = steps.some((step) => step.kind === "change" && step.run);
    const run = changing || state.appsReady !== true;
    steps.push({
      id: "verify",
      title: "end-to-end verification",
      kind: "check",
      run,
      reason: run
        ? `bootstrap/verify.ts --context ${want.context}`
        : `nothing changed and every Application was Synced and Healthy; run bun bootstrap/verify.ts --context ${want.context} to check anyway`,
      // Its Loki and Tempo port-forwards must reach this cluster, not kubectl's current one.
      commands: run ? [{ argv: ["bun", "bootstrap/verify.ts", "--context", want.context] }] : [],
      // verify.ts gives up after its own --timeout (default 180 s); this only catches a hang.
      timeoutMs: 10 * MINUTE,
      streamOutput: true,
    });
  }
  return steps;
}

/** Asks Argo CD to re-read git now rather than at its next poll (release.ts after a push). */
export const refreshApplications = (context: string): Command => ({
  argv: [
    "kubectl",
    "--context",
    context,
    "annotate",
    "applications.argoproj.io",
    "--all",
    "-n",
    ARGOCD.namespace,
    "argocd.argoproj.io/refresh=normal",
    "--overwrite",
  ],
});
