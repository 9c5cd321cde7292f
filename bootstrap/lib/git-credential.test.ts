// The push token's wiring, with real git against a stand-in git server (git http-backend behind
// Soft Serve's access rules, bootstrap/testing/git-http-server.ts), and release.ts --push through it.
//
// What this proves: an anonymous push is refused by the rule manifests.ts configures
// (ANON_ACCESS=read-only), while anonymous reads (Argo CD's) still work; the token file and the
// helper scoped to the remote's URL, exactly as up.ts writes them, make `git push cluster` and
// `release.ts --push` work without a prompt; your own credential helpers are neither asked nor
// given the token; a refused token fails at once and is dropped, so up.ts mints a new one.
// What only the real Soft Serve can prove: that v0.12.2 enforces ANON_ACCESS and takes the token
// as the basic-auth password as its source reads (pkg/web/git.go, pkg/web/auth.go), and that
// `token create` in the pod works with the init container's key.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeFixture } from "../testing/fixture.ts";
import { startGitServer } from "../testing/git-http-server.ts";
import {
  credentialFile,
  helperCommands,
  mintTokenCommand,
  parseToken,
  readHelpers,
  saveToken,
  tokenStored,
} from "./git-credential.ts";
import { GIT_SERVER } from "./names.ts";
import { exec } from "./run.ts";

setDefaultTimeout(60_000);
const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const newToken = () =>
  `ss_${Buffer.from(crypto.getRandomValues(new Uint8Array(20))).toString("hex")}`;

