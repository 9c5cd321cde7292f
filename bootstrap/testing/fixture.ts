// A throw-away clone of the project for running the real bootstrap scripts against stand-in
// tools: bootstrap's own code, minimal services, gitops/root.yaml in the contract's shape,
// a git history, and a "GitHub" that is a local bare repository (git's url.insteadOf).

import { afterAll } from "bun:test";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { contentTag, valuesFile } from "../lib/image-tag.ts";
import { SERVICES } from "../lib/names.ts";
import { readCalls, readState, writeShims, writeState } from "./fake/index.ts";
import { type FakeState, freshState } from "./fake/state.ts";

const BOOTSTRAP = join(import.meta.dir, "..");

export const ROOT_YAML = `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: root
  namespace: argocd
  finalizers: [resources-finalizer.argocd.argoproj.io]
spec:
  project: sandbox-root
  source:
    repoURL: https://github.com/your-user/observability-sandbox.git
    targetRevision: main
    path: gitops/apps
    helm:
      valuesObject:
        repoURL: https://github.com/your-user/observability-sandbox.git
        revision: main
  destination:
    server: https://kubernetes.default.svc
    namespace: argocd
  syncPolicy:
    automated: { prune: true, selfHeal: true }
`;

export interface Fixture {
  dir: string;
  repo: string;
  bin: string;
  statePath: string;
  logPath: string;
  /** Directory standing in for https://github.com/ (bare repositories). */
  github: string;
  gitServer: string;
  env: Record<string, string>;
  state(): FakeState;
  setState(patch: Partial<FakeState>): void;
  calls(): string[][];
  git(...args: string[]): Promise<string>;
  run(script: string, args?: string[], extraEnv?: Record<string, string>): Promise<RunResult>;
  cleanup(): void;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface FixtureOptions {
  tools?: string[];
  /** origin URL; undefined for no remote. Default: ssh URL of a readable, pushable repo. */
  origin?: string | null;
  /** Create the "GitHub" bare repo behind origin (default true). */
  publishOrigin?: boolean;
  state?: Partial<FakeState>;
}

/** Where a fixture keeps what, under its directory. */
function layout(dir: string) {
  return {
    repo: join(dir, "repo"),
    bin: join(dir, "bin"),
    base: join(dir, "base-bin"),
    github: join(dir, "github"),
    gitServer: join(dir, "git-server"),
    statePath: join(dir, "state.json"),
    logPath: join(dir, "calls.log"),
  };
}

/** The environment a fixture's scripts and git run in. */
function fixtureEnv(dir: string): Record<string, string> {
  const { bin, base, github, gitServer, statePath, logPath } = layout(dir);
  return {
    PATH: `${bin}:${base}`,
    HOME: dir,
    FAKE_STATE: statePath,
    FAKE_LOG: logPath,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_AUTHOR_NAME: "Test",
    GIT_AUTHOR_EMAIL: "test@example.com",
    GIT_COMMITTER_NAME: "Test",
    GIT_COMMITTER_EMAIL: "test@example.com",
    // "GitHub" and the in-cluster git server are local bare repositories.
    GIT_CONFIG_COUNT: "5",
    GIT_CONFIG_KEY_0: `url.${github}/.insteadOf`,
    GIT_CONFIG_VALUE_0: "https://github.com/",
    GIT_CONFIG_KEY_1: `url.${github}/.insteadOf`,
    GIT_CONFIG_VALUE_1: "git@github.com:",
    GIT_CONFIG_KEY_2: `url.${gitServer}/.insteadOf`,
    GIT_CONFIG_VALUE_2: "http://localhost:8300/",
    // No housekeeping after each commit: these repositories live for one test, and the extra git
    // processes (maintenance, gc --auto) add up over hundreds of calls. (A push's receive-pack
    // does not see these variables: git clears them for local transports.)
    GIT_CONFIG_KEY_3: "maintenance.auto",
    GIT_CONFIG_VALUE_3: "false",
    GIT_CONFIG_KEY_4: "gc.auto",
    GIT_CONFIG_VALUE_4: "0",
    NO_COLOR: "1",
  };
}

/** Real git in the fixture's clone; throws on failure. */
function gitIn(dir: string): (...args: string[]) => Promise<string> {
  const { repo, base } = layout(dir);
  return async (...args: string[]) => {
    const p = Bun.spawn(["git", ...args], {
      cwd: repo,
      env: { ...fixtureEnv(dir), PATH: base },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, err, code] = await Promise.all([
      new Response(p.stdout).text(),
      new Response(p.stderr).text(),
      p.exited,
    ]);
    if (code !== 0) throw new Error(`git ${args.join(" ")}: ${err}`);
    return out.trim();
  };
}

// A fixture's files and history depend only on its tools and remote, and take some twenty git
// processes to make: each kind is made once and copied for every fixture, and removed with the
// last fixture made from it.
const templates = new Map<string, { dir: Promise<string>; users: number }>();

/** Copies the template for these options into dir; returns how to let go of the template. */
async function copyTemplate(options: FixtureOptions, dir: string): Promise<() => void> {
  const key = JSON.stringify([options.tools, options.origin, options.publishOrigin]);
  let made = templates.get(key);
  if (!made) {
    made = { dir: makeTemplate(options), users: 0 };
    templates.set(key, made);
  }
  made.users++;
  const source = await made.dir;
  cpSync(source, dir, { recursive: true });
  const template = made;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--template.users > 0) return;
    if (templates.get(key) === template) templates.delete(key);
    rmSync(source, { recursive: true, force: true });
  };
}

