// `bun bootstrap/status.ts [--watch]`: the Argo CD Applications table, once or following it.
import { resolve } from "node:path";
import { CliError, exitWithError } from "../cli/errors.ts";
import { parseDuration, parseFlags } from "../cli/flags.ts";
import { allReady, explainNotReady, renderTable, rows } from "./lib/apps.ts";
import { kubeContext, ROOT_APP } from "./lib/names.ts";
import { parseClusterName, refuseBothClusters } from "./lib/up-args.ts";
import { fetchApplications } from "./lib/wait.ts";

const root = resolve(import.meta.dir, "..");
const HELP = `usage: bun bootstrap/status.ts [--watch] [--interval 5s] [--cluster-name <name> | --context <ctx>]

Prints the Argo CD Applications with their sync and health state, and what the
not-ready ones are waiting on. Exit status: 0 when every Application is Synced and
Healthy, 2 when not. --watch redraws it until you press Ctrl-C. --context reads an existing
cluster (up.ts --context) instead of the kind cluster.
`;

async function main(): Promise<void> {
  const command = "bun bootstrap/status.ts";
  const { values } = parseFlags(command, Bun.argv.slice(2), {
    watch: { type: "boolean", short: "w" },
    help: { type: "boolean", short: "h" },
    interval: { type: "string" },
    "cluster-name": { type: "string" },
    context: { type: "string" },
  });
  if (values.help) return console.log(HELP);
  refuseBothClusters(command, values["cluster-name"], values.context);
  const context =
    values.context ?? kubeContext(parseClusterName(values["cluster-name"], process.env));
  const interval = parseDuration(values.interval ?? "5s", "--interval", { min: 100 });
  const live = process.stdout.isTTY === true;
  let drawn = 0;
  for (;;) {
    const { apps, error } = await fetchApplications(root, context);
    if (!apps) {
      throw new CliError(
        `cannot read the Applications: ${error}`,
        values.context === undefined
          ? "bun bootstrap/up.ts brings the kind cluster back (it starts stopped nodes) or creates it"
          : `check the context: kubectl --context ${values.context} get nodes (kubectl config get-contexts lists them)`,
      );
    }
    const ready = allReady(apps, ROOT_APP.name);
    const text = [
      renderTable(rows(apps), process.stdout.columns || 120),
      ready
        ? `all ${apps.length} Applications Synced and Healthy`
        : `not ready:\n${explainNotReady(apps, ROOT_APP.name)}`,
    ].join("\n");
    if (!values.watch) {
      console.log(text);
      process.exit(ready ? 0 : 2);
    }
    if (live && drawn > 0) process.stdout.write(`\x1b[${drawn}A\x1b[J`);
    console.log(live ? text : `--- ${new Date().toISOString()}\n${text}`);
    drawn = text.split("\n").length;
    await Bun.sleep(interval);
  }
}

await main().catch(exitWithError);
