// Command-line flags of up.ts, with environment overrides. Parsing is pure: argv + env in, options out.
import { type ParseArgsOptionsConfig, parseArgs } from "node:util";
import { DEFAULT_CLUSTER } from "./names.ts";
import { BootstrapError, formatDuration } from "./run.ts";

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

/**
 * The one command-line manner of every script (up, down, status, verify, release, open, traffic, bench,
 * dev): flags declared as a util.parseArgs options table; a bad flag, value or environment
 * variable is a BootstrapError (one `error:` line, one `fix:` line, exit 1), never a usage dump.
 */
export type Flags = ParseArgsOptionsConfig;
type Parsed<F extends Flags> = ReturnType<
  typeof parseArgs<{ args: string[]; options: F; allowPositionals: true; strict: true }>
>;

/** `command` is how the user runs it, e.g. "bun bootstrap/up.ts": fixes are written with it. */
export function parseFlags<const F extends Flags>(
  command: string,
  argv: string[],
  flags: F,
  { positionals = false }: { positionals?: boolean } = {},
): Parsed<F> {
  const help = `${command} --help`;
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") {
      args.push(...argv.slice(i));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      if (!positionals)
        throw new BootstrapError(
          `unexpected argument ${JSON.stringify(arg)}`,
          `${help} lists the flags`,
        );
      args.push(arg);
      continue;
    }
    const [name, inline] = splitFlag(arg, flags);
    const spec = name === undefined ? undefined : flags[name];
    if (name === undefined || !spec)
      throw new BootstrapError(`unknown flag ${arg.split("=")[0]}`, `${help} lists the flags`);
    if (spec.type === "boolean") {
      if (inline !== undefined)
        throw new BootstrapError(`--${name} takes no value`, `${command} --${name}`);
      args.push(`--${name}`);
      continue;
    }
    // A value may start with a dash ("--timeout -5m"): it is the value, checked by the caller.
    const value = inline ?? argv[++i];
    // An empty value ("--context ''", an unset shell variable) would quietly mean the default.
    if (!value || (inline === undefined && isFlag(value, flags)))
      throw new BootstrapError(
        `--${name} needs a value`,
        // The fix keeps what came before, so it is the same command with the value filled in.
        [command, ...args.map(shellWord), `--${name} <value>`].join(" "),
      );
    args.push(`--${name}=${value}`);
  }
  return parseArgs({ args, options: flags, allowPositionals: true, strict: true });
}

/** A word as a shell would need it: quoted when it holds anything but plain characters. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

function splitFlag(arg: string, flags: Flags): [string | undefined, string | undefined] {
  if (arg.startsWith("--")) {
    const eq = arg.indexOf("=");
    return eq < 0 ? [arg.slice(2), undefined] : [arg.slice(2, eq), arg.slice(eq + 1)];
  }
  const eq = arg.indexOf("=");
  const letter = eq < 0 ? arg.slice(1) : arg.slice(1, eq);
  const short = Object.entries(flags).find(([, spec]) => spec.short === letter);
  return [short?.[0], eq < 0 ? undefined : arg.slice(eq + 1)];
}

function isFlag(value: string, flags: Flags): boolean {
  if (!value.startsWith("-")) return false;
  const [name] = splitFlag(value, flags);
  return name !== undefined && flags[name] !== undefined;
}

const human = (ms: number) => (ms < 1000 ? `${ms}ms` : formatDuration(ms));

/** Parses "90", "90s", "15m", "1h", "500ms" into milliseconds; never zero or negative. */
export function parseDuration(
  text: string,
  flag: string,
  { min = 1, max }: { min?: number; max?: number } = {},
): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  const set = /^[A-Z_]+$/.test(flag) ? `${flag}=` : `${flag} `; // a variable or a flag
  const example = `use a number with a unit, e.g. ${set}15m, ${set}90s or ${set}500ms`;
  if (/^\s*-\d/.test(text))
    throw new BootstrapError(`${flag} must be at least ${human(min)}, got ${text}`, example);
  if (!match)
    throw new BootstrapError(`${flag} ${JSON.stringify(text)} is not a duration`, example);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? "s"] ?? 1000;
  const ms = Math.round(Number(match[1]) * unit);
  if (ms < min)
    throw new BootstrapError(`${flag} must be at least ${human(min)}, got ${text}`, example);
  if (max !== undefined && ms > max)
    throw new BootstrapError(`${flag} must be at most ${human(max)}, got ${text}`, example);
  return ms;
}

/** A number within [min, max] (an integer unless told otherwise); `name` is a flag or variable. */
export function parseNumber(
  text: string,
  name: string,
  {
    min,
    max,
    integer = true,
    example,
  }: { min: number; max?: number; integer?: boolean; example: string },
): number {
  const value = /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : Number.NaN;
  const range = max === undefined ? `${min} or more` : `between ${min} and ${max}`;
  if (
    !Number.isFinite(value) ||
    value < min ||
    (max !== undefined && value > max) ||
    (integer && !Number.isInteger(value))
  )
    throw new BootstrapError(
      `${name} must be ${integer ? "a whole number" : "a number"} ${range}, got ${JSON.stringify(text)}`,
      example,
    );
  return value;
}

/** An http(s) URL without trailing slashes. */
export function parseHttpUrl(text: string, name: string, example: string): string {
  const value = text.replace(/\/+$/, "");
  if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol))
    throw new BootstrapError(
      `${name} must be an http(s) URL, got ${JSON.stringify(text)}`,
      example,
    );
  return value;
}

/** A TCP port from an environment variable, named in its own error. */
export function envPort(
  env: Record<string, string | undefined>,
  name: string,
  fallback: number,
  command?: string,
): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const example = command ? `${name}=${fallback} ${command}` : `${name}=${fallback}`;
  return parseNumber(raw, name, { min: 1, max: 65535, example });
}

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

/** A 0/1 switch from the environment; anything else is an error naming the variable. */
export function envSwitch(env: Record<string, string | undefined>, name: string): boolean {
  const raw = env[name];
  if (raw === undefined || raw === "" || raw === "0") return false;
  if (raw === "1") return true;
  throw new BootstrapError(`${name} must be 1 or 0, got ${JSON.stringify(raw)}`, `${name}=1`);
}

/** The kind cluster's name from --cluster-name or BOOTSTRAP_CLUSTER_NAME, whichever is set. */
export function parseClusterName(
  flag: string | undefined,
  env: Record<string, string | undefined>,
): string {
  const name = flag ?? (env.BOOTSTRAP_CLUSTER_NAME || DEFAULT_CLUSTER);
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) {
    const source = flag === undefined ? "BOOTSTRAP_CLUSTER_NAME" : "--cluster-name";
    throw new BootstrapError(
      `${source} ${JSON.stringify(name)} is not a valid cluster name`,
      `use lower-case letters, digits and dashes, e.g. ${source === "--cluster-name" ? "--cluster-name " : "BOOTSTRAP_CLUSTER_NAME="}${DEFAULT_CLUSTER}`,
    );
  }
  return name;
}
