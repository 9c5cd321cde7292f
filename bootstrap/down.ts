// `bun bootstrap/down.ts`: deletes the kind cluster (asks first unless --yes) and removes the
// `cluster` git remote that up.ts added for the in-cluster git server. With --context (an
// existing cluster) it removes what up.ts installed there and never deletes the cluster.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { CliError, exitWithError } from "../cli/errors.ts";
import { parseFlags } from "../cli/flags.ts";
import { credentialFile, readHelpers, removeToken } from "./lib/git-credential.ts";
import { ARGOCD, DEFAULT_CLUSTER, GIT_SERVER, gitServerHostUrl, ROOT_APP } from "./lib/names.ts";
import { exec, lastLine } from "./lib/run.ts";
import { parseClusterName, refuseBothClusters } from "./lib/up-args.ts";

const root = resolve(import.meta.dir, "..");
/** The namespaces up.ts and the app-of-apps create on an existing cluster. */
export const STACK_NAMESPACES = ["apps", "monitoring", ARGOCD.namespace];
const HELP = `usage: bun bootstrap/down.ts [--yes] [--cluster-name <name> | --context <ctx>]

Deletes the kind cluster (everything in it: Argo CD, the stack, the in-cluster git server),
the git remote "${GIT_SERVER.remote}" that up.ts added with its credential helper, and the git
server's push token in your state directory. Your commits and other remotes stay.

With --context (a cluster up.ts --context deployed to): removes the stack, Argo CD and the
namespaces ${STACK_NAMESPACES.join(", ")} (their volumes and Secrets with them); the cluster stays.

Flags:
  -y, --yes              delete without asking first (it asks on a terminal and, without one,
                         e.g. in CI or a script, refuses unless --yes is given)
  --cluster-name <name>  the kind cluster to delete (default ${DEFAULT_CLUSTER})
  --context <ctx>        an existing cluster instead: remove what up.ts installed, keep it
  -h, --help             show this help
`;

async function main(): Promise<void> {
  const command = "bun bootstrap/down.ts";
  const { values } = parseFlags(command, Bun.argv.slice(2), {
    yes: { type: "boolean", short: "y" },
    help: { type: "boolean", short: "h" },
    "cluster-name": { type: "string" },
    context: { type: "string" },
  });
  if (values.help) return console.log(HELP);
  refuseBothClusters(command, values["cluster-name"], values.context);
  if (values.context) return downExisting(values.context, values.yes === true);
  const name = parseClusterName(values["cluster-name"], process.env);

  const clusters = await exec({ argv: ["kind", "get", "clusters"] }, { cwd: root });
  if (clusters.code === 127) {
    throw new CliError(
      "kind is not installed",
      "nothing to delete without kind (install it: docs/bootstrap.md, prerequisites)",
    );
  }
  if (clusters.code !== 0) {
    throw new CliError(
      `cannot list kind clusters: ${clusters.stderr.trim()}`,
      "start Docker (macOS: open -a Docker · Linux: sudo systemctl start docker) and try again",
    );
  }
  const exists = clusters.stdout.split("\n").some((l) => l.trim() === name);
  const remote = (
    await exec(
      { argv: ["git", "config", "--get", `remote.${GIT_SERVER.remote}.url`] },
      { cwd: root },
    )
  ).stdout.trim();
  const ours = remote === gitServerHostUrl();
  const tokenFile = credentialFile(process.env, name);
  const helpers = await readHelpers(root, gitServerHostUrl());
  const token = existsSync(tokenFile);
  if (!exists && !ours && !token && !helpers) {
    console.log(`nothing to do: no kind cluster named ${name}, no "${GIT_SERVER.remote}" remote`);
    return;
  }
  if (!values.yes) {
    const what = [
      exists && `kind cluster ${name}`,
      ours && `git remote ${GIT_SERVER.remote}`,
      token && `the git server's push token (${tokenFile})`,
      helpers && !ours && `the credential helper for ${gitServerHostUrl()}`,
    ]
      .filter(Boolean)
      .join(" and ");
    if (!process.stdin.isTTY) {
      throw new CliError(`would delete ${what}, but cannot ask (no terminal)`, "re-run with --yes");
    }
    const answer = prompt(`Delete ${what}? [y/N]`);
    if (!/^y(es)?$/i.test(answer?.trim() ?? "")) return console.log("nothing deleted");
  }
  if (exists) {
    console.log(`==> deleting kind cluster ${name}`);
    const deleted = await exec(
      { argv: ["kind", "delete", "cluster", "--name", name] },
      { cwd: root, timeoutMs: 5 * 60_000, onLine: (line) => console.log(`    | ${line}`) },
    );
    if (deleted.code !== 0) {
      throw new CliError(
        `kind delete cluster failed: ${deleted.stderr.trim()}`,
        `docker rm -f ${name}-control-plane, then run down.ts again`,
      );
    }
  }
  if (ours) {
    console.log(`==> removing git remote ${GIT_SERVER.remote}`);
    await exec({ argv: ["git", "remote", "remove", GIT_SERVER.remote] }, { cwd: root });
  } else if (remote) {
    console.log(`note: leaving git remote ${GIT_SERVER.remote} (${remote}): up.ts did not add it`);
  }
  if (helpers) {
    console.log(`==> removing the credential helper for ${gitServerHostUrl()}`);
    await exec(
      {
        argv: ["git", "config", "--local", "--remove-section", `credential.${gitServerHostUrl()}`],
      },
      { cwd: root },
    );
  }
  // The token dies with the cluster's git server; the file would only be a stale secret.
  if (removeToken(tokenFile)) console.log(`==> removed the push token ${tokenFile}`);
  console.log("done: bun bootstrap/up.ts brings it all back");
}

