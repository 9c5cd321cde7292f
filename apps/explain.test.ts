// `bun run explain` end to end: against `bun run dev` running for real (both services, dev's
// receiver, free ports), and every way it can fail, each with its exact error and fix lines.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CommandRun, runCommand } from "../cli/testing/run-command.ts";
import { copyWhereNoHelmRuns } from "../scripts/testing/no-helm.ts";
import { laptopGrafana, type Report } from "./backend-report.ts";
import { freePort, processTimeoutMs } from "./telemetry/testing/process.ts";

// The test runner's own OTEL_* settings stay out of dev and of explain.
const baseEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !name.startsWith("OTEL_")),
);

/** The "why" cell of docs/explain.md's error table, in the row whose error starts so. */
function documentedWhy(errorStart: string): string {
  const rows = readFileSync(join(import.meta.dir, "..", "docs", "explain.md"), "utf8")
    .split("\n")
    .filter((line) => line.startsWith("| `"));
  const row = rows.find((line) => line.startsWith(`| \`${errorStart}`));
  if (!row) throw new Error(`docs/explain.md: no error row starting ${errorStart}`);
  return row.split(" | ")[1] ?? "";
}

function explain(
  args: string[],
  receiverPort: number,
  apps = import.meta.dir,
  env: Record<string, string> = {},
): Promise<CommandRun> {
  return runCommand([process.execPath, `${apps}/explain.ts`, ...args], {
    env: { ...baseEnv, ...env, DEV_RECEIVER_PORT: String(receiverPort) },
  });
}

/** `bun run dev` on free ports, once it says the gateway is up. */
async function startDev(settings: Record<string, string> = {}, apps = import.meta.dir) {
  const ports = {
    gateway: await freePort(),
    userService: await freePort(),
    receiver: await freePort(),
  };
  const dev = Bun.spawn([process.execPath, `${apps}/dev.ts`], {
    env: {
      ...baseEnv,
      ...settings,
      API_GATEWAY_PORT: String(ports.gateway),
      USER_SERVICE_PORT: String(ports.userService),
      DEV_RECEIVER_PORT: String(ports.receiver),
    },
    stdout: "ignore",
    stderr: "pipe",
  });
  let said = "";
  const decoder = new TextDecoder();
  const reading = (async () => {
    for await (const bytes of dev.stderr) said += decoder.decode(bytes, { stream: true });
  })();
  const deadline = Date.now() + 15_000;
  while (!said.includes("dev: api-gateway on")) {
    if (Date.now() > deadline || dev.exitCode !== null)
      throw new Error(`bun run dev did not start:\n${said}`);
    await Bun.sleep(50);
  }
  return {
    ports,
    async stop() {
      dev.kill("SIGTERM");
      await Promise.race([dev.exited, Bun.sleep(5000)]);
      dev.kill("SIGKILL");
      await reading;
    },
  };
}

