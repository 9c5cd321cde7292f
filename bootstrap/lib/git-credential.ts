// The push token for the in-cluster git server: minted by up.ts, kept in a 0600 file under your
// state directory, and handed to git by a credential helper scoped to the `cluster` remote's URL.
// It is never printed, never passed on a command line, never written to git's own config.
//
// Soft Serve v0.12.2 (charmbracelet/soft-serve):
// - `token create NAME` over its SSH port, as a user with a key, prints a new access token
//   (pkg/ssh/cmd/token.go); tokens are "ss_" and 40 hex digits (GenerateToken, pkg/backend/auth.go).
// - Over HTTP it takes the token as the basic-auth password, whatever the username
//   (parseUsernamePassword, pkg/web/auth.go).
// - Its SSH port is open only inside the pod (not in the Service, refused by the NetworkPolicy):
//   up.ts runs the ssh client there with `kubectl exec`, with the admin key the init container
//   made on the server's volume (manifests.ts), so no private key ever leaves the cluster.
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { CliError } from "../../cli/errors.ts";
import { GIT_SERVER } from "./names.ts";
import { type Command, exec, lastLine } from "./run.ts";

/**
 * Where the token lives: $XDG_STATE_HOME (default ~/.local/state)/observability-sandbox/<cluster>/.
 * Per cluster, not per clone: every clone pushing to this cluster's server uses the same token.
 */
export function credentialFile(env: Record<string, string | undefined>, cluster: string): string {
  const state = env.XDG_STATE_HOME || join(env.HOME || homedir(), ".local", "state");
  return join(state, "observability-sandbox", cluster, "git-credentials");
}

/** The git config key whose helpers git asks for `url`'s credentials (and only for it). */
export const helperKey = (url: string) => `credential.${url}.helper`;

/**
 * The helpers for the remote's URL: "" first empties the list, so your own helpers (a keychain,
 * a cache) are neither asked for nor given this token; then git's own `store` reading our file.
 */
export function helperValues(file: string): string[] {
  return ["", `store --file '${file.replaceAll("'", `'\\''`)}'`];
}

/** The git commands that scope the helpers to `url` in this clone (.git/config); idempotent. */
export function helperCommands(url: string, file: string): Command[] {
  const [reset = "", store = ""] = helperValues(file);
  return [
    { argv: ["git", "config", "--local", "--replace-all", helperKey(url), reset] },
    { argv: ["git", "config", "--local", "--add", helperKey(url), store] },
  ];
}

/** The helpers this clone has for `url` (git config --get-all), in order. */
export async function readHelpers(root: string, url: string): Promise<string[] | undefined> {
  const got = await exec(
    { argv: ["git", "config", "--local", "--get-all", helperKey(url)] },
    { cwd: root },
  );
  return got.code === 0 ? got.stdout.replace(/\n$/, "").split("\n") : undefined;
}

/** A token is stored for `url`'s host: the file exists, is private, and has a line for it. */
export function tokenStored(file: string, url: string): boolean {
  if (!existsSync(file) || (statSync(file).mode & 0o077) !== 0) return false;
  const { protocol, host } = new URL(url);
  return readFileSync(file, "utf8")
    .split("\n")
    .some((line) => {
      // git's store percent-encodes what it writes back, the port's colon included.
      const entry = /^(\w+:)\/\/[^:@/]*:([^@/]+)@([^/]+)\/?$/.exec(line.trim());
      if (!entry) return false;
      const [, scheme, password, entryHost = ""] = entry;
      return scheme === protocol && password !== "" && decodeURIComponent(entryHost) === host;
    });
}

/** Writes the token in git-credential-store's format (one URL with user and password), mode 0600. */
export function saveToken(file: string, url: string, token: string): void {
  const { protocol, host } = new URL(url);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const line = `${protocol}//${GIT_SERVER.adminUser}:${encodeURIComponent(token)}@${host}\n`;
  writeFileSync(file, line, { mode: 0o600 });
  chmodSync(file, 0o600); // writeFileSync's mode applies only to a new file
}

export function removeToken(file: string): boolean {
  if (!existsSync(file)) return false;
  rmSync(file);
  return true;
}

/**
 * Mints a token inside the git server's pod: ssh to its own SSH port with the admin key. The
 * first call makes sure the admin user holds the key (a database made by an older git server
 * has an admin without it; the key is admin all the same, so it may add itself), the second
 * creates the token and prints it, nothing else, on stdout.
 */
export function mintTokenCommand(context: string): Command {
  const key = GIT_SERVER.adminKey;
  // ssh refuses a key others may read; a volume's fsGroup handling can add group bits, so it
  // uses a private copy in the pod's /tmp. Host key checks are off for the pod's own loopback,
  // the only address the server's SSH listens on (manifests.ts).
  const copy = "/tmp/admin-key";
  const ssh = [
    "ssh -F /dev/null",
    `-i ${copy} -o IdentitiesOnly=yes -o BatchMode=yes`,
    "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
    `-p ${GIT_SERVER.sshPort} 127.0.0.1`,
  ].join(" ");
  const script = [
    `umask 077 && cp ${key} ${copy} || exit 1`,
    `trap 'rm -f ${copy}' EXIT`,
    `${ssh} user add-pubkey ${GIT_SERVER.adminUser} "$(cat ${key}.pub)" >/dev/null 2>&1 || true`,
    `${ssh} token create ${GIT_SERVER.tokenName}`,
  ].join("\n");
  const argv = [
    "kubectl",
    "--context",
    context,
    "exec",
    `deployment/${GIT_SERVER.name}`,
    "--namespace",
    GIT_SERVER.namespace,
    "--container",
    "soft-serve",
    "--",
    "sh",
    "-c",
    script,
  ];
  return {
    argv,
    display: `kubectl --context ${context} exec deployment/${GIT_SERVER.name} --namespace ${GIT_SERVER.namespace} -- ssh … token create ${GIT_SERVER.tokenName}   # the token goes to a 0600 file, not to the screen`,
  };
}

/** The token in `token create`'s output, or undefined. */
export function parseToken(stdout: string): string | undefined {
  return stdout
    .split("\n")
    .map((line) => line.trim())
    .find((line) => /^ss_[0-9a-f]{40}$/.test(line));
}

/**
 * Runs the mint command and saves what it prints; on failure shows stderr only (never stdout).
 * A few attempts: the server opens its SSH port a moment after the HTTP port its readiness
 * probe checks.
 */
export async function mintAndSave(
  root: string,
  command: Command,
  file: string,
  url: string,
  timeoutMs: number,
  retry = { attempts: 5, pauseMs: 1000 },
): Promise<void> {
  let result = await exec(command, { cwd: root, timeoutMs });
  for (let attempt = 1; attempt < retry.attempts && result.code !== 0; attempt++) {
    await Bun.sleep(retry.pauseMs);
    result = await exec(command, { cwd: root, timeoutMs });
  }
  const token = result.code === 0 ? parseToken(result.stdout) : undefined;
  if (!token) {
    throw new CliError(
      `could not mint the git server's push token (exit ${result.code}${result.stderr.trim() ? `: ${lastLine(result.stderr)}` : ""})`,
      `check the git server: kubectl -n ${GIT_SERVER.namespace} logs deploy/${GIT_SERVER.name} --all-containers; then run up.ts again`,
    );
  }
  saveToken(file, url, token);
}
