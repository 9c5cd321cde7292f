// `bun run dev --stack`: the plan (exact docker argv), the files mounted into otel-lgtm against
// the cluster's names, and real runs of `bun run dev --stack` against the stand-in docker
// (bootstrap/testing/fake/docker.ts): refusals, start, Ctrl-C, image reuse.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readCalls, readState, writeShims, writeState } from "../bootstrap/testing/fake/index.ts";
import { type FakeState, freshState } from "../bootstrap/testing/fake/state.ts";
import { datasources } from "../gitops/dashboards/service-overview.ts";
import { services } from "../gitops/dashboards/telemetry-names.ts";
import { prometheusOtlpSettings, resourceLabels } from "../model/prometheus-otlp.ts";
import { CONTAINER, OTEL_LGTM, PORTS, type PortName, planStack, stackFiles } from "./dev-stack.ts";
import { startOtlpReceiver } from "./telemetry/testing/otlp-receiver.ts";
import { freePort } from "./telemetry/testing/process.ts";

const IMAGE = "grafana/otel-lgtm:0.31.0";
const DEFAULT_PORTS = { grafana: 3000, otlp: 4318, prometheus: 9090, loki: 3100, tempo: 3200 };

describe("the plan", () => {
  const settings = {
    ports: DEFAULT_PORTS,
    configDir: "/home/you/.local/state/observability-sandbox/dev-stack/config",
    loginFile: "/home/you/.local/state/observability-sandbox/dev-stack/grafana-login.env",
    imagePresent: false,
  };
  const config = settings.configDir;

  test("pulls the pinned image when it is missing, then runs it with our files mounted", () => {
    const plan = planStack(settings);
    expect(plan.pull).toEqual(["docker", "pull", IMAGE]);
    expect(plan.run).toEqual([
      "docker",
      "run",
      "--detach",
      "--name",
      "observability-sandbox-lgtm",
      "--pull",
      "never",
      "--publish",
      "127.0.0.1:3000:3000",
      "--publish",
      "127.0.0.1:4318:4318",
      "--publish",
      "127.0.0.1:9090:9090",
      "--publish",
      "127.0.0.1:3100:3100",
      "--publish",
      "127.0.0.1:3200:3200",
      "--env-file",
      settings.loginFile,
      "--env",
      "GF_AUTH_ANONYMOUS_ENABLED=false",
      "--volume",
      `${config}/prometheus.yaml:/otel-lgtm/prometheus.yaml:ro`,
      "--volume",
      `${config}/alert-rules.yaml:/otel-lgtm/observability-sandbox/alert-rules.yaml:ro`,
      "--volume",
      `${config}/grafana-datasources.yaml:/otel-lgtm/grafana/conf/provisioning/datasources/grafana-datasources.yaml:ro`,
      "--volume",
      `${config}/grafana-dashboards.yaml:/otel-lgtm/grafana/conf/provisioning/dashboards/observability-sandbox.yaml:ro`,
      "--volume",
      `${config}/dashboards:/otel-lgtm/observability-sandbox/dashboards:ro`,
      IMAGE,
    ]);
    expect(plan.ready).toEqual([
      "docker",
      "exec",
      "observability-sandbox-lgtm",
      "test",
      "-e",
      "/tmp/ready",
    ]);
    expect(plan.remove).toEqual(["docker", "rm", "--force", "observability-sandbox-lgtm"]);
    expect(plan.env).toEqual({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://localhost:4318" });
    expect(plan.envDefaults).toEqual({
      OTEL_BSP_SCHEDULE_DELAY: "1000",
      OTEL_BLRP_SCHEDULE_DELAY: "1000",
      OTEL_METRIC_EXPORT_INTERVAL: "10000",
    });
    expect(plan.urls.dashboard).toBe("http://localhost:3000/d/service-overview/service-overview");
  });

  test("reuses a pulled image; moved ports move only the host side", () => {
    const ports = { grafana: 13000, otlp: 14318, prometheus: 19090, loki: 13100, tempo: 13200 };
    const plan = planStack({ ...settings, ports, imagePresent: true });
    expect(plan.pull).toBeUndefined();
    expect(plan.run.filter((_, i) => plan.run[i - 1] === "--publish")).toEqual([
      "127.0.0.1:13000:3000",
      "127.0.0.1:14318:4318",
      "127.0.0.1:19090:9090",
      "127.0.0.1:13100:3100",
      "127.0.0.1:13200:3200",
    ]);
    expect(plan.env.OTEL_EXPORTER_OTLP_ENDPOINT).toBe("http://localhost:14318");
  });
});

describe("the files mounted into otel-lgtm give the cluster's names", async () => {
  const files = await stackFiles();
  const prometheus = Bun.YAML.parse(files["prometheus.yaml"] ?? "") as {
    otlp: Record<string, unknown>;
    storage: { tsdb: Record<string, unknown>; exemplars: Record<string, unknown> };
    rule_files: string[];
  };
  // What a local service's resource carries (apps/telemetry: no service.namespace, no k8s.*).
  const resource = {
    "service.name": "api-gateway",
    "service.instance.id": "16952375-1c5e-4a5b-9d7e-3f1f0b6f2a10",
    "service.version": "0.1.0",
    "deployment.environment.name": "local",
    "telemetry.sdk.language": "nodejs",
  };

  test("Prometheus: the cluster's OTLP settings, so job is service.name and no other label joins", () => {
    const cluster = prometheusOtlpSettings();
    expect(prometheus.otlp).toEqual({
      translation_strategy: cluster.translationStrategy,
      promote_resource_attributes: cluster.promoteResourceAttributes,
    });
    const stack = {
      translationStrategy: prometheus.otlp.translation_strategy as string,
      promoteResourceAttributes: prometheus.otlp.promote_resource_attributes as string[],
    };
    expect(resourceLabels(resource, stack)).toEqual({
      deployment_environment_name: "local",
      job: "api-gateway",
      instance: "16952375-1c5e-4a5b-9d7e-3f1f0b6f2a10",
    });
    expect(services as readonly string[]).toContain(resourceLabels(resource, stack).job ?? "");
    // otel-lgtm 0.31.0's own docker/prometheus.yaml promotes service.* among others; with it,
    // every series would carry labels the dashboards and the cluster do not have.
    const stock = {
      promoteResourceAttributes: ["service.instance.id", "service.name", "service.version"],
    };
    expect(Object.keys(resourceLabels(resource, stock))).toContain("service_name");
    expect(prometheus.storage.tsdb).toEqual({ out_of_order_time_window: "30m" });
    expect(prometheus.storage.exemplars).toEqual({ max_exemplars: 100000 });
    expect(prometheus.rule_files).toEqual(["/otel-lgtm/observability-sandbox/alert-rules.yaml"]);
  });

  test("the alert rules are the cluster's PrometheusRule groups", async () => {
    const rules = Bun.YAML.parse(files["alert-rules.yaml"] ?? "") as { groups: { name: string }[] };
    const manifest = Bun.YAML.parse(
      await Bun.file(join(import.meta.dir, "../gitops/alerts/service-slos.yaml")).text(),
    ) as { spec: { groups: unknown[] } };
    expect(rules.groups).toEqual(manifest.spec.groups as { name: string }[]);
  });

  test("Grafana: the dashboards' data source UIDs, pointed at the container's backends", () => {
    const provisioned = Bun.YAML.parse(files["grafana-datasources.yaml"] ?? "") as {
      datasources: { uid: string; type: string; url: string }[];
    };
    expect(provisioned.datasources.map(({ uid, type, url }) => ({ uid, type, url }))).toEqual([
      { uid: "prometheus", type: "prometheus", url: "http://127.0.0.1:9090" },
      { uid: "loki", type: "loki", url: "http://127.0.0.1:3100" },
      { uid: "tempo", type: "tempo", url: "http://127.0.0.1:3200" },
    ]);
    const used = new Set<string>();
    for (const [name, content] of Object.entries(files)) {
      if (!name.startsWith("dashboards/")) continue;
      for (const match of content.matchAll(
        /"uid": "([^"]+)",\s*"type": "(\w+)"|"type": "(\w+)",\s*"uid": "([^"]+)"/g,
      ))
        used.add(match[1] ?? match[4] ?? "");
    }
    expect([...used].sort()).toEqual(
      Object.values(datasources)
        .map((d) => d.uid)
        .sort(),
    );
    for (const uid of used) expect(provisioned.datasources.map((d) => d.uid)).toContain(uid);
  });

  test("Grafana: both dashboards, in the cluster's folder", () => {
    expect(Object.keys(files).filter((f) => f.startsWith("dashboards/"))).toEqual([
      "dashboards/service-overview.json",
      "dashboards/runbooks.json",
    ]);
    const overview = JSON.parse(files["dashboards/service-overview.json"] ?? "");
    expect(overview.uid).toBe("service-overview");
    expect(files["grafana-dashboards.yaml"]).toContain("folder: Observability sandbox");
  });
});

// --- real runs of `bun run dev --stack` against the stand-in docker ---

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

interface World {
  root: string;
  env: Record<string, string>;
  ports: Record<PortName, number>;
  statePath: string;
  state(): FakeState;
  calls(): string[][];
}

/** A HOME, a PATH with bun and (unless not installed) the stand-in docker, free ports. */
async function world(state: Partial<FakeState> = {}, docker = true): Promise<World> {
  const root = mkdtempSync(join(tmpdir(), "dev-stack-test-"));
  roots.push(root);
  const [bin, base] = [join(root, "bin"), join(root, "base-bin")];
  mkdirSync(base);
  symlinkSync(process.execPath, join(base, "bun"));
  writeShims(bin, docker ? ["docker"] : []);
  const statePath = join(root, "state.json");
  writeState(statePath, freshState(state));
  const logPath = join(root, "calls.log");
  const names = Object.keys(PORTS) as PortName[];
  const ports = Object.fromEntries(
    await Promise.all(names.map(async (name) => [name, await freePort()])),
  ) as Record<PortName, number>;
  const outside = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith("OTEL_")),
  ) as Record<string, string>;
  const env: Record<string, string> = {
    ...outside,
    PATH: `${bin}:${base}`,
    // Your HOME stays (bun's transpiler cache is there); the state goes to the test's directory.
    XDG_STATE_HOME: join(root, "state"),
    FAKE_STATE: statePath,
    FAKE_LOG: logPath,
    API_GATEWAY_PORT: String(await freePort()),
    USER_SERVICE_PORT: String(await freePort()),
    // Exports to a port nobody serves give up quickly at shutdown.
    OTEL_EXPORTER_OTLP_TIMEOUT: "1000",
    ...Object.fromEntries(names.map((name) => [PORTS[name].variable, String(ports[name])])),
  };
  return {
    root,
    env,
    ports,
    statePath,
    state: () => readState(statePath),
    calls: () => readCalls(logPath),
  };
}