/** A clone with one commit, a git server with one minted token, and git's environment. */
async function setUp() {
  const dir = mkdtempSync(join(tmpdir(), "git-credential-"));
  const tokens = [newToken()];
  const server = startGitServer(join(dir, "server"), () => tokens);
  cleanups.push(() => {
    server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  // Your own helper (a keychain, say), in your global config: it logs whatever git tells it.
  const ownHelperLog = join(dir, "own-helper.log");
  const globalConfig = join(dir, "gitconfig");
  writeFileSync(
    globalConfig,
    `[credential]\n\thelper = "!f() { echo \\"$1\\" >> '${ownHelperLog}'; cat >> '${ownHelperLog}'; }; f"\n`,
  );
  const env = {
    HOME: dir,
    GIT_CONFIG_GLOBAL: globalConfig,
    GIT_CONFIG_NOSYSTEM: "1",
    // A missing credential must fail, not wait for someone to type it.
    GIT_TERMINAL_PROMPT: "0",
    GIT_AUTHOR_NAME: "Test",
    GIT_AUTHOR_EMAIL: "test@example.com",
    GIT_COMMITTER_NAME: "Test",
    GIT_COMMITTER_EMAIL: "test@example.com",
  };
  const repo = join(dir, "repo");
  const git = (...args: string[]) =>
    exec({ argv: ["git", ...args] }, { cwd: repo, env, timeoutMs: 20_000 });
  await exec({ argv: ["git", "init", "-q", "-b", "main", repo] }, { env });
  writeFileSync(join(repo, "README.md"), "hello\n");
  await git("add", "README.md");
  await git("commit", "-q", "-m", "first");
  const url = `${server.url}/observability-sandbox.git`;
  await git("remote", "add", "cluster", url);
  const file = credentialFile({ HOME: dir }, "observability-sandbox");
  const wire = async () => {
    for (const command of helperCommands(url, file)) {
      expect((await exec(command, { cwd: repo, env })).code).toBe(0);
    }
  };
  return { dir, tokens, server, ownHelperLog, env, repo, git, url, file, wire };
}

describe("the push token", () => {
  test.concurrent("anonymous: reads work, pushes are refused without a prompt; with the token the push works", async () => {
    const t = await setUp();
    const anonymous = await t.git("push", "cluster", "HEAD:refs/heads/main");
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr).toContain("terminal prompts disabled");
    // Refused before anything was written: no repository was created on the push attempt.
    expect(existsSync(join(t.server.root, "observability-sandbox.git"))).toBe(false);
    // Before the wiring, git asked your own helper (and found nothing): from here on it must not.
    expect(readFileSync(t.ownHelperLog, "utf8")).toStartWith("get\n");
    rmSync(t.ownHelperLog);

    saveToken(t.file, t.url, t.tokens[0] as string);
    await t.wire();
    const pushed = await t.git("push", "cluster", "HEAD:refs/heads/main");
    expect(pushed.stderr).not.toContain("fatal");
    expect(pushed.code).toBe(0);
    const head = (await t.git("rev-parse", "HEAD")).stdout.trim();
    // Argo CD's read: anonymous, no helper at all.
    const read = await t.git("-c", "credential.helper=", "ls-remote", t.url, "refs/heads/main");
    expect(read.stdout).toStartWith(head);
    expect(t.server.requests.filter((r) => r.includes("git-upload-pack"))).not.toContainEqual(
      expect.stringContaining("with credential"),
    );

    // Your own helper was never asked for this URL, nor given the token to keep.
    expect(existsSync(t.ownHelperLog)).toBe(false);
    // The token file is private to you and in git-credential-store's format.
    expect(statSync(t.file).mode & 0o777).toBe(0o600);
    expect(statSync(join(t.file, "..")).mode & 0o777).toBe(0o700);
    // After the push git's `store` wrote it back in its own spelling (the port's colon
    // escaped): still one line with the token, and still recognised as stored.
    expect(readFileSync(t.file, "utf8")).toBe(
      `http://admin:${t.tokens[0]}@${new URL(t.url).host.replace(":", "%3a")}\n`,
    );
    expect(tokenStored(t.file, t.url)).toBe(true);
    // The token is in neither the clone's config nor git's output.
    const config = readFileSync(join(t.repo, ".git", "config"), "utf8");
    expect(config).not.toContain(t.tokens[0] as string);
    expect(await readHelpers(t.repo, t.url)).toEqual(["", `store --file '${t.file}'`]);
    expect(`${pushed.stdout}${pushed.stderr}`).not.toContain(t.tokens[0] as string);
  });

  test.concurrent("a refused token fails at once and is dropped from the file, so up.ts mints a new one", async () => {
    const t = await setUp();
    saveToken(t.file, t.url, newToken()); // a token this server never minted
    await t.wire();
    const refused = await t.git("push", "cluster", "HEAD:refs/heads/main");
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("Authentication failed");
    expect(tokenStored(t.file, t.url)).toBe(false);
    expect(existsSync(t.ownHelperLog)).toBe(false);
  });

  test.concurrent("release.ts --push delivers through the token, without a prompt; without it, names the fix", async () => {
    const t = await setUp();
    const f = await makeFixture({ state: { clusters: [] } });
    cleanups.push(f.cleanup);
    const file = credentialFile({ HOME: f.dir }, "observability-sandbox");
    await f.git("remote", "add", "cluster", t.url);
    writeFileSync(join(f.repo, "apps/user-service/index.ts"), 'console.log("v2");\n');
    const release = ["user-service", "-m", "user-service v2", "--no-build", "--push"];
    // GIT_TERMINAL_PROMPT is not set here: release.ts itself must refuse to prompt.
    const env = { GIT_TERMINAL_PROMPT: "" };

    const refused = await f.run("release.ts", release, env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("error: git push to cluster failed");
    expect(refused.stderr).toContain(
      "fix: a refused push (Authentication failed) means the git server's push token is missing or stale: run bun bootstrap/up.ts",
    );

    saveToken(file, t.url, t.tokens[0] as string);
    for (const command of helperCommands(t.url, file)) await f.git(...command.argv.slice(1));
    const pushed = await f.run("release.ts", release, env);
    expect(pushed.stderr).toBe("");
    expect(pushed.code).toBe(0);
    const served = await exec(
      {
        argv: [
          "git",
          "--git-dir",
          join(t.server.root, "observability-sandbox.git"),
          "rev-parse",
          "main",
        ],
      },
      {},
    );
    expect(served.stdout.trim()).toBe(await f.git("rev-parse", "HEAD"));
    expect(`${pushed.stdout}${refused.stdout}`).not.toContain(t.tokens[0] as string);
  });

  test.concurrent("the mint script in the pod: a private key copy, the admin key added, only the token on stdout", async () => {
    // The script as kubectl exec runs it, under sh, with a stand-in ssh that answers like
    // Soft Serve (add-pubkey fails once the admin holds the key; token create prints the token).
    // Its two absolute paths point into a temp dir instead of the pod's volume and /tmp.
    const dir = mkdtempSync(join(tmpdir(), "mint-script-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const key = join(dir, "admin_ed25519");
    writeFileSync(key, "-----BEGIN OPENSSH PRIVATE KEY-----\nstand-in\n", { mode: 0o660 });
    writeFileSync(`${key}.pub`, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIStandIn git-server-admin\n");
    const token = newToken();
    const log = join(dir, "ssh.log");
    mkdirSync(join(dir, "bin"));
    writeFileSync(
      join(dir, "bin", "ssh"),
      `#!/bin/sh
key=""; while [ $# -gt 0 ]; do case "$1" in -i) key="$2"; shift 2;; -o|-p|-F) shift 2;; 127.0.0.1) shift; break;; *) shift;; esac; done
printf '%s mode=%s\\n' "$*" "$(stat -c %a "$key")" >> '${log}'
case "$1 $2" in
  "user add-pubkey") echo "Error: public key already exists" >&2; exit 1;;
  "token create") echo "Access token created" >&2; echo "${token}";;
  *) exit 2;;
esac
`,
      { mode: 0o755 },
    );
    const command = mintTokenCommand("kind-observability-sandbox");
    const script = (command.argv.at(-1) ?? "")
      .replaceAll(GIT_SERVER.adminKey, key)
      .replaceAll("/tmp/admin-key", join(dir, "copy"));
    const ran = await exec(
      { argv: ["sh", "-c", script] },
      { env: { PATH: `${join(dir, "bin")}:/usr/bin:/bin` } },
    );
    expect(ran.code).toBe(0);
    expect(ran.stdout).toBe(`${token}\n`);
    expect(parseToken(ran.stdout)).toBe(token);
    expect(readFileSync(log, "utf8").split("\n").filter(Boolean)).toEqual([
      "user add-pubkey admin ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIStandIn git-server-admin mode=600",
      "token create bootstrap-push mode=600",
    ]);
    expect(existsSync(join(dir, "copy"))).toBe(false); // the copy is gone
  });

  test("the token is read from `token create`'s output and nothing else", () => {
    const token = newToken();
    expect(parseToken(`${token}\n`)).toBe(token);
    expect(parseToken("Access token created\n")).toBeUndefined();
    expect(parseToken("ss_short\n")).toBeUndefined();
  });

  test("the state directory follows XDG_STATE_HOME, else ~/.local/state, one file per cluster", () => {
    expect(credentialFile({ HOME: "/home/you" }, "demo")).toBe(
      "/home/you/.local/state/observability-sandbox/demo/git-credentials",
    );
    expect(credentialFile({ HOME: "/home/you", XDG_STATE_HOME: "/state" }, "demo")).toBe(
      "/state/observability-sandbox/demo/git-credentials",
    );
  });
});
