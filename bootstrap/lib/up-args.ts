// Command-line flags of up.ts (and the cluster name every bootstrap script takes), with environment
// overrides. Parsing is pure: argv + env in, options out.
import { CliError } from "../../cli/errors.ts";
import { envSwitch, parseDuration, parseFlags } from "../../cli/flags.ts";
import { DEFAULT_CLUSTER } from "./names.ts";

export interface UpOptions {
  dryRun: boolean;
  timeoutMs: number;
  pollMs: number;
  repo?: string;
  revision?: string;
  clusterName: string;
  skipVerify: boolean;
  localGit: boolean;
  /** An existing cluster (kube context) instead of kind; comes with `registry`. */
  context?: string;
  /** Image prefix the existing cluster pulls from, e.g. ghcr.io/acme or localhost:5001. */
  registry?: string;
  help: boolean;
}

export const UP_HELP = `usage: bun bootstrap/up.ts [flags]

Brings up the kind cluster, the service images, Argo CD and the app-of-apps, then waits
until every Argo CD Application is Synced and Healthy. Safe to re-run: each step checks
the current state first and only acts when needed.

Flags:
  --dry-run              print the plan with the exact commands; change nothing
  --timeout <duration>   how long to wait for the Applications (default 15m; e.g. 900s, 20m)
  --poll-interval <d>    how often to poll while waiting (default 5s)
  --repo <url>           git URL Argo CD reads (default: your remote, ssh turned into https)
  --revision <rev>       branch, tag or full 40-character commit SHA Argo CD deploys
                         (default: current branch; the in-cluster git server gets your
                         current branch, so there only that branch or its HEAD commit)
  --cluster-name <name>  kind cluster name (default ${DEFAULT_CLUSTER})
  --local-git            deliver through the in-cluster git server (remote "cluster")
  --skip-verify          do not run bootstrap/verify.ts at the end
  --context <ctx>        deploy to this existing cluster instead of kind (docs/cluster.md);
                         needs --registry
  --registry <prefix>    push the service images to <prefix>/<service>:<tag>, e.g.
                         ghcr.io/acme or localhost:5001 (with --context)
  -h, --help             show this help

Environment (flags win): BOOTSTRAP_REPO, BOOTSTRAP_REVISION, BOOTSTRAP_CLUSTER_NAME,
BOOTSTRAP_TIMEOUT, BOOTSTRAP_LOCAL_GIT=1.
`;

export const UP_FLAGS = {
  "dry-run": { type: "boolean" },
  timeout: { type: "string" },
  "poll-interval": { type: "string" },
  repo: { type: "string" },
  revision: { type: "string" },
  "cluster-name": { type: "string" },
  "local-git": { type: "boolean" },
  "skip-verify": { type: "boolean" },
  context: { type: "string" },
  registry: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export function parseUpArgs(argv: string[], env: Record<string, string | undefined>): UpOptions {
  const { values } = parseFlags("bun bootstrap/up.ts", argv, UP_FLAGS);
  const { context, registry } = values;
  if ((context === undefined) !== (registry === undefined)) {
    throw new CliError(
      "--context and --registry go together: an existing cluster pulls the images from a registry",
      "pass both, e.g. --context my-cluster --registry ghcr.io/acme, or neither for kind",
    );
  }
  if (registry !== undefined && !/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)*$/.test(registry)) {
    throw new CliError(
      `--registry ${JSON.stringify(registry)} is not an image prefix`,
      "give host[:port][/path] without scheme or tag, e.g. --registry ghcr.io/acme or localhost:5001",
    );
  }
  if (context !== undefined && (values["local-git"] || values["cluster-name"])) {
    throw new CliError(
      `--context deploys to an existing cluster; --${values["local-git"] ? "local-git" : "cluster-name"} is for kind`,
      "drop it: Argo CD on an existing cluster reads your git remote",
    );
  }
  const clusterName = parseClusterName(values["cluster-name"], env);
  const timeout = values.timeout ?? env.BOOTSTRAP_TIMEOUT;
  return {
    context,
    registry,
    dryRun: values["dry-run"] ?? false,
    timeoutMs: parseDuration(
      timeout ?? "15m",
      values.timeout === undefined && timeout !== undefined ? "BOOTSTRAP_TIMEOUT" : "--timeout",
      { min: 1000 },
    ),
    pollMs: parseDuration(values["poll-interval"] ?? "5s", "--poll-interval", { min: 10 }),
    repo: values.repo ?? (env.BOOTSTRAP_REPO || undefined),
    revision: values.revision ?? (env.BOOTSTRAP_REVISION || undefined),
    clusterName,
    skipVerify: values["skip-verify"] ?? false,
    localGit: values["local-git"] ?? envSwitch(env, "BOOTSTRAP_LOCAL_GIT"),
    help: values.help ?? false,
  };
}

/** The kind cluster's name from --cluster-name or BOOTSTRAP_CLUSTER_NAME, whichever is set. */
export function parseClusterName(
  flag: string | undefined,
  env: Record<string, string | undefined>,
): string {
  const name = flag ?? (env.BOOTSTRAP_CLUSTER_NAME || DEFAULT_CLUSTER);
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) {
    const source = flag === undefined ? "BOOTSTRAP_CLUSTER_NAME" : "--cluster-name";
    throw new CliError(
      `${source} ${JSON.stringify(name)} is not a valid cluster name`,
      `use lower-case letters, digits and dashes, e.g. ${source === "--cluster-name" ? "--cluster-name " : "BOOTSTRAP_CLUSTER_NAME="}${DEFAULT_CLUSTER}`,
    );
  }
  return name;
}

/**
 * `--cluster-name` and `--context` (status.ts, down.ts) are two ways to say which cluster: a kind
 * cluster by name, or an existing cluster's kube context. Both at once is refused, not guessed.
 */
export function refuseBothClusters(
  command: string,
  clusterName: string | undefined,
  context: string | undefined,
): void {
  if (clusterName === undefined || context === undefined) return;
  throw new CliError(
    "--cluster-name and --context are alternatives: a kind cluster by name, or an existing cluster by its kube context",
    `pass one of them: ${command} --cluster-name ${clusterName}, or ${command} --context ${context}`,
  );
}