// Each run starts bun and several stand-in docker calls, concurrently with the other tests.
const SLOW = 30_000;

/** Waits until both services `bun run dev` started answer their readiness probes: the gateway. */
async function gatewayReady(w: World): Promise<string> {
  const ready = (port?: string) =>
    fetch(`http://localhost:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
  for (let tries = 0; tries < 400; tries++) {
    if ((await ready(w.env.USER_SERVICE_PORT)) && (await ready(w.env.API_GATEWAY_PORT)))
      return `http://localhost:${w.env.API_GATEWAY_PORT}`;
    await Bun.sleep(50);
  }
  throw new Error("bun run dev's services are not ready");
}

const dockerCalls = (w: World) => w.calls().map(([, ...args]) => args);

/** Runs `bun run dev --stack` to its end; `whileUp` runs once it says the stack is up. */
async function runStack(
  w: World,
  whileUp?: (output: () => string) => Promise<void>,
): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  const child = Bun.spawn([process.execPath, join(import.meta.dir, "dev.ts"), "--stack"], {
    env: w.env,
    stdout: "pipe",
    stderr: "pipe",
  });
  let stderr = "";
  let stdout = "";
  const collect = async (stream: ReadableStream<Uint8Array>, add: (text: string) => void) => {
    const decoder = new TextDecoder();
    for await (const bytes of stream) add(decoder.decode(bytes, { stream: true }));
  };
  const done = Promise.all([
    collect(child.stderr, (t) => {
      stderr += t;
    }),
    collect(child.stdout, (t) => {
      stdout += t;
    }),
  ]);
  try {
    if (whileUp) {
      const deadline = Date.now() + 20_000;
      while (!stderr.includes("stack: up.") && child.exitCode === null && Date.now() < deadline)
        await Bun.sleep(25);
      if (stderr.includes("stack: up.")) await whileUp(() => stdout + stderr);
      child.kill("SIGINT");
    }
    const code = await child.exited;
    await done;
    return { code, stdout, stderr, ms: performance.now() - started };
  } finally {
    child.kill("SIGKILL");
  }
}

