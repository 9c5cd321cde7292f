// `bun bootstrap/release.ts <service...> -m "<message>" [--push]`: GitOps delivery of service code.
// Commits the service's changed build inputs together with its new content tag in
// gitops/services/<service>.yaml (one commit: the history says which code runs), then builds the
// image and loads it into kind; --push delivers the commit to the remote Argo CD reads (the
// in-cluster `cluster` remote when up.ts added it), and Argo CD rolls it out.
import { join, resolve } from "node:path";
import { CliError, exitWithError, formatDuration, shellWord } from "../cli/errors.ts";
import { parseFlags } from "../cli/flags.ts";
import {
  buildxPush,
  checkRegistryPair,
  registryImageQuery,
  registryTarget,
} from "./lib/existing-cluster.ts";
import { buildInputs, contentTag, imageRef, valuesFile, withTag } from "./lib/image-tag.ts";
import {
  DEFAULT_CLUSTER,
  GIT_SERVER,
  kubeContext,
  registryImageRef,
  SERVICES,
  type Service,
} from "./lib/names.ts";
import { refreshApplications } from "./lib/plan.ts";
import { checkBuildTools } from "./lib/preflight.ts";
import { type Command, exec, show } from "./lib/run.ts";
import { parseClusterName } from "./lib/up-args.ts";

const root = resolve(import.meta.dir, "..");
const COMMAND = "bun bootstrap/release.ts";
const HELP = `usage: ${COMMAND} <service...|--all> [-m "<message>"] [flags]

For each service (${SERVICES.join(", ")}): compute its content tag (sha256 of its git-tracked
build inputs), write it into gitops/services/<service>.yaml and commit that file together with
the service's changed build inputs (one commit), then build sandbox/<service>:<tag> and load it
into the kind cluster. Argo CD deploys it once it is pushed (--push).

Flags:
  -m, --message <text>   commit message for the edit and its tag (needed when the build inputs
                         have uncommitted changes: they are committed with the tag)
  --all                  every service
  --push                 push the commit (to remote "${GIT_SERVER.remote}" if up.ts added it, else your branch's remote)
  --remote <name>        push to this remote instead
  --no-build             write and commit the tag (and the edit); no docker, no kind
  --no-commit            write the tag but leave committing to you
  --cluster-name <name>  kind cluster to load into (default ${DEFAULT_CLUSTER})
  --context <ctx> --registry <prefix>
                         an existing cluster (as up.ts): build for its nodes' platforms and
                         push <prefix>/<service>:<tag> instead of loading into kind
`;

