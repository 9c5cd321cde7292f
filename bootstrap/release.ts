// `bun bootstrap/release.ts <service...> [--push]`: GitOps delivery of new service code.
// Computes the content tag, builds the image and loads it into kind, writes the tag into
// gitops/services/<service>.yaml and commits that file; --push delivers it to the remote Argo
// CD reads (the in-cluster `cluster` remote when up.ts added it), and Argo CD rolls it out.
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildxPush, registryImageQuery, registryTarget } from "./lib/existing-cluster.ts";
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
import {
  BootstrapError,
  type Command,
  exec,
  exitWithError,
  formatDuration,
  show,
} from "./lib/run.ts";

const root = resolve(import.meta.dir, "..");
const HELP = `Usage: bun bootstrap/release.ts <service...|--all> [flags]

For each service (${SERVICES.join(", ")}): compute its content tag (sha256 of its git-tracked
build inputs), build sandbox/<service>:<tag> and load it into the kind cluster, write the tag
into gitops/services/<service>.yaml and commit that file. Argo CD deploys it once it is pushed.

Flags:
  --all                  every service
  --push                 push the commit (to remote "${GIT_SERVER.remote}" if up.ts added it, else your branch's remote)
  --remote <name>        push to this remote instead
  --no-build             only write the tag (no docker, no kind), e.g. in CI or before committing
  --no-commit            write the tag but leave committing to you
  --cluster-name <name>  kind cluster to load into (default ${DEFAULT_CLUSTER})
  --context <ctx> --registry <prefix>
                         an existing cluster (as up.ts): build for its nodes' platforms and
                         push <prefix>/<service>:<tag> instead of loading into kind
`;

// Builds and pushes can take minutes: their output is shown as it comes, under a generous limit.
async function run(command: Command, what: string): Promise<string> {
  console.log(`    $ ${show(command)}`);
  const timeoutMs = 20 * 60_000;
  const result = await exec(command, {
    cwd: root,
    timeoutMs,
    onLine: (line) => console.log(`    | ${line}`),
  });
  if (result.timedOut) {
    throw new BootstrapError(
      `${what} timed out after ${formatDuration(timeoutMs)}`,
      "check your network and Docker (`docker info`), then run release.ts again; finished steps are skipped",
    );
  }
  if (result.code !== 0) {
    throw new BootstrapError(
      `${what} failed (exit ${result.code}; its output is above)`,
      "fix the cause above and run release.ts again; finished steps are skipped",
    );
  }
  return result.stdout;
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (error) {
    throw new BootstrapError((error as Error).message, "run `bun bootstrap/release.ts --help`");
  }
  const { values, positionals } = parsed;
  if (values.help) return console.log(HELP);
  const unknown = positionals.filter((p) => !(SERVICES as readonly string[]).includes(p));
  if (unknown.length > 0 || (positionals.length === 0 && !values.all)) {
    throw new BootstrapError(
      unknown.length ? `unknown service ${unknown.join(", ")}` : "which service?",
      `name one or more of: ${SERVICES.join(", ")} (or --all)`,
    );
  }
  const services = (values.all ? [...SERVICES] : positionals) as Service[];
  const cluster = values["cluster-name"] ?? process.env.BOOTSTRAP_CLUSTER_NAME ?? DEFAULT_CLUSTER;
  const build = !values["no-build"];
  const commit = !values["no-commit"];

  if (commit) {
    // The tag must name committed code, or the history would not say what runs.
    const dirty = await exec(
      { argv: ["git", "status", "--porcelain", "--", ...new Set(services.flatMap(buildInputs))] },
      { cwd: root },
    );
    if (dirty.stdout.trim()) {
      throw new BootstrapError(
        `uncommitted changes in the build inputs:\n${dirty.stdout
          .trimEnd()
          .split("\n")
          .map((l) => `    ${l}`)
          .join("\n")}`,
        'commit them first (git commit -am "…"), or use --no-commit to only write the tag',
      );
    }
  }

  const target = build ? await registryTarget(root, values.context, values.registry) : undefined;
  let clusterExists = false;
  if (build && !target) {
    const clusters = await exec({ argv: ["kind", "get", "clusters"] }, { cwd: root });
    if (clusters.code === 127)
      throw new BootstrapError(
        "kind is not installed",
        "install it (see the README prerequisites) or use --no-build",
      );
    clusterExists = clusters.stdout.split("\n").some((l) => l.trim() === cluster);
    if (!clusterExists)
      console.log(
        `note: no kind cluster ${cluster}; building only (bun bootstrap/up.ts loads it later)`,
      );
  }

  const changed: Service[] = [];
  for (const service of services) {
    const tag = await contentTag(root, service);
    const ref = imageRef(service, tag);
    console.log(`==> ${service}: content tag ${tag}`);
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
    const file = Bun.file(join(root, valuesFile(service)));
    if (!(await file.exists())) {
      throw new BootstrapError(
        `${valuesFile(service)} is missing`,
        `restore it: git checkout -- ${valuesFile(service)}`,
      );
    }
    const text = await file.text();
    let updated: string;
    try {
      updated = withTag(text, tag);
    } catch (error) {
      throw new BootstrapError(
        `${valuesFile(service)}: ${(error as Error).message}`,
        (error as BootstrapError).fix,
      );
    }
    if (updated === text) {
      console.log(`    ${valuesFile(service)} already has tag ${tag}`);
      continue;
    }
    await Bun.write(file, updated);
    console.log(`    wrote image.tag ${tag} to ${valuesFile(service)}`);
    changed.push(service);
  }

  if (commit && changed.length > 0) {
    const files = changed.map(valuesFile);
    const tags = await Promise.all(changed.map(async (s) => `${s} ${await contentTag(root, s)}`));
    await run({ argv: ["git", "add", "--", ...files] }, "git add");
    await run(
      { argv: ["git", "commit", "-q", "-m", `Release ${tags.join(", ")}`, "--", ...files] },
      "git commit",
    );
  }
  if (values.push) {
    const remote = values.remote ?? (await pushRemote());
    const branch = (
      await exec({ argv: ["git", "symbolic-ref", "--short", "-q", "HEAD"] }, { cwd: root })
    ).stdout.trim();
    if (!branch)
      throw new BootstrapError("HEAD is detached; nothing to push", "git switch <branch> first");
    await run(
      { argv: ["git", "push", remote, `HEAD:refs/heads/${branch}`] },
      `git push to ${remote}`,
    );
    if (clusterExists || target) await askArgoToRefresh(target?.context ?? kubeContext(cluster));
    console.log("pushed: Argo CD rolls it out; watch with bun bootstrap/status.ts --watch");
  } else if (commit && changed.length > 0) {
    console.log("committed; deliver it with git push (or run this again with --push)");
  }
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
    throw new BootstrapError(
      "no git remote to push to",
      "run bun bootstrap/up.ts (it adds one), or pass --remote <name>",
    );
  return remote;
}

function parse() {
  return parseArgs({
    args: Bun.argv.slice(2),
    allowPositionals: true,
    options: {
      all: { type: "boolean" },
      push: { type: "boolean" },
      remote: { type: "string" },
      "no-build": { type: "boolean" },
      "no-commit": { type: "boolean" },
      "cluster-name": { type: "string" },
      context: { type: "string" },
      registry: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

await main().catch(exitWithError);
