// Where Argo CD reads the repository from: the user's remote (if Argo CD can read it and the
// user can push to it) or the in-cluster git server. Detection talks to git; the
// decision itself (chooseDelivery) is pure.
import { shellWord } from "../../cli/errors.ts";
import { GIT_SERVER, gitServerInClusterUrl } from "./names.ts";
import { exec } from "./run.ts";

export interface GitFacts {
  isRepo: boolean;
  branch?: string;
  head?: string;
  /** Paths with uncommitted changes (git status --porcelain). */
  dirty: string[];
  remoteName?: string;
  remoteUrl?: string;
  /** URL of the `cluster` remote if bootstrap added it earlier. */
  clusterRemoteUrl?: string;
}

export interface RemoteProbe {
  /** Argo CD can read it: anonymous `git ls-remote` over https worked. */
  readable: boolean;
  /** The user can push to it (`git push --dry-run` authenticated). */
  pushable: boolean;
  /** What --revision (or the current branch) names on the remote, when readable. */
  revision?: RemoteRevision;
  detail?: string;
}

/**
 * A revision as Argo CD resolves it: a branch or tag the remote lists, or a full commit SHA
 * (Argo CD fetches the refs and checks the commit out, so it must have been pushed).
 */
export interface RemoteRevision {
  kind: "branch" | "tag" | "commit";
  commit: string;
  /** For a commit: it is the tip of a branch or tag the remote lists. */
  listed?: boolean;
}

export const isFullCommit = (revision: string) => /^[0-9a-f]{40}$/.test(revision);

/** `git ls-remote` output (sha<TAB>ref lines) → ref → sha; annotated tags resolve to their commit. */
export function parseLsRemote(stdout: string): Map<string, string> {
  const refs = new Map<string, string>();
  for (const line of stdout.split("\n").filter(Boolean)) {
    const [sha = "", ref = ""] = line.split("\t");
    // "refs/tags/v1^{}" is the commit an annotated tag points at: it wins over the tag object.
    if (ref.endsWith("^{}")) refs.set(ref.slice(0, -3), sha);
    else if (!refs.has(ref)) refs.set(ref, sha);
  }
  return refs;
}

/** Finds a revision among a remote's refs: a branch, else a tag, else a full commit SHA. */
export function findRevision(
  refs: Map<string, string>,
  revision: string,
): RemoteRevision | undefined {
  const branch = refs.get(`refs/heads/${revision}`);
  if (branch) return { kind: "branch", commit: branch };
  const tag = refs.get(`refs/tags/${revision}`);
  if (tag) return { kind: "tag", commit: tag };
  if (isFullCommit(revision)) {
    return { kind: "commit", commit: revision, listed: [...refs.values()].includes(revision) };
  }
  return undefined;
}