const FLAGS = {
  message: { type: "string", short: "m" },
  all: { type: "boolean" },
  push: { type: "boolean" },
  remote: { type: "string" },
  "no-build": { type: "boolean" },
  "no-commit": { type: "boolean" },
  "cluster-name": { type: "string" },
  context: { type: "string" },
  registry: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

// Builds and pushes can take minutes: their output is shown as it comes, under a generous limit.
async function run(command: Command, what: string, fix?: string): Promise<string> {
  console.log(`    $ ${show(command)}`);
  const timeoutMs = 20 * 60_000;
  const result = await exec(command, {
    cwd: root,
    timeoutMs,
    onLine: (line) => console.log(`    | ${line}`),
  });
  if (result.timedOut) {
    throw new CliError(
      `${what} timed out after ${formatDuration(timeoutMs)}`,
      "check your network and Docker (`docker info`), then run release.ts again; finished steps are skipped",
    );
  }
  if (result.code !== 0) {
    throw new CliError(
      `${what} failed (exit ${result.code}; its output is above)`,
      fix ?? "fix the cause above and run release.ts again; finished steps are skipped",
    );
  }
  return result.stdout;
}

async function main(): Promise<void> {
  const { values, positionals } = parseFlags(COMMAND, Bun.argv.slice(2), FLAGS, {
    positionals: true,
  });
  if (values.help) return console.log(HELP);
  const unknown = positionals.filter((p) => !(SERVICES as readonly string[]).includes(p));
  if (unknown.length > 0 || (positionals.length === 0 && !values.all)) {
    throw new CliError(
      unknown.length ? `unknown service ${unknown.join(", ")}` : "which service?",
      `name one or more of: ${SERVICES.join(", ")} (or --all)`,
    );
  }
  // Flags that cannot work are refused before anything is committed.
  checkRegistryPair(values.context, values.registry);
  const named = [...new Set(values.all ? SERVICES : positionals)] as Service[];
  const cluster = parseClusterName(values["cluster-name"], process.env);
  const build = !values["no-build"];
  const commit = !values["no-commit"];
  const message = values.message?.trim();
  // The command to run again, with the flags that say where the release goes.
  const where = (["cluster-name", "context", "registry", "remote"] as const).flatMap((flag) =>
    values[flag] === undefined ? [] : [`--${flag}`, values[flag]],
  );
  const again = show({
    argv: [
      ...COMMAND.split(" "),
      ...(values.all ? ["--all"] : named),
      ...(values["no-build"] ? ["--no-build"] : []),
      ...where,
      ...(values.push ? ["--push"] : []),
    ],
  });
  if (values.message !== undefined && !message)
    throw new CliError("the commit message (-m) is empty", `${again} -m "what you changed"`);
  if (message && !commit)
    throw new CliError("-m commits and --no-commit does not", `${again} -m ${quoted(message)}`);
  if (values.push && !commit)
    throw new CliError(
      "--push delivers the release commit and --no-commit makes none (it would push HEAD without the tag)",
      `drop --no-commit: ${again}`,
    );

  // The tag must name committed code, or the history would not say what runs: uncommitted
  // build inputs go into the release commit (with -m), or stop the release.
  const edits = commit ? await changedFiles(named.flatMap(buildInputs)) : [];
  // Every fix below is a command that works as it stands: with -m when there are edits.
  const withMessage = message
    ? ` -m ${quoted(message)}`
    : edits.length > 0
      ? ' -m "<what you changed>"'
      : "";

  // What the build needs, before anything is staged or committed: a release that cannot build
  // leaves the history and the working tree as they were.
  if (build) {
    const problems = await checkBuildTools(root, values.context ? "cluster" : "kind");
    if (problems.length > 0)
      throw new CliError(
        problems.map((p) => p.problem).join("; "),
        `${problems.map((p) => p.fix).join("; ")}; or without building: ${again} --no-build${withMessage}`,
      );
  }
  const target = build ? await registryTarget(root, values.context, values.registry) : undefined;
  let clusterExists = false;
  if (build && !target) {
    const clusters = await exec({ argv: ["kind", "get", "clusters"] }, { cwd: root });
    clusterExists = clusters.stdout.split("\n").some((l) => l.trim() === cluster);
    if (!clusterExists)
      console.log(
        `note: no kind cluster ${cluster}; building only (bun bootstrap/up.ts loads it later)`,
      );
  }

  let services = named;
  if (commit) {
    if (edits.length > 0 && !message) {
      throw new CliError(
        `uncommitted changes in the build inputs:\n${edits.map((path) => `    ${path}`).join("\n")}`,
        `${again} -m "<what you changed>"   (commits them with the new tag; --no-commit only writes the tag)`,
      );
    }
    // apps/telemetry, apps/service-kit and bun.lock go into every image: committing an edit
    // there changes the other services' tags as well, so they are released with it.
    for (const other of SERVICES.filter((s) => !services.includes(s))) {
      const theirs = await changedFiles(buildInputs(other));
      if (theirs.some((path) => edits.includes(path))) {
        console.log(
          `note: ${other} is built from the changed files too, so it is released with them`,
        );
        services = [...services, other];
      }
    }
  }

  // Tags and the commit first, the slow build after: a failed build leaves history consistent,
  // and running release.ts again skips what is done. Should the commit fail (the pre-commit
  // hook's lint, say), the index and the tag files go back to what they were: the edit stays
  // in the working tree, unstaged, as the user left it.
  const index = commit ? await savedIndex() : "";
  const tags = new Map<Service, string>();
  const changed: { service: Service; before: string }[] = [];
  try {
    // Staged first, so a new file counts in the tag (tags are over git-tracked files).
    if (edits.length > 0) await run({ argv: ["git", "add", "-A", "--", ...edits] }, "git add");
    for (const service of services) {
      const tag = await contentTag(root, service);
      tags.set(service, tag);
      console.log(`==> ${service}: content tag ${tag}`);
      const before = await writeTag(service, tag);
      if (before !== undefined) changed.push({ service, before });
    }
    if (commit && (changed.length > 0 || edits.length > 0)) {
      const release = `Release ${services.map((s) => `${s} ${tags.get(s)}`).join(", ")}`;
      const tagFiles = changed.map(({ service }) => valuesFile(service));
      const files = [...edits, ...tagFiles];
      await run({ argv: ["git", "add", "--", ...tagFiles] }, "git add");
      await run(
        {
          argv: [
            "git",
            "commit",
            "-q",
            "-m",
            message ?? release,
            ...(message ? ["-m", release] : []),
            "--",
            ...files,
          ],
        },
        "git commit",
        `fix what the output above reports (the pre-commit hook runs bun run lint; bunx biome check --write . formats), then run ${again}${withMessage}`,
      );
      console.log(`    committed: ${message ?? release} (${files.length} file(s))`);
    }
  } catch (error) {
    if (!commit) throw error;
    await exec({ argv: ["git", "read-tree", index] }, { cwd: root });
    for (const { service, before } of changed)
      await Bun.write(join(root, valuesFile(service)), before);
    if (error instanceof CliError)
      throw new CliError(
        `${error.message}; nothing was committed, and the index and the tag files are as they were`,
        error.fix,
      );
    throw error;
  }

  for (const service of services) {
    const tag = tags.get(service) as string;
    const ref = imageRef(service, tag);
    if (target) {
      const pushed = registryImageRef(target.registry, service, tag);
      if ((await exec({ argv: registryImageQuery(pushed) }, { cwd: root })).code === 0)
        console.log(`    image ${pushed} already in the registry`);
      else
        await run(
          buildxPush(pushed, `apps/${service}/Dockerfile`, target.platforms),
          `docker buildx build and push of ${service} (a refused push needs docker login)`,
        );
    } else if (build) {
      const inspect = await exec(
        { argv: ["docker", "image", "inspect", "--format", "{{.Id}}", ref] },
        { cwd: root },
      );
      if (inspect.code === 0) console.log(`    image ${ref} already built`);
      else
        await run(
          { argv: ["docker", "build", "--tag", ref, "--file", `apps/${service}/Dockerfile`, "."] },
          `docker build of ${service}`,
        );
      if (clusterExists)
        await run(
          { argv: ["kind", "load", "docker-image", ref, "--name", cluster] },
          `loading ${ref} into kind`,
        );
    }
  }

  if (values.push) {
    const remote = values.remote ?? (await pushRemote());
    const branch = (
      await exec({ argv: ["git", "symbolic-ref", "--short", "-q", "HEAD"] }, { cwd: root })
    ).stdout.trim();
    if (!branch)
      throw new CliError("HEAD is detached; nothing to push", "git switch <branch> first");
    await run(
      {
        argv: ["git", "push", remote, `HEAD:refs/heads/${branch}`],
        // No prompt: a missing or refused credential fails here, with its fix.
        env: { GIT_TERMINAL_PROMPT: "0" },
      },
      `git push to ${remote}`,
      remote === GIT_SERVER.remote
        ? `a refused push (Authentication failed) means the git server's push token is missing or stale: run bun bootstrap/up.ts${values["cluster-name"] ? ` --cluster-name ${values["cluster-name"]}` : ""} (it mints a new one), then ${again} --push`
        : undefined,
    );
    if (clusterExists || target) await askArgoToRefresh(target?.context ?? kubeContext(cluster));
    // Only what is known: which Argo CD (if any) was told, or that none runs here.
    const named = values["cluster-name"] ? ` --cluster-name ${values["cluster-name"]}` : "";
    console.log(
      target
        ? `pushed to ${remote}: Argo CD on ${target.context} rolls it out; watch with bun bootstrap/status.ts --context ${target.context} --watch`
        : clusterExists
          ? `pushed to ${remote}: Argo CD in kind cluster ${cluster} rolls it out; watch with bun bootstrap/status.ts${named} --watch`
          : build
            ? `pushed to ${remote}. No kind cluster ${cluster} runs here, so nothing here deploys it; bun bootstrap/up.ts${named} brings one up that does`
            : `pushed to ${remote} (--no-build: no cluster was asked); an Argo CD that reads ${remote} deploys it at its next poll, within about 70 s`,
    );
  } else if (commit && changed.length > 0) {
    console.log(`deliver it with git push (or: ${again} --push)`);
  }
}

/** Writes the tag into the service's values file: its text before, or undefined when it had it. */
async function writeTag(service: Service, tag: string): Promise<string | undefined> {
  const file = Bun.file(join(root, valuesFile(service)));
  if (!(await file.exists())) {
    throw new CliError(
      `${valuesFile(service)} is missing`,
      `restore it: git checkout -- ${valuesFile(service)}`,
    );
  }
  const text = await file.text();
  let updated: string;
  try {
    updated = withTag(text, tag);
  } catch (error) {
    throw new CliError(
      `${valuesFile(service)}: ${(error as Error).message}`,
      (error as CliError).fix,
    );
  }
  if (updated === text) {
    console.log(`    ${valuesFile(service)} already has tag ${tag}`);
    return undefined;
  }
  await Bun.write(file, updated);
  console.log(`    wrote image.tag ${tag} to ${valuesFile(service)}`);
  return text;
}

/** The index as a tree object, for `git read-tree` to put back. */
async function savedIndex(): Promise<string> {
  const tree = await exec({ argv: ["git", "write-tree"] }, { cwd: root });
  if (tree.code !== 0)
    throw new CliError(
      `git write-tree failed (${tree.stderr.trim().split("\n")[0]}); nothing was changed`,
      "resolve what `git status` shows as unmerged first, then run release.ts again",
    );
  return tree.stdout.trim();
}

/** A commit message as the fix shows it: in double quotes unless the shell would expand it. */
const quoted = (message: string) =>
  /["$`\\!]/.test(message) ? shellWord(message) : `"${message}"`;

/** Uncommitted (modified, deleted or new) files matching the pathspecs, from `git status`. */
async function changedFiles(pathspecs: string[]): Promise<string[]> {
  const status = await exec(
    {
      argv: [
        "git",
        "status",
        "--porcelain",
        "-z",
        "--no-renames",
        "--untracked-files=all",
        "--",
        ...pathspecs,
      ],
    },
    { cwd: root },
  );
  return status.stdout
    .split("\0")
    .filter(Boolean)
    .map((entry) => entry.slice(3))
    .sort();
}

/** Asks Argo CD to re-read git now instead of at its next poll (at most a minute later). */
async function askArgoToRefresh(context: string): Promise<void> {
  const { argv } = refreshApplications(context);
  console.log(`    $ ${show({ argv })}`);
  const result = await exec({ argv }, { cwd: root });
  if (result.code !== 0) {
    const why = result.stderr.trim().split("\n")[0];
    console.log(
      `    note: could not ask Argo CD to refresh (${why}); it polls within a minute anyway`,
    );
  }
}

async function pushRemote(): Promise<string> {
  const remotes = (await exec({ argv: ["git", "remote"] }, { cwd: root })).stdout
    .split("\n")
    .filter(Boolean);
  if (remotes.includes(GIT_SERVER.remote)) return GIT_SERVER.remote;
  const branch = (
    await exec({ argv: ["git", "symbolic-ref", "--short", "-q", "HEAD"] }, { cwd: root })
  ).stdout.trim();
  const upstream = branch
    ? (
        await exec({ argv: ["git", "config", `branch.${branch}.remote`] }, { cwd: root })
      ).stdout.trim()
    : "";
  const remote = upstream || (remotes.includes("origin") ? "origin" : remotes[0]);
  if (!remote)
    throw new CliError(
      "no git remote to push to",
      "run bun bootstrap/up.ts (it adds one), or pass --remote <name>",
    );
  return remote;
}

await main().catch(exitWithError);
