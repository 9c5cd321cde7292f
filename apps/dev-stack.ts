// `bun run dev --stack`: the services of `bun run dev`, with their telemetry going into
// grafana/otel-lgtm (Collector, Prometheus, Loki, Tempo and Grafana in one container) in Docker,
// configured to give the same names as the cluster, with the project's dashboards in its Grafana.
// Ctrl-C stops the services, then removes the container. See docs/stack.md.
//
// planStack() is the whole plan, pure: the settings in, the docker commands and the services'
// environment out. stackFiles() renders the configuration mounted into the container from the
// cluster's own values, so the two cannot drift. runDevStack() carries the plan out.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { CliError, exitWithError } from "../cli/errors.ts";
import { envPort, parseFlags } from "../cli/flags.ts";
import { loadRuleGroups } from "../gitops/alerts/rules.ts";
import { dashboards } from "../gitops/dashboards/generate.ts";

/**
 * The image and what it carries: the ARGs of docker/Dockerfile at tag v0.31.0 of
 * github.com/grafana/docker-otel-lgtm (the image's *_VERSION variables); the release workflow
 * (.github/workflows/release.yml) publishes tag v0.31.0 as grafana/otel-lgtm:0.31.0.
 */
export const OTEL_LGTM = {
  image: "grafana/otel-lgtm:0.31.0",
  carries: {
    Grafana: "13.1.3",
    Prometheus: "3.14.0",
    Tempo: "3.0.3",
    Loki: "3.7.6",
    "OpenTelemetry Collector": "0.159.0",
  },
} as const;

export const CONTAINER = "observability-sandbox-lgtm";

/** The container's ports published on the host (127.0.0.1 only), each movable by its variable. */
export const PORTS = {
  grafana: { what: "Grafana", container: 3000, variable: "STACK_GRAFANA_PORT" },
  otlp: {
    what: "the Collector's OTLP/HTTP receiver",
    container: 4318,
    variable: "STACK_OTLP_PORT",
  },
  prometheus: { what: "Prometheus", container: 9090, variable: "STACK_PROMETHEUS_PORT" },
  loki: { what: "Loki", container: 3100, variable: "STACK_LOKI_PORT" },
  tempo: { what: "Tempo", container: 3200, variable: "STACK_TEMPO_PORT" },
} as const;
export type PortName = keyof typeof PORTS;

/** Where our files go inside the container: otel-lgtm's own paths (its README, "Configuration"). */
const MOUNTS = {
  "prometheus.yaml": "/otel-lgtm/prometheus.yaml",
  "alert-rules.yaml": "/otel-lgtm/observability-sandbox/alert-rules.yaml",
  "grafana-datasources.yaml":
    "/otel-lgtm/grafana/conf/provisioning/datasources/grafana-datasources.yaml",
  "grafana-dashboards.yaml":
    "/otel-lgtm/grafana/conf/provisioning/dashboards/observability-sandbox.yaml",
  dashboards: "/otel-lgtm/observability-sandbox/dashboards",
} as const;

export interface StackSettings {
  ports: Record<PortName, number>;
  /** The directory holding stackFiles(), mounted read-only. */
  configDir: string;
  /** The 0600 env file with Grafana's admin login (GF_SECURITY_ADMIN_*). */
  loginFile: string;
  /** `docker image inspect` found the image: no pull. */
  imagePresent: boolean;
}

export interface StackPlan {
  /** Undefined when the image is already there. */
  pull?: string[];
  run: string[];
  /** Exits 0 once every component is up (otel-lgtm's run-all.sh touches /tmp/ready). */
  ready: string[];
  /** Prints true while the container runs. */
  running: string[];
  logs: string[];
  remove: string[];
  /** Set in the services' environment. */
  env: Record<string, string>;
  /** Set there unless you set them: export within seconds (the SDK defaults: 5 s, 1 s, 60 s). */
  envDefaults: Record<string, string>;
  urls: Record<PortName, string> & { dashboard: string };
}