describe("against bun run dev", () => {
  let dev: Awaited<ReturnType<typeof startDev>>;
  beforeAll(async () => {
    dev = await startDev();
  }, processTimeoutMs);
  afterAll(() => dev?.stop());

  test.concurrent(
    "prints the request, then traces, span metrics, service graph, logs and metrics with queries and links",
    async () => {
      const run = await explain([], dev.ports.receiver);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      const [header = ""] = run.stdout.split("\n");
      expect(header).toMatch(
        /^GET \/user\/123 → 200 from api-gateway in \d+(\.\d)? ms, trace [0-9a-f]{32}$/,
      );
      const traceId = header.slice(-32);
      const headings = run.stdout.split("\n").filter((line) => line.startsWith("── "));
      expect(headings.map((h) => h.split(":")[0])).toEqual([
        "── Traces",
        "── Span metrics",
        "── Service graph",
        "── Logs",
        "── Metrics",
      ]);
      expect(run.stdout).toContain(`TraceQL   { trace:id = "${traceId}" }`);
      expect(run.stdout).toContain(
        `LogQL     {service_name="api-gateway"} | trace_id="${traceId}"`,
      );
      expect(run.stdout).toContain("    http_server_request_duration_seconds_{bucket,sum,count}");
      expect(run.stdout).toContain('PromQL    target_info{job="api-gateway"}');
      expect(run.stdout).toMatch(
        /^ {6}Explore {3}http:\/\/localhost:3000\/explore\?schemaVersion=1&panes=/m,
      );
    },
    processTimeoutMs,
  );

  test.concurrent(
    "--json: the same report for scripts, of the request dev's services really answered",
    async () => {
      const run = await explain(["/user/9999", "--json"], dev.ports.receiver);
      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout) as Report & {
        request: { url: string; status: number };
        grafana: string;
      };
      expect(report.request).toMatchObject({
        url: `http://localhost:${dev.ports.gateway}/user/9999`,
        status: 404,
      });
      expect(report.grafana).toBe(laptopGrafana().url);
      expect(report.traces.spans.map((s) => `${s.service} ${s.name}`)).toEqual([
        "api-gateway GET /user/:id",
        "api-gateway GET",
        "user-service GET /users/:id",
        "user-service SELECT users",
      ]);
      // dev's services send no k8s.* themselves; the Collector adds them from the rendered pod.
      expect(report.traces.spans[0]?.tempo.resource).toMatchObject({
        "service.name": "api-gateway",
        "k8s.deployment.name": "api-gateway",
        "k8s.namespace.name": "apps",
      });
      expect(report.logs.records.map((r) => r.body)).toContain("user not found");
      // dev lists every stream that changed with the request; a request the other tests send at
      // the same time may add its own (/nope: no route), so this one is found by its route.
      const server = report.metrics.points.find(
        (p) =>
          p.service === "api-gateway" &&
          p.metric === "http.server.request.duration" &&
          p.attributes["http.route"] === "/user/:id",
      );
      expect(server?.prometheus[0]?.labels).toMatchObject({
        job: "api-gateway",
        http_route: "/user/:id",
        http_response_status_code: "404",
      });
      expect(
        report.traces.serviceGraph.map((f) => `${f.labels.client} → ${f.labels.server}`),
      ).toContain("api-gateway → user-service");
    },
    processTimeoutMs,
  );

  test.concurrent("a path that is not a route", async () => {
    const run = await explain(["/nope"], dev.ports.receiver);
    expect(run).toMatchObject({
      code: 1,
      stdout: "",
      stderr:
        'error: /nope is not a route of api-gateway (it answered 404 "not found")\n' +
        "  fix: ask for one of its routes, GET /user/:id: bun run explain /user/123\n",
    });
  });
});

