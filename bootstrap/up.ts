// `bun bootstrap/up.ts`: from nothing to a synced, healthy stack; safe and quick to re-run.
// Preflight (change nothing unless everything is in place) → detect state → plan → run → wait.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseUpArgs, UP_HELP, type UpOptions } from "./lib/cli.ts";
import { chooseDelivery, type GitFacts, probeRemote, readGitFacts, toHttpsUrl } from "./lib/git.ts";
import { contentTag, imageRef } from "./lib/image-tag.ts";
import { randomPassword, rootApplication } from "./lib/manifests.ts";
import { ARGOCD, GRAFANA_SECRET, kubeContext, ROOT_APP, SERVICES } from "./lib/names.ts";
import { type Desired, plan, type Step } from "./lib/plan.ts";
import { checkRepository, checkTools, type Problem } from "./lib/preflight.ts";
import { BootstrapError, exitWithError, formatDuration, show } from "./lib/run.ts";
import { detectState } from "./lib/state.ts";
import { runStep } from "./lib/steps.ts";
import { waitForApplications } from "./lib/wait.ts";

const root = resolve(import.meta.dir, "..");

async function main(): Promise<void> {
  const options = parseUpArgs(Bun.argv.slice(2), process.env);
  if (options.help) {
    console.log(UP_HELP);
    return;
  }
  const started = Date.now();

  // ── preflight: read-only, all problems at once ────────────────────────────────────
  console.log("preflight");
  const [tools, facts] = await Promise.all([checkTools(root), readGitFacts(root)]);
  const gitFound = tools.found.some((t) => t.startsWith("git "));
  const problems: Problem[] = [...tools.problems, ...(await checkRepository(root, gitFound))];
  const decision = await decideDelivery(options, facts);
  problems.push(...decision.problems);
  for (const found of tools.found.sort()) console.log(`  ok    ${found}`);
  const delivery = decision.delivery;
  if (delivery) {
    const where = delivery.mode === "local" ? "in-cluster git server" : "your remote";
    console.log(
      `  ok    Argo CD will read ${delivery.repoURL} @ ${delivery.revision} (${where}: ${delivery.why})`,
    );
  }
  for (const warning of decision.warnings) console.log(`  note  ${warning}`);
  for (const p of problems) {
    console.log(`  FAIL  ${p.problem}`);
    console.log(`        fix: ${p.fix}`);
  }

  if (problems.length > 0 && !options.dryRun) {
    throw new BootstrapError(
      `preflight found ${problems.length} problem(s); nothing was changed`,
      "fix the items marked FAIL above, then run `bun bootstrap/up.ts` again",
    );
  }

  // ── what we want, what there is, what to do ───────────────────────────────────────
  const want = await desired(options, facts, delivery);
  const argocdValues = await readArgocdValues();
  const state = await detectState(
    root,
    want,
    argocdValues,
    tools.dockerReachable,
    facts.clusterRemoteUrl,
  );
  let steps = plan(want, state);

  if (options.dryRun) {
    printPlan(steps);
    if (problems.length > 0) {
      throw new BootstrapError(
        `dry run: preflight found ${problems.length} problem(s); a real run would stop before any step (nothing was changed)`,
        "fix the items marked FAIL above, then run `bun bootstrap/up.ts --dry-run` again",
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
      await verifyStep(step.timeoutMs);
      continue;
    }
    if (!step.run) {
      console.log(`==> ${step.title}: skip (${step.reason})`);
      continue;
    }
    console.log(`==> ${step.title}: ${step.reason}`);
    changed = true;
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
): Promise<Desired> {
  const chosen = delivery ?? {
    mode: "remote" as const,
    repoURL: "<no usable git remote>",
    revision: options.revision ?? facts.branch ?? "<no branch>",
    why: "preflight failed",
  };
  const rootFile = Bun.file(join(root, ROOT_APP.file));
  const rootApp = (await rootFile.exists())
    ? rootApplication(await rootFile.text(), chosen.repoURL, chosen.revision)
    : { missing: ROOT_APP.file };
  const images = await Promise.all(
    SERVICES.map(async (service) => ({
      service,
      ref: imageRef(service, await contentTag(root, service).catch(() => "<unknown>")),
      dockerfile: `apps/${service}/Dockerfile`,
    })),
  );
  return {
    clusterName: options.clusterName,
    context: kubeContext(options.clusterName),
    kindConfig: "kind-config.yaml",
    images,
    delivery: chosen,
    branch: facts.branch,
    head: facts.head,
    rootApp,
    grafanaPassword: randomPassword(),
    verify: !options.skipVerify && existsSync(join(root, "bootstrap", "verify.ts")),
  };
}

async function readArgocdValues(): Promise<unknown> {
  const file = Bun.file(join(root, ARGOCD.valuesFile));
  return (await file.exists()) ? Bun.YAML.parse(await file.text()) : undefined;
}

function printPlan(steps: Step[]): void {
  console.log("\nplan");
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
    throw new BootstrapError(
      `timed out after ${Math.round(options.timeoutMs / 1000)}s; not Synced and Healthy:\n${result.summary}`,
      "look at the resources named above (kubectl -n <namespace> describe <kind> <name>), or in the Argo CD UI; then run `bun bootstrap/up.ts --timeout 30m` to keep waiting",
    );
  }
  console.log(`    all ${result.apps.length} Applications are Synced and Healthy`);
}

/** verify.ts reports its own progress, so it gets the terminal. */
async function verifyStep(timeoutMs: number): Promise<void> {
  console.log("==> end-to-end verification: bun bootstrap/verify.ts");
  const child = Bun.spawn([process.execPath, join(root, "bootstrap", "verify.ts")], {
    cwd: root,
    stdio: ["inherit", "inherit", "inherit"],
  });
  const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
  const code = await child.exited.finally(() => clearTimeout(timer));
  if (child.signalCode === "SIGTERM") {
    throw new BootstrapError(
      `verification hung: bootstrap/verify.ts was still running after ${formatDuration(timeoutMs)}`,
      "run `bun bootstrap/verify.ts` alone to see where it stops, or skip it with --skip-verify",
    );
  }
  if (code !== 0) {
    throw new BootstrapError(
      `verification failed (bootstrap/verify.ts exited ${code}); the stack is up but telemetry did not arrive as expected`,
      "read verify's output above; re-run it alone with `bun bootstrap/verify.ts`, or skip it with --skip-verify",
    );
  }
}

function printEnd(options: UpOptions, want: Desired, elapsedMs: number): void {
  const ctx = want.context;
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
  bun bootstrap/release.ts <service> -m "<what you changed>" --push${want.delivery.mode === "local" ? '   (pushes to the in-cluster git server: remote "cluster")' : ""}
Status: bun bootstrap/status.ts --watch
Tear down: bun bootstrap/down.ts${options.clusterName !== "observability-sandbox" ? ` --cluster-name ${options.clusterName}` : ""}`);
}

await main().catch(exitWithError);
