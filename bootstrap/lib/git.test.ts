import { describe, expect, test } from "bun:test";
import { chooseDelivery, findRevision, type GitFacts, parseLsRemote, toHttpsUrl } from "./git.ts";

describe("toHttpsUrl", () => {
  test.each([
    [
      "git@github.com:user/observability-sandbox.git",
      "https://github.com/user/observability-sandbox.git",
    ],
    ["ssh://git@github.com/user/repo.git", "https://github.com/user/repo.git"],
    [
      "ssh://git@gitlab.example.com:2222/group/repo.git",
      "https://gitlab.example.com/group/repo.git",
    ],
    ["https://github.com/user/repo.git", "https://github.com/user/repo.git"],
    ["http://localhost:8300/repo.git", "http://localhost:8300/repo.git"],
  ])("%s → %s", (from, to) => expect(toHttpsUrl(from)).toBe(to));

  test("local paths and file URLs are nothing the cluster can reach", () => {
    expect(toHttpsUrl("/home/me/repo")).toBeUndefined();
    expect(toHttpsUrl("file:///home/me/repo")).toBeUndefined();
  });
});

const HEAD = "a".repeat(40);
const facts: GitFacts = {
  isRepo: true,
  branch: "main",
  head: HEAD,
  dirty: [],
  remoteName: "origin",
  remoteUrl: "git@github.com:user/repo.git",
};
const good = {
  readable: true,
  pushable: true,
  revision: { kind: "branch" as const, commit: HEAD },
};
const flags = { localGit: false };