test.concurrent(
  "an instrument added to a service shows its Prometheus name at once (in a copy of the repository)",
  async () => {
    const root = join(import.meta.dir, "..");
    const copy = mkdtempSync(join(tmpdir(), "explain-copy-"));
    try {
      for (const entry of readdirSync(root)) {
        if ([".git", "node_modules", ".cache"].includes(entry)) continue;
        cpSync(join(root, entry), join(copy, entry), { recursive: true, verbatimSymlinks: true });
      }
      // The installed packages and tools, shared; the workspaces' own links point into the copy.
      for (const shared of ["node_modules", ".cache"])
        symlinkSync(join(root, shared), join(copy, shared));
      const app = join(copy, "apps/api-gateway/src/app.ts");
      const source = readFileSync(app, "utf8");
      const edited = source
        .replace(
          "  return serviceApp(",
          '  const cacheReads = meter.createCounter("app.cache.reads", { unit: "By" });\n  return serviceApp(',
        )
        // Counted as the answer leaves: dev attaches the first metric export after the request's
        // spans ended, so a point counted long before the end may fall into an earlier export.
        .replace(
          "        return result.user;",
          '        cacheReads.add(512, { "cache.name": "users" });\n        return result.user;',
        );
      expect(edited.split("cacheReads").length).toBe(3);
      writeFileSync(app, edited);
      const dev = await startDev({}, join(copy, "apps"));
      try {
        const run = await explain(["--json"], dev.ports.receiver, join(copy, "apps"));
        expect(run.stderr).toBe("");
        const report = JSON.parse(run.stdout) as Report;
        const point = report.metrics.points.find((p) => p.metric === "app.cache.reads");
        expect(point?.prometheus.map((f) => f.name)).toEqual(["app_cache_reads_bytes_total"]);
        expect(point?.prometheus[0]?.labels).toMatchObject({
          job: "api-gateway",
          cache_name: "users",
        });
        expect(point?.prometheus[0]?.query.text).toBe(
          'rate(app_cache_reads_bytes_total{cache_name="users", job="api-gateway"}[5m])',
        );
      } finally {
        await dev.stop();
      }
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  },
  processTimeoutMs,
);

test.concurrent(
  "a trace that never reaches dev's receiver: a bounded wait, and what it waited for",
  async () => {
    // Traces go to the console instead: the gateway traces the request, dev's receiver never
    // hears of it.
    const dev = await startDev({ OTEL_TRACES_EXPORTER: "console" });
    try {
      const run = await explain(["--wait", "1s"], dev.ports.receiver);
      expect(run.code).toBe(1);
      expect(run.stdout).toBe("");
      expect(run.stderr).toMatch(
        /^error: trace [0-9a-f]{32} did not reach dev's receiver within 1s\n {2}fix: dev shows only what the services export over OTLP: check that bun run dev's first lines say traces go to its receiver \(no OTEL_TRACES_EXPORTER=none or console\), then bun run explain --wait 3s\n$/,
      );
      expect(run.ms).toBeLessThan(5000);
      // The doc's table says what this run shows.
      expect(documentedWhy("trace … did not reach dev's receiver")).toContain(
        "OTEL_TRACES_EXPORTER=console",
      );
    } finally {
      await dev.stop();
    }
  },
  processTimeoutMs,
);

test.concurrent(
  "no trace exporter: no traceresponse header, so nothing to follow",
  async () => {
    const dev = await startDev({ OTEL_TRACES_EXPORTER: "none" });
    try {
      const run = await explain([], dev.ports.receiver);
      expect(run).toMatchObject({
        code: 1,
        stdout: "",
        stderr:
          "error: api-gateway answered 200 without a traceresponse header: nothing traced the request\n" +
          "  fix: restart bun run dev without OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none (telemetry off, or no trace exporter)\n",
      });
      expect(documentedWhy("api-gateway answered … without a traceresponse header")).toContain(
        "OTEL_TRACES_EXPORTER=none",
      );
      expect(documentedWhy("trace … did not reach dev's receiver")).not.toContain("=none");
    } finally {
      await dev.stop();
    }
  },
  processTimeoutMs,
);

test.concurrent("no dev services running: said within 2 s", async () => {
  const port = await freePort();
  const run = await explain([], port);
  expect(run).toMatchObject({
    code: 1,
    stdout: "",
    stderr:
      `error: no dev services running: nothing answers at http://127.0.0.1:${port} (dev's receiver, DEV_RECEIVER_PORT; connection refused)\n` +
      "  fix: start them in another terminal with bun run dev, then run bun run explain again\n",
  });
  expect(run.ms).toBeLessThan(2000);
});

test.concurrent("something else on the receiver's port (a Collector answers 404 there)", async () => {
  const other = Bun.serve({
    port: 0,
    fetch: () => new Response("404 page not found\n", { status: 404 }),
  });
  try {
    const run = await explain([], other.port as number);
    expect(run).toMatchObject({
      code: 1,
      stdout: "",
      stderr:
        `error: http://127.0.0.1:${other.port} answers, but not as bun run dev's receiver (GET /dev/status: 404)\n` +
        "  fix: dev runs its receiver only without OTEL_EXPORTER_OTLP_ENDPOINT: restart bun run dev without it, or set DEV_RECEIVER_PORT to the port dev uses\n",
    });
  } finally {
    other.stop(true);
  }
});

test.concurrent.each<[string[], string, string]>([
  [["user/123"], 'error: the path must start with /, got "user/123"', "bun run explain /user/123"],
  [
    ["http://localhost:4000/user/1"],
    'error: the path must start with /, got "http://localhost:4000/user/1"',
    "bun run explain /user/1",
  ],
  [
    ["/user/1", "/user/2"],
    "error: one path at a time, got 2: /user/1 /user/2",
    "bun run explain /user/1",
  ],
  [
    ["--wait", "soon"],
    'error: --wait "soon" is not a duration',
    "use a number with a unit, e.g. --wait 15m, --wait 90s or --wait 500ms",
  ],
  [["--verbose"], "error: unknown flag --verbose", "bun run explain --help lists the flags"],
  ...["/healthz", "/readyz?full=1"].map((probe): [string[], string, string] => [
    [probe],
    `error: ${probe.split("?")[0]} is a probe of the services: probes are not traced, by design, so there is no trace to explain`,
    "ask for a route instead: bun run explain /user/123",
  ]),
])("bad input %p: one error line, one fix line", async (args, error, fix) => {
  // Checked before anything is asked of dev: no receiver needed.
  const run = await explain(args, await freePort());
  expect(run).toMatchObject({ code: 1, stdout: "", stderr: `${error}\n  fix: ${fix}\n` });
});

test.concurrent("--help says what it does and exits 0", async () => {
  const run = await explain(["--help"], await freePort());
  expect(run.code).toBe(0);
  expect(run.stdout).toStartWith("usage: bun run explain [path] [--json] [--wait <duration>]");
});

test.concurrent(
  "where no helm runs (macOS, arm64 Linux): --help as ever, the report whole without the pods' labels, saying so",
  async () => {
    const copy = copyWhereNoHelmRuns();
    const tools = join(copy.root, ".cache", "tools");
    const noHelm = copy.env;
    try {
      const help = await explain(["--help"], await freePort(), join(copy.root, "apps"), noHelm);
      expect(help).toMatchObject({ code: 0, stderr: "" });
      expect(help.stdout).toStartWith("usage: bun run explain");

      const dev = await startDev();
      try {
        const run = await explain([], dev.ports.receiver, join(copy.root, "apps"), noHelm);
        expect(run.stderr).toBe("");
        expect(run.code).toBe(0);
        const notes = run.stdout.split("\n").filter((line) => line.startsWith("note: "));
        expect(notes).toEqual([
          `note: without the pods (the pinned v4.1.4 (${join(tools, "helm", "helm")}) cannot run on this machine (ENOEXEC), and no helm on PATH), the report lacks what the Collector's k8s_attributes adds from them on the cluster: ${notes[0]?.split("on the cluster: ")[1]?.split(";")[0]}; install helm v4 (https://helm.sh/docs/intro/install/) so that \`helm version\` works, then run the command again`,
        ]);
        // The attributes named are those of gitops/values' k8s_attributes, and none is reported.
        expect(notes[0]).toContain("k8s.namespace.name, k8s.pod.name, k8s.pod.uid, k8s.node.name");
        expect(run.stdout.split("\n").filter((line) => line.includes("k8s"))).toEqual(notes);
        expect(run.stdout).toContain("── Metrics");
        expect(run.stdout).toContain('PromQL    target_info{job="api-gateway"}');

        // A helm 4 on PATH (here the pinned one, linked): the pods are rendered with it.
        const bin = mkdtempSync(join(tmpdir(), "explain-helm-on-path-"));
        symlinkSync(
          join(import.meta.dir, "..", ".cache", "tools", "helm", "helm"),
          join(bin, "helm"),
        );
        try {
          const onPath = await explain(["--json"], dev.ports.receiver, join(copy.root, "apps"), {
            PATH: bin,
          });
          expect(onPath).toMatchObject({ code: 0, stderr: "" });
          const report = JSON.parse(onPath.stdout) as Report & { note?: string };
          expect(report.note).toBeUndefined();
          expect(report.traces.spans[0]?.tempo.resource).toMatchObject({
            "k8s.namespace.name": "apps",
          });
        } finally {
          rmSync(bin, { recursive: true, force: true });
        }
      } finally {
        await dev.stop();
      }
    } finally {
      copy.remove();
    }
  },
  processTimeoutMs,
);
