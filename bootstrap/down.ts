// `bun bootstrap/down.ts`: deletes the kind cluster (asks first unless --yes) and removes the
// `cluster` git remote that up.ts added for the in-cluster git server.
import { resolve } from "node:path";
import { parseClusterName, parseFlags } from "./lib/cli.ts";
import { GIT_SERVER, gitServerHostUrl } from "./lib/names.ts";
import { BootstrapError, exec, exitWithError } from "./lib/run.ts";

const root = resolve(import.meta.dir, "..");
const HELP = `Usage: bun bootstrap/down.ts [--yes] [--cluster-name <name>]

Deletes the kind cluster (everything in it: Argo CD, the stack, the in-cluster git server)
and the git remote "${GIT_SERVER.remote}" that up.ts added. Your commits and other remotes stay.
`;

async function main(): Promise<void> {
  const { values } = parseFlags("bun bootstrap/down.ts", Bun.argv.slice(2), {
    yes: { type: "boolean", short: "y" },
    help: { type: "boolean", short: "h" },
    "cluster-name": { type: "string" },
  });
  if (values.help) return console.log(HELP);
  const name = parseClusterName(values["cluster-name"], process.env);

  const clusters = await exec({ argv: ["kind", "get", "clusters"] }, { cwd: root });
  if (clusters.code === 127) {
    throw new BootstrapError(
      "kind is not installed",
      "nothing to delete without kind (install it: docs/bootstrap.md, prerequisites)",
    );
  }
  if (clusters.code !== 0) {
    throw new BootstrapError(
      `cannot list kind clusters: ${clusters.stderr.trim()}`,
      "start Docker (macOS: open -a Docker · Linux: sudo systemctl start docker) and try again",
    );
  }
  const exists = clusters.stdout.split("\n").some((l) => l.trim() === name);
  const remote = (
    await exec(
      { argv: ["git", "config", "--get", `remote.${GIT_SERVER.remote}.url`] },
      { cwd: root },
    )
  ).stdout.trim();
  const ours = remote === gitServerHostUrl();
  if (!exists && !ours) {
    console.log(`nothing to do: no kind cluster named ${name}, no "${GIT_SERVER.remote}" remote`);
    return;
  }
  if (!values.yes) {
    const what = [exists && `kind cluster ${name}`, ours && `git remote ${GIT_SERVER.remote}`]
      .filter(Boolean)
      .join(" and ");
    if (!process.stdin.isTTY) {
      throw new BootstrapError(
        `would delete ${what}, but cannot ask (no terminal)`,
        "re-run with --yes",
      );
    }
    const answer = prompt(`Delete ${what}? [y/N]`);
    if (!/^y(es)?$/i.test(answer?.trim() ?? "")) return console.log("nothing deleted");
  }
  if (exists) {
    console.log(`==> deleting kind cluster ${name}`);
    const deleted = await exec(
      { argv: ["kind", "delete", "cluster", "--name", name] },
      { cwd: root, timeoutMs: 5 * 60_000, onLine: (line) => console.log(`    | ${line}`) },
    );
    if (deleted.code !== 0) {
      throw new BootstrapError(
        `kind delete cluster failed: ${deleted.stderr.trim()}`,
        `docker rm -f ${name}-control-plane, then run down.ts again`,
      );
    }
  }
  if (ours) {
    console.log(`==> removing git remote ${GIT_SERVER.remote}`);
    await exec({ argv: ["git", "remote", "remove", GIT_SERVER.remote] }, { cwd: root });
  } else if (remote) {
    console.log(`note: leaving git remote ${GIT_SERVER.remote} (${remote}): up.ts did not add it`);
  }
  console.log("done: bun bootstrap/up.ts brings it all back");
}

await main().catch(exitWithError);