async function makeTemplate(options: FixtureOptions): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "bootstrap-template-"));
  const { repo, bin, base, github } = layout(dir);
  // bootstrap's code and the cli/ it stands on, without tests and without verify.ts (another
  // helper's; tested there).
  mkdirSync(join(repo, "bootstrap"), { recursive: true });
  const withoutTests = { recursive: true, filter: (src: string) => !src.endsWith(".test.ts") };
  cpSync(join(BOOTSTRAP, "lib"), join(repo, "bootstrap", "lib"), withoutTests);
  cpSync(join(BOOTSTRAP, "..", "cli"), join(repo, "cli"), withoutTests);
  for (const file of readdirSync(BOOTSTRAP)) {
    if (/^(up|down|status|release|open)\.ts$|^argocd-values(-cluster)?\.yaml$/.test(file)) {
      cpSync(join(BOOTSTRAP, file), join(repo, "bootstrap", file));
    }
  }
  const write = (path: string, text: string) => {
    mkdirSync(join(repo, path, ".."), { recursive: true });
    writeFileSync(join(repo, path), text);
  };
  write(
    "kind-config.yaml",
    "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n  - role: control-plane\n",
  );
  write("package.json", '{ "name": "fixture", "private": true }\n');
  write("bun.lock", "{}\n");
  write("apps/telemetry/index.ts", "export const telemetry = 1;\n");
  write("gitops/root.yaml", ROOT_YAML);
  for (const service of SERVICES) {
    write(`apps/${service}/index.ts`, `console.log("${service}");\n`);
    write(`apps/${service}/Dockerfile`, "FROM oven/bun:1.4.5\n");
  }

  // Real bun and git, nothing else: the stand-ins are the only docker/kind/kubectl/helm.
  mkdirSync(base);
  for (const tool of ["bun", "git"]) {
    const real = Bun.which(tool);
    if (real) symlinkSync(real, join(base, tool));
  }
  writeShims(bin, options.tools);
  const git = gitIn(dir);

  // No sample hooks, and packed objects: fewer files for every copy to write.
  await git("init", "-q", "--template=", "-b", "main");
  await git("add", "-A");
  await git("commit", "-q", "-m", "services");
  for (const service of SERVICES) {
    write(
      valuesFile(service),
      `image:\n  repository: sandbox/${service}\n  tag: "${await contentTag(repo, service)}"\n  pullPolicy: IfNotPresent\n`,
    );
  }
  await git("add", "-A");
  await git("commit", "-q", "-m", "release tags");

  const origin = options.origin === undefined ? "git@github.com:user/sandbox.git" : options.origin;
  if (origin) {
    await git("remote", "add", "origin", origin);
    if (options.publishOrigin !== false) {
      mkdirSync(github);
      const bare = join(github, "user", "sandbox.git");
      Bun.spawnSync(["git", "init", "-q", "--bare", "--template=", bare]);
      await git("push", "-q", "origin", "main");
      Bun.spawnSync(["git", "--git-dir", bare, "repack", "-a", "-d", "-q"]);
    }
  }
  await git("repack", "-a", "-d", "-q");
  return dir;
}