/** git@host:owner/repo(.git) and ssh://[user@]host[:port]/path → https://host/path. */
export function toHttpsUrl(url: string): string | undefined {
  const scp = /^[\w.-]+@([\w.-]+):(?!\/)(.+)$/.exec(url);
  if (scp) return `https://${scp[1]}/${scp[2]}`;
  const ssh = /^ssh:\/\/(?:[^@/]+@)?([^:/]+)(?::\d+)?\/(.+)$/.exec(url);
  if (ssh) return `https://${ssh[1]}/${ssh[2]}`;
  if (/^https?:\/\//.test(url)) return url;
  return undefined; // file paths, git://: nothing Argo CD in the cluster can reach
}

async function git(root: string, args: string[], timeoutMs?: number, env?: Record<string, string>) {
  return exec({ argv: ["git", ...args] }, { cwd: root, timeoutMs, env });
}

/** git accepts `name` as a branch or tag name (a full commit SHA is one too); undefined without git. */
export async function isRefName(root: string, name: string): Promise<boolean | undefined> {
  const { code } = await git(root, ["check-ref-format", "--branch", name]);
  return code === 127 ? undefined : code === 0;
}

export async function readGitFacts(root: string): Promise<GitFacts> {
  const inside = await git(root, ["rev-parse", "--is-inside-work-tree"]);
  if (inside.code !== 0 || inside.stdout.trim() !== "true") return { isRepo: false, dirty: [] };
  const [branch, head, status, remotes] = await Promise.all([
    git(root, ["symbolic-ref", "--short", "-q", "HEAD"]),
    git(root, ["rev-parse", "-q", "--verify", "HEAD"]),
    git(root, ["status", "--porcelain"]),
    git(root, ["remote"]),
  ]);
  const facts: GitFacts = {
    isRepo: true,
    branch: branch.code === 0 ? branch.stdout.trim() : undefined,
    head: head.code === 0 ? head.stdout.trim() : undefined,
    dirty: status.stdout
      .split("\n")
      .filter(Boolean)
      .map((line) => line.slice(3)),
  };
  const names = remotes.stdout.split("\n").filter(Boolean);
  const upstream = facts.branch
    ? (await git(root, ["config", `branch.${facts.branch}.remote`])).stdout.trim()
    : "";
  const userRemotes = names.filter((name) => name !== GIT_SERVER.remote);
  const remoteName =
    upstream && upstream !== GIT_SERVER.remote && names.includes(upstream)
      ? upstream
      : userRemotes.includes("origin")
        ? "origin"
        : userRemotes[0];
  if (remoteName) {
    facts.remoteName = remoteName;
    // The configured URL, not `remote get-url`, which applies the user's url.insteadOf rules.
    facts.remoteUrl = (
      await git(root, ["config", "--get", `remote.${remoteName}.url`])
    ).stdout.trim();
  }
  if (names.includes(GIT_SERVER.remote)) {
    facts.clusterRemoteUrl = (
      await git(root, ["config", "--get", `remote.${GIT_SERVER.remote}.url`])
    ).stdout.trim();
  }
  return facts;
}

// No prompts, no credential helpers: what works here works for an anonymous Argo CD.
const ANONYMOUS = { GIT_TERMINAL_PROMPT: "0", GIT_ASKPASS: "true", SSH_ASKPASS: "true" };

export async function probeRemote(
  root: string,
  facts: GitFacts,
  httpsUrl: string,
  revision: string | undefined,
  checkPush: boolean,
): Promise<RemoteProbe> {
  const listing = await git(
    root,
    ["-c", "credential.helper=", "ls-remote", httpsUrl],
    15_000,
    ANONYMOUS,
  );
  if (listing.code !== 0) {
    return {
      readable: false,
      pushable: false,
      detail: lastLine(listing.stderr) || `git ls-remote ${httpsUrl} failed`,
    };
  }
  const found = revision ? findRevision(parseLsRemote(listing.stdout), revision) : undefined;
  let pushable = false;
  let detail: string | undefined;
  if (checkPush && facts.remoteName && facts.branch) {
    // BatchMode: an ssh remote that would ask for a password counts as "cannot push".
    const env: Record<string, string> = { GIT_TERMINAL_PROMPT: "0" };
    if (!process.env.GIT_SSH_COMMAND) env.GIT_SSH_COMMAND = "ssh -o BatchMode=yes";
    const push = await git(
      root,
      ["push", "--dry-run", "--porcelain", facts.remoteName, `HEAD:refs/heads/${facts.branch}`],
      20_000,
      env,
    );
    // A rejected non-fast-forward still proves the user may push.
    pushable = push.code === 0 || /\[rejected\]|non-fast-forward|fetch first/.test(push.stdout);
    if (!pushable) detail = lastLine(push.stderr) || "git push --dry-run failed";
  }
  return { readable: true, pushable, revision: found, detail };
}

function lastLine(text: string): string {
  return (
    text
      .trim()
      .split("\n")
      .filter((l) => l.trim())
      .at(-1) ?? ""
  ).trim();
}

/** Where Argo CD reads from: your remote, or the in-cluster git server bootstrap pushes to. */
export interface Delivery {
  mode: "remote" | "local";
  repoURL: string;
  revision: string;
  /** Why this one, in words for the user. */
  why: string;
}

export interface DeliveryInput {
  facts: GitFacts;
  flags: { repo?: string; revision?: string; localGit: boolean };
  /** Probe of the remote Argo CD would read (undefined when not probed). */
  probe?: RemoteProbe;
}

export interface DeliveryDecision {
  delivery?: Delivery;
  problems: { problem: string; fix: string }[];
  warnings: string[];
}

/** Decides where Argo CD reads from. Pure: everything it needs was detected before. */
export function chooseDelivery({ facts, flags, probe }: DeliveryInput): DeliveryDecision {
  const problems: DeliveryDecision["problems"] = [];
  const warnings: string[] = [];
  if (!facts.isRepo) {
    problems.push({
      problem: "this directory is not a git repository; Argo CD deploys from git",
      fix: "run bootstrap from a clone: git clone <url> && cd observability-sandbox",
    });
    return { problems, warnings };
  }
  if (!facts.head) {
    problems.push({
      problem: "the repository has no commits yet",
      fix: 'commit the tree first: git add -A && git commit -m "initial"',
    });
    return { problems, warnings };
  }
  const revision = flags.revision ?? facts.branch;
  if (!revision) {
    problems.push({
      problem: `HEAD is detached at ${facts.head.slice(0, 12)}; Argo CD needs a branch to follow`,
      fix: "check out a branch (git switch main) or pass --revision <branch|tag|commit>",
    });
    return { problems, warnings };
  }
  if (facts.dirty.length > 0) {
    const sample = facts.dirty.slice(0, 3).join(", ");
    warnings.push(
      `uncommitted changes (${sample}${facts.dirty.length > 3 ? ", …" : ""}) are not deployed: ` +
        "Argo CD reads commits; commit and push them to deliver them",
    );
  }

  const local = (why: string): Delivery => ({
    mode: "local",
    repoURL: gitServerInClusterUrl(),
    revision,
    why,
  });
  // The in-cluster git server gets your current branch (HEAD); Argo CD can follow that branch
  // or pin HEAD's commit, which the push carries. Anything else would never reach the server.
  const notPushed = (why: string): DeliveryDecision["problems"][number] | undefined => {
    if (!facts.branch) {
      return {
        problem: `${why}, so bootstrap would push your current branch to the in-cluster git server, but HEAD is detached`,
        fix: "check out a branch (git switch main)",
      };
    }
    if (flags.revision && flags.revision !== facts.branch && flags.revision !== facts.head) {
      return {
        problem: `${why}, so bootstrap would push your current branch ${facts.branch} to the in-cluster git server; --revision ${flags.revision} is neither that branch nor its HEAD commit`,
        fix: `git switch ${shellWord(flags.revision)} first (a tag or another commit: git switch -c <branch> ${shellWord(flags.revision)}), or drop --revision`,
      };
    }
    return undefined;
  };
  if (flags.localGit) {
    const problem = notPushed("--local-git");
    if (problem) problems.push(problem);
    return { delivery: local("--local-git"), problems, warnings };
  }

  const chosenUrl = flags.repo ?? facts.remoteUrl;
  const httpsUrl = chosenUrl ? toHttpsUrl(chosenUrl) : undefined;
  if (flags.repo) {
    if (!httpsUrl) {
      problems.push({
        problem: `--repo ${flags.repo} is not an http(s) or ssh URL Argo CD can reach`,
        fix: "pass the https URL of a public repository, or use --local-git",
      });
    } else if (probe && !probe.readable) {
      problems.push({
        problem: `Argo CD cannot read ${httpsUrl} anonymously (${probe.detail ?? "ls-remote failed"})`,
        fix: "make the repository public, pass another --repo, or use --local-git",
      });
    } else if (probe && !probe.revision) {
      problems.push({
        problem: `${httpsUrl} has no branch or tag ${revision}`,
        fix: `push it (git push <remote> ${shellWord(revision)}), or pass --revision with an existing branch, tag or full 40-character commit SHA`,
      });
    } else if (probe?.revision?.kind === "commit" && !probe.revision.listed) {
      warnings.push(
        `${revision.slice(0, 12)} is not the tip of a branch or tag on ${httpsUrl}: Argo CD finds it only if a pushed branch or tag contains it`,
      );
    }
    return {
      delivery: httpsUrl
        ? { mode: "remote", repoURL: httpsUrl, revision, why: "--repo" }
        : undefined,
      problems,
      warnings,
    };
  }

  // No explicit choice: the user's remote when it works end to end, else the in-cluster server.
  const fallback = (why: string): DeliveryDecision => {
    const problem = notPushed(why);
    if (problem) {
      problems.push({
        ...problem,
        fix: `${problem.fix}, or pass --repo with a readable repository`,
      });
    }
    return { delivery: local(why), problems, warnings };
  };
  if (!facts.remoteUrl || !httpsUrl) {
    return fallback(
      facts.remoteUrl
        ? `remote ${facts.remoteName} (${facts.remoteUrl}) is not reachable from the cluster`
        : "the repository has no git remote",
    );
  }
  if (!probe?.readable) {
    return fallback(
      `Argo CD cannot read ${httpsUrl} anonymously${probe?.detail ? ` (${probe.detail})` : ""}`,
    );
  }
  if (!probe.pushable) {
    return fallback(
      `you cannot push to ${facts.remoteName} (${probe.detail ?? "push --dry-run failed"})`,
    );
  }
  if (!probe.revision) {
    problems.push({
      problem: `${facts.remoteName} has no branch or tag ${revision} yet`,
      fix: `push it: git push -u ${facts.remoteName} ${shellWord(revision)}`,
    });
  } else if (probe.revision.kind === "commit" && !probe.revision.listed) {
    warnings.push(
      `${revision.slice(0, 12)} is not the tip of a branch or tag on ${facts.remoteName}: Argo CD finds it only if a pushed branch or tag contains it`,
    );
  } else if (probe.revision.commit !== facts.head && revision === facts.branch) {
    warnings.push(
      `${facts.remoteName}/${revision} is at ${probe.revision.commit.slice(0, 12)}, your HEAD at ` +
        `${facts.head.slice(0, 12)}: Argo CD deploys the remote; git push ${facts.remoteName} ${revision}`,
    );
  }
  return {
    delivery: {
      mode: "remote",
      repoURL: httpsUrl,
      revision,
      why: `${facts.remoteName} is readable by Argo CD and you can push to it`,
    },
    problems,
    warnings,
  };
}