describe("bun run dev --stack refuses", () => {
  test.concurrent(
    "at once without docker",
    async () => {
      const w = await world({}, false);
      const run = await runStack(w);
      expect(run.stderr).toBe(
        "error: docker is not installed (not on PATH); bun run dev --stack runs grafana/otel-lgtm in it\n" +
          "  fix: install Docker (https://docs.docker.com/get-docker/), or run bun run dev without --stack: telemetry printed in this terminal\n",
      );
      expect(run.code).toBe(1);
      // At once: no docker call at all, where waiting for otel-lgtm alone would take up to 180 s
      // (the bound is loose for a busy machine).
      expect(run.ms).toBeLessThan(15_000);
    },
    SLOW,
  );

  test.concurrent(
    "at once when the Docker daemon is down",
    async () => {
      const w = await world({ dockerRunning: false });
      const run = await runStack(w);
      expect(run.stderr).toBe(
        "error: the Docker daemon is not reachable (Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?)\n" +
          "  fix: start it: macOS: open -a Docker · Linux: sudo systemctl start docker; or run bun run dev without --stack\n",
      );
      expect(run.code).toBe(1);
      expect(dockerCalls(w)).toEqual([["version", "--format", "{{.Server.Version}}"]]);
    },
    SLOW,
  );

  test.concurrent(
    "naming a port something on this machine already listens on",
    async () => {
      const w = await world();
      const taken = Bun.listen({
        hostname: "127.0.0.1",
        port: w.ports.prometheus,
        socket: { data() {} },
      });
      try {
        const run = await runStack(w);
        const port = w.ports.prometheus;
        expect(run.stderr).toBe(
          `error: port ${port} (Prometheus) is already taken on this machine\n` +
            `  fix: free it, or move it: STACK_PROMETHEUS_PORT=${port < 55536 ? port + 10000 : port - 10000} bun run dev --stack\n`,
        );
        expect(run.code).toBe(1);
        expect(dockerCalls(w).map((args) => args[0])).not.toContain("run");
      } finally {
        taken.stop(true);
      }
    },
    SLOW,
  );

  test.concurrent(
    "naming the port Docker could not bind, and leaves no container",
    async () => {
      const w = await world({ images: [IMAGE] });
      w.env.STACK_LOKI_PORT = String(w.ports.loki);
      writeState(w.statePath, { ...w.state(), busyPorts: [w.ports.loki] });
      const run = await runStack(w);
      const port = w.ports.loki;
      expect(run.stderr).toEndWith(
        `error: port ${port} (Loki) is already taken on this machine\n` +
          `  fix: free it, or move it: STACK_LOKI_PORT=${port < 55536 ? port + 10000 : port - 10000} bun run dev --stack\n`,
      );
      expect(run.code).toBe(1);
      expect(w.state().containers).toEqual({});
      expect(dockerCalls(w).at(-1)).toEqual(["rm", "--force", CONTAINER]);
    },
    SLOW,
  );

  test.concurrent(
    "when its container is already there",
    async () => {
      const w = await world({ images: [IMAGE] });
      writeState(w.statePath, {
        ...w.state(),
        containers: {
          [CONTAINER]: {
            id: "0".repeat(64),
            image: IMAGE,
            running: true,
            published: {},
            volumes: [],
            env: [],
            envFiles: [],
            checks: 0,
            logs: "",
          },
        },
      });
      const run = await runStack(w);
      expect(run.stderr).toBe(
        `error: a container named ${CONTAINER} is already there (another bun run dev --stack, or one left behind)\n` +
          `  fix: stop the other run with Ctrl-C, or remove it: docker rm --force ${CONTAINER}\n`,
      );
      expect(run.code).toBe(1);
      expect(Object.keys(w.state().containers ?? {})).toEqual([CONTAINER]); // not ours to remove
    },
    SLOW,
  );

  test.concurrent(
    "when the image cannot be pulled",
    async () => {
      const w = await world({ registryUnreachable: true });
      const run = await runStack(w);
      expect(run.stderr).toBe(
        `stack: pulling ${IMAGE} (once; later runs reuse it)\n` +
          'Error response from daemon: Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host\n' +
          `error: docker pull ${IMAGE} failed (its message is above)\n` +
          "  fix: check the network and that Docker can reach Docker Hub, then run it again\n",
      );
      expect(run.code).toBe(1);
      expect(dockerCalls(w).map((args) => args[0])).not.toContain("run");
    },
    SLOW,
  );

  test.concurrent(
    "and removes its container when otel-lgtm stops while starting",
    async () => {
      const w = await world({
        images: [IMAGE],
        containerCrashLog: "Error: Loki exited before becoming ready.\n",
      });
      const run = await runStack(w);
      expect(run.stderr).toContain("Starting grafana/otel-lgtm v0.31.0\n");
      expect(run.stderr).toContain("Error: Loki exited before becoming ready.\n");
      expect(run.stderr).toContain(`stack: removed container ${CONTAINER}\n`);
      expect(run.stderr).toEndWith(
        `error: ${CONTAINER} stopped while starting (its last lines are above)\n` +
          `  fix: they name the part that failed; to watch every part start: docker run --rm -e ENABLE_LOGS_ALL=true ${IMAGE}\n`,
      );
      expect(run.code).toBe(1);
      expect(w.state().containers).toEqual({});
    },
    SLOW,
  );
});