/** What down.ts --context runs, in order (data, so a test can give them to the real tools). */
export function removalCommands(context: string, namespaces: string[]) {
  const kubectl = (...args: string[]) => ["kubectl", "--context", context, ...args];
  return {
    rootApp: kubectl(
      "delete",
      "applications.argoproj.io",
      ROOT_APP.name,
      "--namespace",
      ROOT_APP.namespace,
      "--ignore-not-found",
      "--wait",
      "--timeout",
      "10m",
    ),
    argocd: [
      "helm",
      "uninstall",
      ARGOCD.release,
      "--namespace",
      ARGOCD.namespace,
      "--kube-context",
      context,
      "--wait",
    ],
    namespaces: kubectl(
      "delete",
      "namespace",
      ...namespaces,
      "--ignore-not-found",
      "--wait",
      "--timeout",
      "5m",
    ),
  };
}

/**
 * Removes the stack from an existing cluster, in the order that lets each part clean up after
 * itself: the root Application first (Argo CD's finalizers delete every child and what it
 * deployed), then Argo CD, then the namespaces with what is left in them (volumes, Secrets).
 */
async function downExisting(context: string, yes: boolean): Promise<void> {
  const run = (argv: string[], timeoutMs = 60_000) =>
    exec({ argv }, { cwd: root, timeoutMs, onLine: (line) => console.log(`    | ${line}`) });
  const kubectl = (...args: string[]) => ["kubectl", "--context", context, ...args];
  const present = await exec(
    { argv: kubectl("get", "namespaces", ...STACK_NAMESPACES, "--ignore-not-found", "-o", "name") },
    { cwd: root, timeoutMs: 15_000 },
  );
  if (present.code !== 0) {
    throw new CliError(
      `cannot reach ${context} (${lastLine(present.stderr) || `exit ${present.code}`})`,
      `check it with \`kubectl --context ${context} get nodes\` and run down.ts again`,
    );
  }
  const namespaces = present.stdout
    .split("\n")
    .map((line) => line.trim().replace(/^namespace\//, ""))
    .filter(Boolean);
  if (namespaces.length === 0) {
    console.log(
      `nothing to do: ${context} has none of the namespaces ${STACK_NAMESPACES.join(", ")}`,
    );
    return;
  }
  if (!yes) {
    const what = `the stack, Argo CD and the namespaces ${namespaces.join(", ")} (with their volumes) from ${context}`;
    if (!process.stdin.isTTY) {
      throw new CliError(`would remove ${what}, but cannot ask (no terminal)`, "re-run with --yes");
    }
    const answer = prompt(`Remove ${what}? The cluster stays. [y/N]`);
    if (!/^y(es)?$/i.test(answer?.trim() ?? "")) return console.log("nothing removed");
  }

  const commands = removalCommands(context, namespaces);
  console.log(
    "==> deleting the root Application (Argo CD removes every child and what it deployed)",
  );
  const rootApp = await run(commands.rootApp, 11 * 60_000);

  if (rootApp.code !== 0 && !/doesn't have a resource type/.test(rootApp.stderr)) {
    throw new CliError(
      `deleting the root Application failed: ${rootApp.stderr.trim()}`,
      `see what holds it: kubectl --context ${context} -n ${ROOT_APP.namespace} get applications; then run down.ts again`,
    );
  }
  console.log("==> uninstalling Argo CD");
  const argo = await run(commands.argocd, 5 * 60_000);

  if (argo.code !== 0 && !/not found/.test(argo.stderr)) {
    throw new CliError(
      `helm uninstall ${ARGOCD.release} failed: ${argo.stderr.trim()}`,
      `run it again: helm uninstall ${ARGOCD.release} -n ${ARGOCD.namespace} --kube-context ${context}`,
    );
  }
  console.log(`==> deleting the namespaces ${namespaces.join(", ")}`);
  const deleted = await run(commands.namespaces, 6 * 60_000);

  if (deleted.code !== 0) {
    throw new CliError(
      `deleting the namespaces failed: ${deleted.stderr.trim()}`,
      `see what is stuck: kubectl --context ${context} get namespace ${namespaces.join(" ")} -o yaml`,
    );
  }
  console.log(`done: ${context} is as before up.ts, except the cluster-wide CRDs of Argo CD and the Prometheus Operator, which other tools may share.
  Remove them too if nothing else uses them: kubectl --context ${context} get crd -o name | grep -E 'argoproj.io|monitoring.coreos.com'`);
}

if (import.meta.main) await main().catch(exitWithError);
