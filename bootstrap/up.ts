// `bun bootstrap/up.ts`: from nothing to a synced, healthy stack; safe and quick to re-run.
// Preflight (change nothing unless everything is in place) → detect state → plan → run → wait.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { CliError, exitWithError, formatDuration } from "../cli/errors.ts";
import { checkExistingCluster } from "./lib/existing-cluster.ts";
import {
  chooseDelivery,
  type GitFacts,
  isRefName,
  probeRemote,
  readGitFacts,
  toHttpsUrl,
} from "./lib/git.ts";
import { credentialFile, mintAndSave } from "./lib/git-credential.ts";
import { contentTag, imageRef } from "./lib/image-tag.ts";
import { randomPassword, rootApplication } from "./lib/manifests.ts";
import {
  ARGOCD,
  DEFAULT_CLUSTER,
  GIT_SERVER,
  GRAFANA_SECRET,
  gitServerHostUrl,
  kubeContext,
  OBJECT_STORAGE_SECRET,
  ROOT_APP,
  registryImageRef,
  SERVICES,
} from "./lib/names.ts";
import { type Desired, plan, type Step } from "./lib/plan.ts";
import { checkRepository, checkTools, type Problem } from "./lib/preflight.ts";
import { show } from "./lib/run.ts";
import { detectState } from "./lib/state.ts";
import { runStep } from "./lib/steps.ts";
import { parseUpArgs, UP_HELP, type UpOptions } from "./lib/up-args.ts";
import { waitForApplications } from "./lib/wait.ts";

const root = resolve(import.meta.dir, "..");

