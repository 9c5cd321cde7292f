// Command-line flags of up.ts, with environment overrides. Parsing is pure: argv + env in, options out.
import { parseArgs } from "node:util";
import { DEFAULT_CLUSTER } from "./names.ts";
import { BootstrapError } from "./run.ts";

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

export const UP_HELP = `Usage: bun bootstrap/up.ts [flags]

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

/** Parses "90", "90s", "15m", "1h", "500ms" into milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) {
    throw new BootstrapError(
      `${flag} ${JSON.stringify(text)} is not a duration`,
      `use a number with a unit, e.g. ${flag} 15m, ${flag} 900s or ${flag} 500ms`,
    );
  }
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? "s"] ?? 1000;
  return Math.round(Number(match[1]) * unit);
}

export function parseUpArgs(argv: string[], env: Record<string, string | undefined>): UpOptions {
  let values: ReturnType<typeof parse>["values"];
  try {
    values = parse(argv).values;
  } catch (error) {
    throw new BootstrapError(
      (error as Error).message,
      "run `bun bootstrap/up.ts --help` for the flags",
    );
  }
  const clusterName = values["cluster-name"] ?? env.BOOTSTRAP_CLUSTER_NAME ?? DEFAULT_CLUSTER;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(clusterName)) {
    throw new BootstrapError(
      `cluster name ${JSON.stringify(clusterName)} is not valid`,
      "use lower-case letters, digits and dashes, e.g. --cluster-name observability-sandbox",
    );
  }
  const { context, registry } = values;
  if ((context === undefined) !== (registry === undefined)) {
    throw new BootstrapError(
      "--context and --registry go together: an existing cluster pulls the images from a registry",
      "pass both, e.g. --context my-cluster --registry ghcr.io/acme, or neither for kind",
    );
  }
  if (registry !== undefined && !/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)*$/.test(registry)) {
    throw new BootstrapError(
      `--registry ${JSON.stringify(registry)} is not an image prefix`,
      "give host[:port][/path] without scheme or tag, e.g. --registry ghcr.io/acme or localhost:5001",
    );
  }
  if (context !== undefined && (values["local-git"] || values["cluster-name"])) {
    throw new BootstrapError(
      `--context deploys to an existing cluster; --${values["local-git"] ? "local-git" : "cluster-name"} is for kind`,
      "drop it: Argo CD on an existing cluster reads your git remote",
    );
  }
  return {
    context,
    registry,
    dryRun: values["dry-run"] ?? false,
    timeoutMs: parseDuration(values.timeout ?? env.BOOTSTRAP_TIMEOUT ?? "15m", "--timeout"),
    pollMs: parseDuration(values["poll-interval"] ?? "5s", "--poll-interval"),
    repo: values.repo ?? (env.BOOTSTRAP_REPO || undefined),
    revision: values.revision ?? (env.BOOTSTRAP_REVISION || undefined),
    clusterName,
    skipVerify: values["skip-verify"] ?? false,
    localGit: values["local-git"] ?? env.BOOTSTRAP_LOCAL_GIT === "1",
    help: values.help ?? false,
  };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
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
    },
  });
}