export function planStack(settings: StackSettings): StackPlan {
  const { ports, configDir, loginFile, imagePresent } = settings;
  const url = (name: PortName) => `http://localhost:${ports[name]}`;
  const publish = Object.entries(PORTS).flatMap(([name, port]) => [
    "--publish",
    `127.0.0.1:${ports[name as PortName]}:${port.container}`,
  ]);
  const volumes = Object.entries(MOUNTS).flatMap(([file, target]) => [
    "--volume",
    `${join(configDir, file)}:${target}:ro`,
  ]);
  return {
    pull: imagePresent ? undefined : ["docker", "pull", OTEL_LGTM.image],
    run: [
      "docker",
      "run",
      "--detach",
      "--name",
      CONTAINER,
      "--pull",
      "never",
      ...publish,
      // The login is generated into a file of ours, never on a command line.
      "--env-file",
      loginFile,
      // As in the cluster, Grafana wants a login (otel-lgtm's default lets anyone in as Admin).
      "--env",
      "GF_AUTH_ANONYMOUS_ENABLED=false",
      ...volumes,
      OTEL_LGTM.image,
    ],
    ready: ["docker", "exec", CONTAINER, "test", "-e", "/tmp/ready"],
    running: ["docker", "container", "inspect", "--format", "{{.State.Running}}", CONTAINER],
    logs: ["docker", "logs", "--tail", "30", CONTAINER],
    remove: ["docker", "rm", "--force", CONTAINER],
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: url("otlp") },
    envDefaults: {
      OTEL_BSP_SCHEDULE_DELAY: "1000",
      OTEL_BLRP_SCHEDULE_DELAY: "1000",
      OTEL_METRIC_EXPORT_INTERVAL: "10000",
    },
    urls: {
      grafana: url("grafana"),
      otlp: url("otlp"),
      prometheus: url("prometheus"),
      loki: url("loki"),
      tempo: url("tempo"),
      dashboard: `${url("grafana")}/d/service-overview/service-overview`,
    },
  };
}

const ROOT = join(import.meta.dir, "..");
const readYaml = (path: string) => Bun.YAML.parse(readFileSync(join(ROOT, path), "utf8"));

interface PrometheusSpec {
  otlp?: { translationStrategy?: string; promoteResourceAttributes?: string[] };
  tsdb?: { outOfOrderTimeWindow?: string };
  exemplars?: { maxSize?: number };
  evaluationInterval?: string;
}
interface DataSource {
  uid: string;
  url: string;
  [key: string]: unknown;
}

/** The data sources' addresses inside the container (otel-lgtm's grafana-datasources.yaml). */
const INSIDE = {
  prometheus: "http://127.0.0.1:9090",
  loki: "http://127.0.0.1:3100",
  tempo: "http://127.0.0.1:3200",
} as const;

/**
 * The files mounted into the container, by name (see MOUNTS), from what the cluster runs:
 * - prometheus.yaml: the OTLP translation, promoted resource attributes, out-of-order window and
 *   exemplar storage of kube-prometheus-stack's prometheusSpec, which the Prometheus operator
 *   writes into the same keys of the Prometheus configuration; and our alert rules. It replaces
 *   otel-lgtm's, whose promotion list (service.name, service.instance.id, k8s.*, …) and
 *   keep_identifying_resource_attributes would put labels on every series the cluster does not.
 * - grafana-datasources.yaml: the cluster's data sources (same UIDs, same links between them),
 *   pointed at the container's backends; it replaces otel-lgtm's. No Alertmanager here.
 * - grafana-dashboards.yaml + dashboards/: our dashboards, in the cluster's folder.
 */