async function main(): Promise<void> {
  const options = parseUpArgs(Bun.argv.slice(2), process.env);
  if (options.help) {
    console.log(UP_HELP);
    return;
  }
  const started = Date.now();
  // A name git refuses is a typo, not a branch still to push: say so before anything else.
  if (options.revision !== undefined && (await isRefName(root, options.revision)) === false) {
    throw new CliError(
      `revision ${JSON.stringify(options.revision)} is not a branch, tag or commit name (git check-ref-format refuses it)`,
      "pass an existing branch or tag, e.g. --revision main, or a full 40-character commit SHA",
    );
  }

  // ── preflight: read-only, all problems at once ────────────────────────────────────
  console.log("preflight");
  const existing = options.context && options.registry;
  const [tools, facts, cluster] = await Promise.all([
    checkTools(root, existing ? "cluster" : "kind"),
    readGitFacts(root),
    options.context && options.registry
      ? checkExistingCluster(root, options.context, options.registry, process.env)
      : undefined,
  ]);
  const gitFound = tools.found.some((t) => t.startsWith("git "));
  const problems: Problem[] = [...tools.problems, ...(await checkRepository(root, gitFound))];
  const decision = await decideDelivery(options, facts);
  problems.push(...decision.problems);
  if (cluster) problems.push(...cluster.problems);
  let delivery = decision.delivery;
  if (cluster && delivery?.mode === "local") {
    // There is no in-cluster git server to fall back to: no delivery, and no git-server steps.
    problems.push({
      problem: `Argo CD on ${options.context} cannot reach the in-cluster git server up.ts runs for kind (${delivery.why})`,
      fix: "push your branch to a remote the cluster can read and pass --repo <https url> (and --revision)",
    });
    delivery = undefined;
  }
  for (const found of [...tools.found.sort(), ...(cluster?.found ?? [])])
    console.log(`  ok    ${found}`);
  // Where Argo CD reads is ok only when nothing about it failed: else the FAIL says it.
  if (delivery && decision.problems.length === 0) {
    const where = delivery.mode === "local" ? "in-cluster git server" : "your remote";
    console.log(
      `  ok    Argo CD will read ${delivery.repoURL} @ ${delivery.revision} (${where}: ${delivery.why})`,
    );
  }
  for (const warning of [...decision.warnings, ...(cluster?.notes ?? [])])
    console.log(`  note  ${warning}`);
  for (const p of problems) {
    console.log(`  FAIL  ${p.problem}`);
    console.log(`        fix: ${p.fix}`);
  }

  // The fix repeats the command as given: its flags (--context, --registry, …) are part of it.
  const again = show({ argv: ["bun", "bootstrap/up.ts", ...Bun.argv.slice(2)] });
  if (problems.length > 0 && !options.dryRun) {
    throw new CliError(
      `preflight found ${problems.length} problem(s); nothing was changed`,
      `fix the items marked FAIL above, then run \`${again}\` again`,
    );
  }

  // ── what we want, what there is, what to do ───────────────────────────────────────
  const want = await desired(options, facts, delivery, cluster?.platforms);
  const argocdValues = await readArgocdValues(want.target !== undefined);
  const state = await detectState(
    root,
    want,
    argocdValues,
    tools.dockerReachable,
    facts.clusterRemoteUrl,
  );
  let steps = plan(want, state);

  if (options.dryRun) {
    printPlan(steps, problems.length > 0);
    if (problems.length > 0) {
      throw new CliError(
        `dry run: preflight found ${problems.length} problem(s); a real run would stop before any step (nothing was changed)`,
        `fix the items marked FAIL above, then run \`${again}\` again`,
      );
    }
    console.log("\ndry run: nothing was changed.");
    return;
  }

  // ── run ───────────────────────────────────────────────────────────────────────────
  let changed = false; // the plan is redone after the cluster step, so remember what ran
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i] as Step;
    if (step.id === "wait") {
      await waitStep(options, want.context);
      continue;
    }
    if (step.id === "verify" && (step.run || changed)) {
      await verifyStep(step.timeoutMs, want.context);
      continue;
    }
    if (!step.run) {
      console.log(`==> ${step.title}: skip (${step.reason})`);
      continue;
    }
    console.log(`==> ${step.title}: ${step.reason}`);
    changed = true;
    if (step.id === "git-credential") {
      // Its output is the token: saved to the file, never shown.
      const [mint] = step.commands;
      if (mint) {
        console.log(`    $ ${show(mint)}`);
        // The retries wait for the server's SSH port: polling, at most a second apart.
        await mintAndSave(root, mint, want.pushTokenFile, gitServerHostUrl(), step.timeoutMs, {
          attempts: 5,
          pauseMs: Math.min(options.pollMs, 1000),
        });
        console.log(`    saved to ${want.pushTokenFile} (mode 0600)`);
      }
      continue;
    }
    await runStep(step, { root, print: (line) => console.log(line) });
    if (step.id === "cluster") {
      // The cluster is reachable now: look again, so the remaining steps act on facts.
      const fresh = await detectState(root, want, argocdValues, true, facts.clusterRemoteUrl);
      steps = plan(want, fresh);
    }
  }
  printEnd(options, want, Date.now() - started);
}

async function decideDelivery(options: UpOptions, facts: GitFacts) {
  const revision = options.revision ?? facts.branch;
  const candidate = options.repo ?? facts.remoteUrl;
  const httpsUrl = candidate ? toHttpsUrl(candidate) : undefined;
  const probe =
    !options.localGit && facts.isRepo && httpsUrl
      ? await probeRemote(root, facts, httpsUrl, revision, !options.repo)
      : undefined;
  return chooseDelivery({ facts, flags: options, probe });
}

