// `bun bootstrap/open.ts <ui...>`: the UIs of a cluster without NodePorts (the cluster profile),
// through `kubectl port-forward`, on the same local ports the laptop profile maps, so the URLs
// (and verify.ts's defaults) are the same. Prints each URL and how to read its login; Ctrl-C
// stops the forwards. Loki and Tempo are published on neither profile (their APIs can stop
// them): `loki` and `tempo` forward them for your own queries; verify.ts forwards them itself.
import { resolve } from "node:path";
import { CliError, exitWithError } from "../cli/errors.ts";
import { parseFlags } from "../cli/flags.ts";
import { ARGOCD, GRAFANA_SECRET } from "./lib/names.ts";
import { type Forward, type ForwardTarget, portForward } from "./lib/port-forward.ts";
import { exec } from "./lib/run.ts";

const root = resolve(import.meta.dir, "..");

interface Target extends ForwardTarget {
  localPort: number;
  /** How to log in, given the context; undefined for none. */
  login?: (context: string) => string;
  what: string;
}

/** The Services the charts create (names asserted in gitops/wiring.test.ts and cluster-profile.test.ts). */
export const TARGETS: Record<string, Target> = {
  argocd: {
    namespace: ARGOCD.namespace,
    service: "argocd-server",
    localPort: 8080,
    servicePort: 80,
    login: (ctx) =>
      `user admin, password: kubectl --context ${ctx} -n ${ARGOCD.namespace} get secret argocd-initial-admin-secret -o jsonpath='{.data.password}' | base64 -d; echo`,
    what: "Argo CD",
  },
  grafana: {
    namespace: "monitoring",
    service: "kube-prometheus-stack-grafana",
    localPort: 3000,
    servicePort: 80,
    login: (ctx) =>
      `user admin, password: kubectl --context ${ctx} -n ${GRAFANA_SECRET.namespace} get secret ${GRAFANA_SECRET.name} -o jsonpath='{.data.admin-password}' | base64 -d; echo`,
    what: "Grafana",
  },
  prometheus: {
    namespace: "monitoring",
    service: "kube-prometheus-stack-prometheus",
    localPort: 9090,
    servicePort: 9090,
    what: "Prometheus",
  },
  gateway: {
    namespace: "apps",
    service: "api-gateway",
    localPort: 8000,
    servicePort: 8080,
    login: () => "no login; try curl -s http://localhost:8000/user/42",
    what: "api-gateway",
  },
  loki: {
    namespace: "monitoring",
    service: "loki-gateway",
    localPort: 3100,
    servicePort: 80,
    what: "Loki API",
  },
  tempo: {
    namespace: "monitoring",
    service: "tempo",
    localPort: 3200,
    servicePort: 3200,
    what: "Tempo API",
  },
};

const HELP = `usage: bun bootstrap/open.ts <${Object.keys(TARGETS).join("|")}>... [--context <ctx>]

Port-forwards each named UI or API of the stack to localhost (the laptop profile's ports),
prints its URL and how to log in, and keeps the forwards open until Ctrl-C.

Flags:
  --context <ctx>  the cluster (default: kubectl's current context)
  -h, --help       show this help
`;

async function main(): Promise<void> {
  const parsed = parseFlags(
    "bun bootstrap/open.ts",
    Bun.argv.slice(2),
    { context: { type: "string" }, help: { type: "boolean", short: "h" } },
    { positionals: true },
  );
  if (parsed.values.help) return console.log(HELP);
  const names = parsed.positionals;
  const unknown = names.filter((n) => !(n in TARGETS));
  if (names.length === 0 || unknown.length > 0) {
    throw new CliError(
      unknown.length > 0 ? `unknown UI ${unknown.join(", ")}` : "which UI?",
      `name one or more of: ${Object.keys(TARGETS).join(", ")}, e.g. bun bootstrap/open.ts grafana`,
    );
  }
  const context = parsed.values.context ?? (await currentContext());

  const started = names.map((name) => forward(TARGETS[name] as Target, context));
  // Every forward that has started, whatever the order, so Ctrl-C or a failure stops them all.
  const running: Forward[] = [];
  for (const f of started)
    f.then(
      (ok) => running.push(ok),
      () => {},
    );
  const stopAll = () => {
    for (const f of running) f.stop();
  };
  let stopping = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      stopping = true;
      stopAll();
      console.log("\nstopped the port-forwards");
      process.exit(0);
    });
  }
  const ready = await Promise.allSettled(started);
  const failed = ready.find((r) => r.status === "rejected");
  if (failed) {
    stopAll();
    throw failed.reason;
  }
  const forwards = ready.map((r) => (r as PromiseFulfilledResult<Forward>).value);
  console.log(`on ${context}:`);
  for (const name of names) {
    const t = TARGETS[name] as Target;
    console.log(`  ${t.what.padEnd(26)} http://localhost:${t.localPort}`);
    if (t.login) console.log(`  ${"".padEnd(26)} ${t.login(context)}`);
  }
  console.log("Ctrl-C stops the port-forwards.");
  // A forward that ends by itself (the pod restarted, the connection dropped) ends open.ts.
  const ended = await Promise.race(
    forwards.map((f, i) => f.ended.then((why) => ({ name: names[i], why }))),
  );
  if (stopping) return;
  stopAll();
  throw new CliError(
    `the port-forward to ${ended.name} ended (${ended.why || "no message"})`,
    `run bun bootstrap/open.ts ${names.join(" ")} again; bun bootstrap/status.ts --context ${context} shows whether the stack is healthy`,
  );
}

async function currentContext(): Promise<string> {
  const result = await exec({ argv: ["kubectl", "config", "current-context"] }, { cwd: root });
  const context = result.stdout.trim();
  if (result.code !== 0 || !context) {
    throw new CliError(
      `kubectl has no current context (${result.stderr.trim() || `exit ${result.code}`})`,
      "pass the cluster: bun bootstrap/open.ts grafana --context <ctx> (kubectl config get-contexts lists them)",
    );
  }
  return context;
}

/** One forward, on the target's laptop port; the fix depends on what kubectl said. */
const forward = (t: Target, context: string) =>
  portForward(t, context, {
    cwd: root,
    fix: (said) =>
      /address already in use/.test(said)
        ? `port ${t.localPort} is taken on this machine: stop what listens there (lsof -i :${t.localPort}) and run open.ts again`
        : /not found/.test(said)
          ? `the stack is not (yet) deployed there: bun bootstrap/status.ts --context ${context} --watch, or bun bootstrap/up.ts --context ${context} --registry <prefix>`
          : `check it with kubectl --context ${context} -n ${t.namespace} get svc ${t.service}`,
  });

if (import.meta.main) await main().catch(exitWithError);