export async function stackFiles(): Promise<Record<string, string>> {
  const values = readYaml("gitops/values/kube-prometheus-stack.yaml") as {
    prometheus: { prometheusSpec: PrometheusSpec };
    grafana: { additionalDataSources: DataSource[] };
  };
  const spec = values.prometheus.prometheusSpec;
  const prometheus = {
    // The operator's default evaluation interval (the Prometheus CRD's evaluationInterval: 30s).
    global: { evaluation_interval: spec.evaluationInterval ?? "30s" },
    otlp: {
      translation_strategy: spec.otlp?.translationStrategy,
      promote_resource_attributes: spec.otlp?.promoteResourceAttributes ?? [],
    },
    storage: {
      tsdb: { out_of_order_time_window: spec.tsdb?.outOfOrderTimeWindow },
      exemplars: { max_exemplars: spec.exemplars?.maxSize },
    },
    rule_files: [MOUNTS["alert-rules.yaml"]],
  };
  const datasources = values.grafana.additionalDataSources
    .filter((source) => source.uid in INSIDE)
    .map((source) => ({ ...source, url: INSIDE[source.uid as keyof typeof INSIDE] }));
  const files: Record<string, string> = {
    "prometheus.yaml": header(
      "gitops/values/kube-prometheus-stack.yaml (prometheusSpec)",
      prometheus,
    ),
    "alert-rules.yaml": header("gitops/alerts/*.yaml", { groups: await loadRuleGroups() }),
    "grafana-datasources.yaml": header(
      "gitops/values/kube-prometheus-stack.yaml (grafana.additionalDataSources)",
      { apiVersion: 1, datasources },
    ),
    "grafana-dashboards.yaml": header("gitops/dashboards", {
      apiVersion: 1,
      providers: [
        {
          name: "observability-sandbox",
          folder: "Observability sandbox",
          type: "file",
          options: { path: MOUNTS.dashboards },
        },
      ],
    }),
  };
  for (const [name, build] of Object.entries(dashboards))
    files[`dashboards/${name}.json`] = `${JSON.stringify(build().build(), null, 2)}\n`;
  return files;
}

const header = (source: string, content: unknown) =>
  `# Written by \`bun run dev --stack\` (apps/dev-stack.ts) from ${source}.\n${Bun.YAML.stringify(content, null, 2)}\n`;

/** $XDG_STATE_HOME (default ~/.local/state)/observability-sandbox/dev-stack, as bootstrap's state. */
export function stateDir(env: Record<string, string | undefined>): string {
  const state = env.XDG_STATE_HOME || join(env.HOME || homedir(), ".local", "state");
  return join(state, "observability-sandbox", "dev-stack");
}

type Env = Record<string, string | undefined>;
interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a docker command and captures it; no docker on PATH answers 127, as a shell would. */
async function docker(argv: string[], env: Env): Promise<Ran> {
  try {
    const child = Bun.spawn(argv, { env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    return { code, stdout, stderr };
  } catch {
    return { code: 127, stdout: "", stderr: "" };
  }
}

const withoutEmpty = (env: Env) => Object.fromEntries(Object.entries(env).filter(([, v]) => v));
const firstLine = (text: string) => text.trim().split("\n")[0] ?? "";
const lastLine = (text: string) => text.trim().split("\n").at(-1) ?? "";

/** Refuses, naming the port, when something on this machine already listens on it. */
function checkPortsFree(ports: Record<PortName, number>) {
  for (const [name, port] of Object.entries(ports) as [PortName, number][]) {
    try {
      Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } }).stop(true);
    } catch {
      throw portTaken(name, port);
    }
  }
}

function portTaken(name: PortName, port: number): CliError {
  const { what, variable } = PORTS[name];
  // The kind cluster publishes Grafana on 3000 and Prometheus on 9090 (kind-config.yaml); plain
  // bun run dev's receiver listens on 4318 (DEV_RECEIVER_PORT).
  const likely =
    port === 3000 || port === 9090
      ? " (by the kind cluster, if it runs)"
      : port === 4318
        ? " (by another bun run dev, if one runs)"
        : "";
  return new CliError(
    `port ${port} (${what}) is already taken on this machine${likely}`,
    `free it, or move it: ${variable}=${port < 55536 ? port + 10000 : port - 10000} bun run dev --stack`,
  );
}