// Concurrent with the refusals above: its own world (directory, state, ports), as theirs.
test.concurrent("bun run dev --stack pulls once, points the services at otel-lgtm, prints Grafana's URL and login, Ctrl-C removes the container; a second run reuses the image", async () => {
  const w = await world();
  // Spans within 50 ms rather than dev --stack's default 1 s (a setting the user may give too).
  w.env.OTEL_BSP_SCHEDULE_DELAY = "50";
  // The fake daemon publishes nothing: once `docker run` has returned, this test serves the
  // container's OTLP port itself, as docker-proxy would, and hands what arrives to a receiver.
  const receiver = startOtlpReceiver();
  const published = () =>
    Bun.serve({
      hostname: "127.0.0.1",
      port: w.ports.otlp,
      fetch: async (request) =>
        fetch(`${receiver.url}${new URL(request.url).pathname}`, {
          method: request.method,
          headers: request.headers,
          body: await request.arrayBuffer(),
        }),
    });
  let otlp: ReturnType<typeof Bun.serve> | undefined;
  try {
    const first = await runStack(w, async () => {
      otlp = published();
      const gateway = await gatewayReady(w);
      expect((await fetch(`${gateway}/user/123`)).status).toBe(200);
      await receiver.waitForSpans(
        (spans) => new Set(spans.map((s) => s.resource["service.name"])).size === 2,
        10_000,
      );
      // While it runs: our container, with our ports and files.
      const container = w.state().containers?.[CONTAINER];
      expect(container?.running).toBe(true);
      expect(container?.image).toBe(IMAGE);
      expect(Object.keys(container?.published ?? {})).toContain(`127.0.0.1:${w.ports.grafana}`);
    });
    expect(first.code).toBe(0);
    const loginFile = join(w.root, "state/observability-sandbox/dev-stack/grafana-login.env");
    expect(statSync(loginFile).mode & 0o777).toBe(0o600);
    const password = /GF_SECURITY_ADMIN_PASSWORD=(.+)/.exec(readFileSync(loginFile, "utf8"))?.[1];
    expect(password?.length).toBeGreaterThanOrEqual(20);
    expect(first.stderr).toContain(`stack: pulling ${IMAGE} (once; later runs reuse it)\n`);
    expect(first.stderr).toContain(
      `stack: up. Grafana http://localhost:${w.ports.grafana}/d/service-overview/service-overview\n` +
        `  login admin, password: sed -n 's/^GF_SECURITY_ADMIN_PASSWORD=//p' ${loginFile}\n`,
    );
    expect(first.stdout + first.stderr).not.toContain(password as string);
    expect(first.stderr).toEndWith(`stack: removed container ${CONTAINER}\n`);
    expect(w.state().containers).toEqual({});
    const calls = dockerCalls(w);
    expect(calls.filter((args) => args[0] === "pull")).toEqual([["pull", IMAGE]]);
    expect(calls.at(-1)).toEqual(["rm", "--force", CONTAINER]);
    // The services' telemetry reached the OTLP port the container publishes.
    expect(receiver.spans.some((s) => s.resource["service.name"] === "user-service")).toBe(true);

    otlp?.stop(true); // the container is gone, and its published port with it
    const before = dockerCalls(w).length;
    const second = await runStack(w, async () => {
      await gatewayReady(w);
    });
    expect(second.code).toBe(0);
    expect(second.stderr).toContain(`stack: ${IMAGE} is already here, not pulling\n`);
    const again = dockerCalls(w).slice(before);
    expect(again.map((args) => args[0])).not.toContain("pull");
    expect(again.at(-1)).toEqual(["rm", "--force", CONTAINER]);
    expect(readFileSync(loginFile, "utf8")).toContain(`=${password}\n`); // the same login
    expect(OTEL_LGTM.image).toBe(IMAGE);
  } finally {
    otlp?.stop(true);
    await receiver.stop();
  }
}, 60_000);