describe("chooseDelivery", () => {
  test("a readable, pushable remote: Argo CD reads it over https at the current branch", () => {
    const d = chooseDelivery({ facts, flags, probe: good });
    expect(d.problems).toEqual([]);
    expect(d.delivery).toMatchObject({
      mode: "remote",
      repoURL: "https://github.com/user/repo.git",
      revision: "main",
    });
  });

  test("not readable anonymously (private repo): the in-cluster git server, saying why", () => {
    const d = chooseDelivery({
      facts,
      flags,
      probe: { readable: false, pushable: false, detail: "not found" },
    });
    expect(d.delivery?.mode).toBe("local");
    expect(d.delivery?.repoURL).toBe(
      "http://git-server.argocd.svc:23232/observability-sandbox.git",
    );
    expect(d.delivery?.why).toContain("cannot read https://github.com/user/repo.git");
  });

  test("readable but not pushable (a clone of someone else's repo): local", () => {
    const d = chooseDelivery({
      facts,
      flags,
      probe: { readable: true, pushable: false, detail: "denied" },
    });
    expect(d.delivery?.mode).toBe("local");
    expect(d.delivery?.why).toContain("cannot push to origin");
  });

  test("no remote at all: local", () => {
    const d = chooseDelivery({
      facts: { ...facts, remoteName: undefined, remoteUrl: undefined },
      flags,
    });
    expect(d.delivery?.mode).toBe("local");
    expect(d.problems).toEqual([]);
  });

  test("falling back to the git server with --revision naming another branch is a problem", () => {
    const d = chooseDelivery({ facts, flags: { localGit: false, revision: "demo" } });
    expect(d.delivery?.mode).toBe("local");
    expect(d.problems[0]?.problem).toContain("would push your current branch main");
    expect(d.problems[0]?.fix).toContain("git switch demo");
  });

  test("--local-git wins over a good remote", () => {
    const d = chooseDelivery({ facts, flags: { localGit: true }, probe: good });
    expect(d.delivery?.mode).toBe("local");
  });

  test("--repo and --revision override; an unreadable --repo is a problem with a fix", () => {
    const ok = chooseDelivery({
      facts,
      flags: { localGit: false, repo: "git@github.com:me/fork.git", revision: "demo" },
      probe: good,
    });
    expect(ok.delivery).toMatchObject({
      mode: "remote",
      repoURL: "https://github.com/me/fork.git",
      revision: "demo",
    });
    const bad = chooseDelivery({
      facts,
      flags: { localGit: false, repo: "https://github.com/me/private.git" },
      probe: { readable: false, pushable: false, detail: "Authentication failed" },
    });
    expect(bad.problems[0]?.problem).toContain("cannot read https://github.com/me/private.git");
    expect(bad.problems[0]?.fix).toContain("--local-git");
  });

  test("detached HEAD without --revision is a problem; with --revision it is fine", () => {
    const detached = { ...facts, branch: undefined };
    const d = chooseDelivery({ facts: detached, flags, probe: good });
    expect(d.problems[0]?.problem).toContain("HEAD is detached");
    expect(d.problems[0]?.fix).toContain("--revision");
    const pinned = chooseDelivery({
      facts: detached,
      flags: { localGit: false, revision: "main" },
      probe: good,
    });
    expect(pinned.problems).toEqual([]);
  });

  test("dirty tree and unpushed commits are warnings naming the fix", () => {
    const d = chooseDelivery({
      facts: { ...facts, dirty: ["apps/api-gateway/src/index.ts"] },
      flags,
      probe: { ...good, revision: { kind: "branch", commit: "b".repeat(40) } },
    });
    expect(d.problems).toEqual([]);
    expect(d.warnings.join("\n")).toContain("uncommitted changes (apps/api-gateway/src/index.ts)");
    expect(d.warnings.join("\n")).toContain("git push origin main");
  });

  test("the remote lacks the branch: a problem with the push command", () => {
    const d = chooseDelivery({ facts, flags, probe: { readable: true, pushable: true } });
    expect(d.problems[0]?.fix).toBe("push it: git push -u origin main");
  });

  test("--repo with a full commit SHA or a tag: accepted as Argo CD resolves them", () => {
    const sha = "c".repeat(40);
    const refs = parseLsRemote(`${HEAD}\trefs/heads/main\n`);
    const bySha = chooseDelivery({
      facts: { ...facts, branch: undefined, head: sha }, // a CI checkout: detached at the commit
      flags: { localGit: false, repo: "https://github.com/me/fork.git", revision: sha },
      probe: { readable: true, pushable: false, revision: findRevision(refs, sha) },
    });
    expect(bySha.problems).toEqual([]);
    expect(bySha.delivery).toMatchObject({ mode: "remote", revision: sha });
    // Not a tip the remote lists: fine, with a note that it must have been pushed.
    expect(bySha.warnings.join("\n")).toContain("Argo CD finds it only if a pushed branch");
    const byTag = chooseDelivery({
      facts,
      flags: { localGit: false, repo: "https://github.com/me/fork.git", revision: "v1.0.0" },
      probe: { readable: true, pushable: false, revision: { kind: "tag", commit: HEAD } },
    });
    expect(byTag.problems).toEqual([]);
    expect(byTag.delivery?.revision).toBe("v1.0.0");
    const missing = chooseDelivery({
      facts,
      flags: { localGit: false, repo: "https://github.com/me/fork.git", revision: "nope" },
      probe: { readable: true, pushable: false },
    });
    expect(missing.problems[0]?.problem).toBe(
      "https://github.com/me/fork.git has no branch or tag nope",
    );
  });

  test("the in-cluster git server takes the current branch or its HEAD commit, nothing else", () => {
    const local = (revision: string, f: GitFacts = facts) =>
      chooseDelivery({ facts: f, flags: { localGit: true, revision } });
    expect(local("main").problems).toEqual([]);
    expect(local(HEAD).problems).toEqual([]); // the branch push carries HEAD's commit
    expect(local(HEAD).delivery?.revision).toBe(HEAD);
    const tag = local("v1.0.0");
    expect(tag.problems[0]?.problem).toContain(
      "--revision v1.0.0 is neither that branch nor its HEAD commit",
    );
    expect(tag.problems[0]?.fix).toContain("git switch -c <branch> v1.0.0");
    expect(local("d".repeat(40)).problems).toHaveLength(1);
    expect(local(HEAD, { ...facts, branch: undefined }).problems[0]?.problem).toContain(
      "HEAD is detached",
    );
  });
});

describe("findRevision over git ls-remote output", () => {
  const listing = [
    `${"1".repeat(40)}\tHEAD`,
    `${"1".repeat(40)}\trefs/heads/main`,
    `${"2".repeat(40)}\trefs/tags/v1`,
    `${"3".repeat(40)}\trefs/tags/v1^{}`,
    `${"4".repeat(40)}\trefs/tags/light`,
  ].join("\n");
  const refs = parseLsRemote(`${listing}\n`);

  test("a branch, an annotated tag (its commit), a lightweight tag", () => {
    expect(findRevision(refs, "main")).toEqual({ kind: "branch", commit: "1".repeat(40) });
    expect(findRevision(refs, "v1")).toEqual({ kind: "tag", commit: "3".repeat(40) });
    expect(findRevision(refs, "light")).toEqual({ kind: "tag", commit: "4".repeat(40) });
  });

  test("a full commit SHA as it is, listed or not; a short SHA or unknown name is not found", () => {
    expect(findRevision(refs, "1".repeat(40))).toEqual({
      kind: "commit",
      commit: "1".repeat(40),
      listed: true,
    });
    expect(findRevision(refs, "9".repeat(40))?.listed).toBe(false);
    expect(findRevision(refs, "1111111")).toBeUndefined();
    expect(findRevision(refs, "demo")).toBeUndefined();
  });
});