/** The login file: made once with a random password, readable by you alone. */
function ensureLoginFile(path: string) {
  if (existsSync(path)) return;
  mkdirSync(dirname(path), { recursive: true });
  const password = Buffer.from(crypto.getRandomValues(new Uint8Array(18))).toString("base64url");
  writeFileSync(path, `GF_SECURITY_ADMIN_USER=admin\nGF_SECURITY_ADMIN_PASSWORD=${password}\n`, {
    mode: 0o600,
  });
  chmodSync(path, 0o600);
}

const USAGE = `usage: bun run dev --stack

Runs ${OTEL_LGTM.image} in Docker, and bun run dev's services with their telemetry going
into it; the project's dashboards are in its Grafana. Ctrl-C stops the services and removes
the container. See docs/stack.md.

Its ports on this machine (127.0.0.1), each movable by its variable:
${Object.values(PORTS)
  .map((p) => `  ${p.variable.padEnd(22)} ${String(p.container).padEnd(5)} ${p.what}`)
  .join("\n")}`;

const READY_TIMEOUT_MS = 180_000;

/** `bun run dev --stack …`: never returns. */
export async function runDevStack(args: string[], env: Env = process.env): Promise<never> {
  let settings: StackSettings;
  let plan: StackPlan;
  try {
    const { values } = parseFlags("bun run dev --stack", args, {
      stack: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    });
    if (values.help) {
      console.log(USAGE);
      process.exit(0);
    }
    const ports = Object.fromEntries(
      Object.entries(PORTS).map(([name, p]) => [
        name,
        envPort(env, p.variable, p.container, "bun run dev --stack"),
      ]),
    ) as Record<PortName, number>;
    const version = await docker(["docker", "version", "--format", "{{.Server.Version}}"], env);
    if (version.code === 127)
      throw new CliError(
        "docker is not installed (not on PATH); bun run dev --stack runs grafana/otel-lgtm in it",
        "install Docker (https://docs.docker.com/get-docker/), or run bun run dev without --stack: telemetry printed in this terminal",
      );
    if (version.code !== 0)
      throw new CliError(
        `the Docker daemon is not reachable (${firstLine(version.stderr) || `exit ${version.code}`})`,
        "start it: macOS: open -a Docker · Linux: sudo systemctl start docker; or run bun run dev without --stack",
      );
    const dir = stateDir(env);
    const loginFile = join(dir, "grafana-login.env");
    settings = { ports, configDir: join(dir, "config"), loginFile, imagePresent: false };
    plan = planStack(settings);
    if ((await docker(plan.running, env)).code === 0)
      throw new CliError(
        `a container named ${CONTAINER} is already there (another bun run dev --stack, or one left behind)`,
        `stop the other run with Ctrl-C, or remove it: docker rm --force ${CONTAINER}`,
      );
    checkPortsFree(ports);
    const image = await docker(
      ["docker", "image", "inspect", "--format", "{{.Id}}", OTEL_LGTM.image],
      env,
    );
    plan = planStack({ ...settings, imagePresent: image.code === 0 });
    for (const [file, content] of Object.entries(await stackFiles())) {
      mkdirSync(dirname(join(settings.configDir, file)), { recursive: true });
      writeFileSync(join(settings.configDir, file), content);
    }
    ensureLoginFile(settings.loginFile);
  } catch (error) {
    exitWithError(error);
  }

  let stopping = false;
  let removed = false;
  const remove = async () => {
    if (removed) return;
    removed = true;
    const result = await docker(plan.remove, env);
    if (result.code === 0) console.error(`stack: removed container ${CONTAINER}`);
    else console.error(`stack: could not remove ${CONTAINER}: ${lastLine(result.stderr)}`);
  };
  let services: ReturnType<typeof Bun.spawn> | undefined;
  const stop = () => {
    stopping = true;
    if (services && services.exitCode === null) services.kill("SIGINT");
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);

  if (plan.pull) {
    console.error(`stack: pulling ${OTEL_LGTM.image} (once; later runs reuse it)`);
    const pull = Bun.spawn(plan.pull, { env, stdio: ["ignore", "inherit", "inherit"] });
    if ((await pull.exited) !== 0) {
      if (stopping) process.exit(130);
      exitWithError(
        new CliError(
          `docker pull ${OTEL_LGTM.image} failed (its message is above)`,
          "check the network and that Docker can reach Docker Hub, then run it again",
        ),
      );
    }
  } else console.error(`stack: ${OTEL_LGTM.image} is already here, not pulling`);

  const started = await docker(plan.run, env);
  if (started.code !== 0) {
    const message = lastLine(started.stderr.replace(/\nRun 'docker run --help'.*$/s, ""));
    // A container that failed to start stays behind, created; a name conflict is another's.
    if (!message.includes("Conflict.")) await remove();
    const taken = /Bind for [\d.]+:(\d+) failed/.exec(message)?.[1];
    const port = (Object.keys(PORTS) as PortName[]).find(
      (n) => String(settings.ports[n]) === taken,
    );
    exitWithError(
      port
        ? portTaken(port, Number(taken))
        : new CliError(
            `docker run ${OTEL_LGTM.image} failed: ${message.replace(/^docker: /, "")}`,
            "docker's message says what to change; or run bun run dev without --stack",
          ),
    );
  }
  console.error(
    `stack: started ${CONTAINER} (${Object.entries(OTEL_LGTM.carries)
      .map(([name, version]) => `${name} ${version}`)
      .join(", ")}); waiting until all of it is up…`,
  );

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (stopping) {
      await remove();
      process.exit(130);
    }
    if ((await docker(plan.ready, env)).code === 0) break;
    const running = await docker(plan.running, env);
    if (running.stdout.trim() !== "true" || Date.now() > deadline) {
      const logs = await docker(plan.logs, env);
      process.stderr.write(logs.stdout + logs.stderr);
      await remove();
      exitWithError(
        new CliError(
          running.stdout.trim() === "true"
            ? `${CONTAINER} is not up after ${READY_TIMEOUT_MS / 1000} s (its last lines are above)`
            : `${CONTAINER} stopped while starting (its last lines are above)`,
          `they name the part that failed; to watch every part start: docker run --rm -e ENABLE_LOGS_ALL=true ${OTEL_LGTM.image}`,
        ),
      );
    }
    await Bun.sleep(500);
  }

  const { urls } = plan;
  console.error(
    [
      `stack: up. Grafana ${urls.dashboard}`,
      `  login admin, password: sed -n 's/^GF_SECURITY_ADMIN_PASSWORD=//p' ${shellPath(env, settings.loginFile)}`,
      `  Prometheus ${urls.prometheus} · Loki ${urls.loki} · Tempo ${urls.tempo} · OTLP ${urls.otlp}`,
    ].join("\n"),
  );

  services = Bun.spawn([process.execPath, join(import.meta.dir, "dev.ts")], {
    env: { ...plan.envDefaults, ...withoutEmpty(env), ...plan.env },
    stdio: ["inherit", "inherit", "inherit"],
  });
  if (stopping) services.kill("SIGINT");
  const code = await services.exited;
  await remove();
  // Ctrl-C before the services had set up their own handlers ends them by the signal itself.
  const interrupted = stopping && (code === 0 || services.signalCode === "SIGINT");
  process.exit(interrupted ? 0 : code || 1);
}

/** The path as you would type it: ~ for your home. */
const shellPath = (env: Env, path: string) => {
  const home = env.HOME || homedir();
  return path.startsWith(`${home}/`) ? `~/${path.slice(home.length + 1)}` : path;
};