export async function makeFixture(options: FixtureOptions = {}): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), "bootstrap-test-"));
  const releaseTemplate = await copyTemplate(options, dir);
  const { repo, bin, github, gitServer, statePath, logPath } = layout(dir);
  writeState(
    statePath,
    freshState({ gitServerDir: join(gitServer, "observability-sandbox.git"), ...options.state }),
  );
  const env = fixtureEnv(dir);
  const git = gitIn(dir);

  const fixture: Fixture = {
    dir,
    repo,
    bin,
    statePath,
    logPath,
    github,
    gitServer,
    env,
    state: () => readState(statePath),
    setState: (patch) => writeState(statePath, { ...readState(statePath), ...patch }),
    calls: () => readCalls(logPath),
    git,
    async run(script, args = [], extraEnv = {}) {
      await slots.acquire();
      try {
        return await runScript(script, args, extraEnv);
      } finally {
        slots.release();
      }
    },
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
      releaseTemplate();
    },
  };
  async function runScript(
    script: string,
    args: string[],
    extraEnv: Record<string, string>,
  ): Promise<RunResult> {
    const started = performance.now();
    const p = Bun.spawn([process.execPath, join(repo, "bootstrap", script), ...args], {
      cwd: repo,
      env: { ...env, ...extraEnv },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stdout, stderr, code] = await Promise.all([
      new Response(p.stdout).text(),
      new Response(p.stderr).text(),
      p.exited,
    ]);
    return { code, stdout, stderr, ms: performance.now() - started };
  }
  return fixture;
}

/**
 * At most a few bootstrap scripts at once: each one starts dozens of short processes, and
 * concurrent tests on a small machine would otherwise starve each other into timeouts.
 */
const slots = (() => {
  let free = 3;
  const waiting: (() => void)[] = [];
  return {
    acquire: () =>
      free > 0 ? Promise.resolve(void free--) : new Promise<void>((go) => waiting.push(go)),
    release: () => {
      const next = waiting.shift();
      if (next) next();
      else free++;
    },
  };
})();

/** Calls that change something (as opposed to the read-only questions bootstrap asks). */
export function changingCalls(calls: string[][]): string[][] {
  return calls.filter(([tool, ...args]) => {
    const line = args.join(" ");
    if (tool === "docker")
      return args[0] === "build" || (args[0] === "buildx" && args[1] === "build");
    if (tool === "kind") return /^(create|load|delete) /.test(line);
    if (tool === "helm")
      return args[0] === "upgrade" || args[0] === "install" || args[0] === "uninstall";
    if (tool === "kubectl")
      return (
        !/ auth can-i /.test(line) &&
        /(^| )(create|apply|delete|patch|replace|annotate) /.test(line)
      );
    return false;
  });
}

/** A cluster with Argo CD and the root Application applied long enough ago to be healthy. */
export function makeRunningStack(degradedApp?: string): Promise<Fixture> {
  return makeFixture({
    state: {
      clusters: ["observability-sandbox"],
      helmRelease: { chart: "argo-cd-10.1.1", status: "deployed", values: {} },
      rootApp: { spec: {} },
      polls: 10,
      degradedApp,
    },
  });
}

/** Wraps a fixture maker so that every fixture it makes is removed after the file's tests. */
export function removedAfterAll<A extends unknown[]>(
  make: (...args: A) => Promise<Fixture>,
): (...args: A) => Promise<Fixture> {
  const made: Fixture[] = [];
  afterAll(() => {
    for (const f of made.splice(0)) f.cleanup();
  });
  return async (...args) => {
    const f = await make(...args);
    made.push(f);
    return f;
  };
}