async function desired(
  options: UpOptions,
  facts: GitFacts,
  delivery: Desired["delivery"] | undefined,
  platforms: string[] = [],
): Promise<Desired> {
  const registry = options.context ? options.registry : undefined;
  const chosen = delivery ?? {
    mode: "remote" as const,
    repoURL: "<no usable git remote>",
    revision: options.revision ?? facts.branch ?? "<no branch>",
    why: "preflight failed",
  };
  const rootFile = Bun.file(join(root, ROOT_APP.file));
  // On an existing cluster the app-of-apps renders its cluster profile, pulling from the registry.
  const profile = registry ? { profile: "cluster", imageRegistry: registry } : {};
  const rootApp = (await rootFile.exists())
    ? rootApplication(await rootFile.text(), chosen.repoURL, chosen.revision, profile)
    : { missing: ROOT_APP.file };
  const images = await Promise.all(
    SERVICES.map(async (service) => {
      const tag = await contentTag(root, service).catch(() => "<unknown>");
      return {
        service,
        ref: registry ? registryImageRef(registry, service, tag) : imageRef(service, tag),
        dockerfile: `apps/${service}/Dockerfile`,
      };
    }),
  );
  return {
    target: registry
      ? {
          registry,
          // Unknown architectures (preflight failed): the dry run still shows a build.
          platforms: platforms.length > 0 ? platforms : ["linux/amd64"],
          objectStorageKeys: {
            accessKeyId: randomPassword().slice(0, 20),
            secretAccessKey: `${randomPassword()}${randomPassword()}`.slice(0, 40),
          },
        }
      : undefined,
    clusterName: options.clusterName,
    context: options.context ?? kubeContext(options.clusterName),
    kindConfig: "kind-config.yaml",
    images,
    delivery: chosen,
    branch: facts.branch,
    head: facts.head,
    rootApp,
    grafanaPassword: randomPassword(),
    pushTokenFile: credentialFile(process.env, options.clusterName),
    // verify.ts reads the NodePorts kind maps; on an existing cluster it runs behind open.ts.
    verify: !registry && !options.skipVerify && existsSync(join(root, "bootstrap", "verify.ts")),
  };
}

/** The values helm records for the Argo CD release: the base file, then the cluster overlay. */
async function readArgocdValues(existingCluster: boolean): Promise<unknown> {
  const read = async (path: string) => {
    const file = Bun.file(join(root, path));
    return (await file.exists())
      ? (Bun.YAML.parse(await file.text()) as Record<string, unknown>)
      : undefined;
  };
  const base = await read(ARGOCD.valuesFile);
  const overlay = existingCluster ? await read(ARGOCD.clusterValuesFile) : undefined;
  return overlay && base ? mergeValues(base, overlay) : base;
}

/** Helm's merge of a later values file over an earlier one (maps merge, the rest replaces). */
function mergeValues(base: Record<string, unknown>, over: Record<string, unknown>) {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isMap(value) && isMap(current) ? mergeValues(current, value) : value;
  }
  return out;
}

const isMap = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function printPlan(steps: Step[], blocked: boolean): void {
  // A real run stops at a FAIL: the plan is what it would do once they are fixed.
  console.log(blocked ? "\nplan, once the items marked FAIL are fixed" : "\nplan");
  for (const step of steps) {
    const verb = step.kind === "check" ? "check" : step.run ? "run " : "skip";
    console.log(`  ${verb}  ${step.title}: ${step.reason}`);
    for (const command of step.commands) console.log(`          $ ${show(command)}`);
  }
}

async function waitStep(options: UpOptions, context: string): Promise<void> {
  console.log(
    `==> waiting up to ${Math.round(options.timeoutMs / 1000)}s for every Application to be Synced and Healthy`,
  );
  const result = await waitForApplications({
    root,
    context,
    timeoutMs: options.timeoutMs,
    pollMs: options.pollMs,
    live: process.stdout.isTTY === true,
  });
  if (!result.ready) {
    throw new CliError(
      `timed out after ${Math.round(options.timeoutMs / 1000)}s; not Synced and Healthy:\n${result.summary}`,
      "look at the resources named above (kubectl -n <namespace> describe <kind> <name>), or in the Argo CD UI; then run `bun bootstrap/up.ts --timeout 30m` to keep waiting",
    );
  }
  console.log(`    all ${result.apps.length} Applications are Synced and Healthy`);
}

/** verify.ts reports its own progress, so it gets the terminal. */
async function verifyStep(timeoutMs: number, context: string): Promise<void> {
  console.log(`==> end-to-end verification: bun bootstrap/verify.ts --context ${context}`);
  const verify = [join(root, "bootstrap", "verify.ts"), "--context", context];
  const child = Bun.spawn([process.execPath, ...verify], {
    cwd: root,
    stdio: ["inherit", "inherit", "inherit"],
  });
  const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
  const code = await child.exited.finally(() => clearTimeout(timer));
  if (child.signalCode === "SIGTERM") {
    throw new CliError(
      `verification hung: bootstrap/verify.ts was still running after ${formatDuration(timeoutMs)}`,
      `run \`bun bootstrap/verify.ts --context ${context}\` alone to see where it stops, or skip it with --skip-verify`,
    );
  }
  if (code !== 0) {
    throw new CliError(
      `verification failed (bootstrap/verify.ts exited ${code}); the stack is up but telemetry did not arrive as expected`,
      `read verify's output above; re-run it alone with \`bun bootstrap/verify.ts --context ${context}\`, or skip it with --skip-verify`,
    );
  }
}

function printEnd(options: UpOptions, want: Desired, elapsedMs: number): void {
  const ctx = want.context;
  if (want.target) {
    console.log(`
Done in ${Math.round(elapsedMs / 1000)}s. Everything is Synced and Healthy on ${ctx}.

  The UIs have no NodePorts: each opens with a port-forward that prints its URL and login.
    bun bootstrap/open.ts argocd | grafana | prometheus | gateway --context ${ctx}
  Check telemetry end to end:
    bun bootstrap/open.ts gateway prometheus grafana --context ${ctx} &
    bun bootstrap/verify.ts --context ${ctx}
  Object storage keys: Secret ${OBJECT_STORAGE_SECRET.namespace}/${OBJECT_STORAGE_SECRET.name} (docs/cluster.md).

Deliver a change: edit apps/<service>, commit, then
  bun bootstrap/release.ts <service> --context ${ctx} --registry ${want.target.registry} --push
Status: bun bootstrap/status.ts --context ${ctx} --watch
Tear down (the cluster stays): bun bootstrap/down.ts --context ${ctx}`);
    return;
  }
  // Every command below must reach this cluster, not the default one.
  const named =
    options.clusterName !== DEFAULT_CLUSTER ? ` --cluster-name ${options.clusterName}` : "";
  console.log(`
Done in ${Math.round(elapsedMs / 1000)}s. Everything is Synced and Healthy.

  Argo CD     http://localhost:8080   user admin, password:
              kubectl --context ${ctx} -n ${ARGOCD.namespace} get secret argocd-initial-admin-secret -o jsonpath='{.data.password}' | base64 -d; echo
  Grafana     http://localhost:3000   user admin, password in Secret ${GRAFANA_SECRET.namespace}/${GRAFANA_SECRET.name}:
              kubectl --context ${ctx} -n ${GRAFANA_SECRET.namespace} get secret ${GRAFANA_SECRET.name} -o jsonpath='{.data.admin-password}' | base64 -d; echo
  Prometheus  http://localhost:9090
  api-gateway http://localhost:8000
              curl -s http://localhost:8000/user/42        (a user: 200 with JSON)
              curl -s -i http://localhost:8000/user/9999  (no such user: 404)

Deliver a change: edit apps/<service>, then
  bun bootstrap/release.ts <service> -m "<what you changed>"${named} --push${want.delivery.mode === "local" ? '   (pushes to the in-cluster git server: remote "cluster")' : ""}
Status: bun bootstrap/status.ts${named} --watch
Tear down: bun bootstrap/down.ts${named}${want.delivery.mode === "local" ? `\nThe git server's push token (git uses it for git push ${GIT_SERVER.remote}): ${want.pushTokenFile}` : ""}`);
}

await main().catch(exitWithError);
