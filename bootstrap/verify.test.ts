// verify.ts against local stand-ins for the gateway and the Prometheus, Loki and Tempo query
// APIs. The stand-ins answer in those APIs' real response formats, and only with data for the
// trace ids the gateway actually received, so verify must ask for the right things.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../apps/telemetry/testing/process.ts";
import { CliError } from "../cli/errors.ts";
import { flags, parseOptions, type VerifyOptions, verify } from "./verify.ts";

interface StackBehaviour {
  /** The gateway answers 503 to this many requests first. */
  gatewayFailures?: number;
  /** Each API answers "nothing yet" to this many queries before showing the data. */
  metricsAfter?: number;
  logsAfter?: number;
  tracesAfter?: number;
  /** Services whose log lines / spans reach Loki / Tempo. */
  logServices?: string[];
  traceServices?: string[];
}

// The tests run concurrently (they wait on timers, servers and processes, not the CPU): each has
// its own stand-ins on ports of their own, all stopped when the file is done.
const servers: ReturnType<typeof Bun.serve>[] = [];
afterAll(() => {
  for (const server of servers.splice(0)) server.stop(true);
});

const serve = (fetch: (request: Request) => Response | Promise<Response>) => {
  const server = Bun.serve({ port: 0, fetch });
  servers.push(server);
  return `http://localhost:${server.port}`;
};

const b64 = (hex: string) => Buffer.from(hex, "hex").toString("base64");
const both = ["api-gateway", "user-service"];

function fakeStack(behaviour: StackBehaviour = {}) {
  const seen = {
    traceIds: [] as string[],
    gatewayCalls: 0,
    lokiQueries: [] as string[],
    promQueries: [] as string[],
  };
  const calls = { metrics: 0, logs: 0, traces: 0 };

  const gateway = serve((request) => {
    if (!new URL(request.url).pathname.startsWith("/user/"))
      return Response.json({ error: "not found" }, { status: 404 });
    seen.gatewayCalls++;
    if (seen.gatewayCalls <= (behaviour.gatewayFailures ?? 0)) {
      return new Response("no healthy upstream", { status: 503 });
    }
    const traceparent = request.headers.get("traceparent") ?? "";
    const traceId = /^00-([0-9a-f]{32})-[0-9a-f]{16}-01$/.exec(traceparent)?.[1];
    if (traceId) seen.traceIds.push(traceId);
    return Response.json({ id: 42, name: "Alan Turing", email: "alan@example.com" });
  });

  // GET /api/v1/query (Prometheus HTTP API, instant vector).
  const prometheus = serve((request) => {
    const url = new URL(request.url);
    if (url.pathname !== "/api/v1/query")
      return new Response("404 page not found", { status: 404 });
    const query = url.searchParams.get("query") ?? "";
    seen.promQueries.push(query);
    if (!query.includes("http_server_request_duration_seconds_count")) {
      return Response.json(
        { status: "error", errorType: "bad_data", error: "unexpected query" },
        { status: 400 },
      );
    }
    const visible = calls.metrics++ >= (behaviour.metricsAfter ?? 0);
    const now = Date.now() / 1000;
    const result = visible
      ? [
          {
            metric: { job: "api-gateway", http_route: "/user/:id" },
            value: [now, String(seen.traceIds.length)],
          },
          {
            metric: { job: "user-service", http_route: "/users/:id" },
            value: [now, String(seen.traceIds.length)],
          },
        ]
      : [];
    return Response.json({ status: "success", data: { resultType: "vector", result } });
  });

  // GET /loki/api/v1/query_range (streams; structured metadata merged into stream labels).
  const loki = serve((request) => {
    const url = new URL(request.url);
    if (url.pathname !== "/loki/api/v1/query_range")
      return new Response("404 page not found\n", { status: 404 });
    const query = url.searchParams.get("query") ?? "";
    seen.lokiQueries.push(query);
    const visible = calls.logs++ >= (behaviour.logsAfter ?? 0);
    const asked = seen.traceIds.filter((id) => query.includes(id));
    const start = BigInt(url.searchParams.get("start") ?? "0");
    const result = visible
      ? (behaviour.logServices ?? both).flatMap((service) =>
          asked.map((traceId) => ({
            stream: {
              service_name: service,
              detected_level: "info",
              severity_text: "INFO",
              trace_id: traceId,
              span_id: "b7ad6b7169203331",
            },
            values: [[String(start + 61_000_000_000n), "user found"]],
          })),
        )
      : [];
    return Response.json({
      status: "success",
      data: {
        resultType: "streams",
        result,
        stats: {
          summary: { bytesProcessedPerSecond: 0, linesProcessedPerSecond: 0, execTime: 0.001 },
        },
      },
    });
  });

  // GET /api/traces/<id> (Tempo; OTLP JSON under "batches", ids base64 like protobuf JSON).
  const tempo = serve((request) => {
    const url = new URL(request.url);
    const id = /^\/api\/traces\/([0-9a-f]{32})$/.exec(url.pathname)?.[1];
    if (!id) return new Response("404 page not found\n", { status: 404 });
    const visible = calls.traces++ >= (behaviour.tracesAfter ?? 0);
    if (!visible || !seen.traceIds.includes(id))
      return new Response("trace not found\n", { status: 404 });
    const span = (name: string, kind: string) => ({
      traceId: b64(id),
      spanId: b64("b7ad6b7169203331"),
      name,
      kind,
      startTimeUnixNano: "1732560000000000000",
      endTimeUnixNano: "1732560000012000000",
      status: {},
    });
    return Response.json({
      batches: (behaviour.traceServices ?? both).map((service) => ({
        resource: {
          attributes: [
            { key: "service.name", value: { stringValue: service } },
            { key: "deployment.environment.name", value: { stringValue: "kind" } },
          ],
        },
        scopeSpans: [
          {
            scope: { name: "@sandbox/telemetry" },
            spans:
              service === "api-gateway"
                ? [span("GET /user/:id", "SPAN_KIND_SERVER"), span("GET", "SPAN_KIND_CLIENT")]
                : [
                    span("GET /users/:id", "SPAN_KIND_SERVER"),
                    span("SELECT users", "SPAN_KIND_CLIENT"),
                  ],
          },
        ],
      })),
    });
  });

  const options: VerifyOptions = {
    gateway,
    prometheus,
    loki,
    tempo,
    grafana: "http://localhost:3000",
    timeoutMs: 3_000,
    pollMs: 20,
    requests: 3,
  };
  return { options, seen, calls };
}

/** Runs verify.ts to its end without blocking the event loop the other tests' timers run on. */
async function cli(...args: string[]) {
  return cliWith({}, ...args);
}

async function cliWith(env: Record<string, string>, ...args: string[]) {
  const p = Bun.spawn(["bun", `${import.meta.dir}/verify.ts`, ...args], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...env },
  });
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { stdout, stderr, exitCode };
}

const run = async (options: VerifyOptions) => {
  const lines: string[] = [];
  const result = await verify(options, (line) => lines.push(line));
  return { ...result, output: lines.join("\n") };
};

describe("verify", () => {
  test.concurrent("passes once metrics, logs and the trace arrive, retrying while they are not there yet", async () => {
    const stack = fakeStack({ metricsAfter: 2, logsAfter: 3, tracesAfter: 4 });
    const result = await run(stack.options);

    expect(result.output).toMatch(/^PASS metrics +\d+\.\d s {2}found$/m);
    expect(result.output).toMatch(/^PASS logs +\d+\.\d s {2}found$/m);
    expect(result.output).toMatch(/^PASS traces +\d+\.\d s {2}found$/m);
    expect(result.ok).toBe(true);
    // It asked again after the "not yet" answers, with the trace ids it sent.
    expect(stack.calls.metrics).toBeGreaterThan(2);
    expect(stack.calls.logs).toBeGreaterThan(3);
    expect(stack.calls.traces).toBeGreaterThan(4);
    expect(stack.seen.traceIds).toHaveLength(3);
    expect(stack.seen.traceIds).toContain(result.traceId);
    expect(stack.seen.lokiQueries.at(-1)).toContain(`trace_id=~"${stack.seen.traceIds.join("|")}"`);
    // The Grafana link opens that trace in Explore.
    const link = result.output.match(/^trace in Grafana: (\S+)$/m)?.[1] ?? "";
    expect(link).toStartWith("http://localhost:3000/explore?");
    const panes = JSON.parse(new URL(link).searchParams.get("panes") ?? "{}");
    expect(panes.trace.queries[0]).toMatchObject({
      datasource: { uid: "tempo" },
      query: result.traceId,
    });
  });

  test.concurrent("keeps sending while the gateway answers 503", async () => {
    const stack = fakeStack({ gatewayFailures: 2 });
    const result = await run(stack.options);
    expect(result.ok).toBe(true);
    expect(stack.seen.gatewayCalls).toBe(5);
    expect(result.output).toMatch(/^PASS requests .*3 tagged lookups answered/m);
  });

  test.concurrent("needs these requests in the count, not only older traffic", async () => {
    // Prometheus shows the series but never counts more than existed before verify started.
    const stack = fakeStack();
    const stale = { ...stack.options, timeoutMs: 400 };
    const original = stack.options.prometheus;
    stale.prometheus = serve(async (request) => {
      if (new URL(request.url).pathname !== "/api/v1/query")
        return new Response("404 page not found", { status: 404 });
      const response = await fetch(
        original + new URL(request.url).pathname + new URL(request.url).search,
      );
      const body = (await response.json()) as { data: { result: { value: [number, string] }[] } };
      for (const r of body.data.result) r.value[1] = "1";
      return Response.json(body);
    });
    const result = await run(stale);
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(
      /^FAIL metrics .*missing 3 of 3 gateway requests in the request count$/m,
    );
  });

  test.concurrent("on timeout fails and names what is missing", async () => {
    const stack = fakeStack({ logServices: ["api-gateway"], traceServices: ["api-gateway"] });
    const started = performance.now();
    const result = await run({ ...stack.options, timeoutMs: 500 });
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/^PASS metrics/m);
    expect(result.output).toMatch(
      /^FAIL logs .*missing log lines of user-service with the trace ids$/m,
    );
    expect(result.output).toMatch(
      /^FAIL traces .*missing spans of user-service in a tagged trace$/m,
    );
    expect(result.output).toContain(
      "verify: telemetry incomplete after 1 s: logs (missing log lines of user-service",
    );
  });

  test.concurrent("nothing answering at an address fails at once, naming it and the likely fix", async () => {
    const stack = fakeStack();
    const loki = `http://127.0.0.1:${await freePort()}`;
    const started = performance.now();
    const error = await run({ ...stack.options, loki, timeoutMs: 60_000, reachMs: 500 }).catch(
      (e: unknown) => e,
    );
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).message).toBe(`nothing answers at ${loki} (Loki); tried for 0.5 s`);
    expect((error as CliError).fix).toStartWith("is the cluster up? bun bootstrap/status.ts");
    expect(stack.seen.gatewayCalls).toBe(0); // nothing was sent
  });

  test.concurrent("CLI: exit 1 with FAIL lines on timeout, exit 2 with a message on bad flags", async () => {
    const stack = fakeStack({ tracesAfter: 1_000_000 });
    const o = stack.options;
    // The three at once: only the first waits (for its timeout).
    const [{ stdout, exitCode }, bad, unknown] = await Promise.all([
      cli(
        ...["--gateway", o.gateway, "--prometheus", o.prometheus, "--loki", o.loki],
        ...["--tempo", o.tempo, "--timeout", "1s", "--poll-interval", "50ms", "--requests", "1"],
      ),
      cli("--timeout", "soon"),
      cli("--bogus"),
    ]);
    expect(exitCode).toBe(1);
    expect(stdout).toMatch(
      /^FAIL traces .*missing spans of api-gateway in a tagged trace; spans of user-service/m,
    );
    expect(stdout).toMatch(/^PASS logs/m);

    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toBe(
      'error: --timeout "soon" is not a duration\n  fix: use a number with a unit, e.g. --timeout 15m, --timeout 90s or --timeout 500ms\n',
    );
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toBe(
      "error: unknown flag --bogus\n  fix: bun bootstrap/verify.ts --help lists the flags\n",
    );
  });

  test.concurrent("CLI: with nothing running at the gateway it fails within seconds, naming it", async () => {
    const gateway = `http://127.0.0.1:${await freePort()}`;
    const started = performance.now();
    const dead = `http://127.0.0.1:${await freePort()}`;
    const r = await cli(
      ...["--gateway", gateway, "--loki", dead, "--tempo", dead, "--timeout", "1s"],
    );
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(r.exitCode).toBe(1);
    // Both waits are said before either starts.
    expect(r.stdout).toBe(
      `verify: tagged requests → ${gateway}; waiting up to 1 s for the gateway, Prometheus, Loki and Tempo to answer, then up to 1 s for metrics, logs and traces\n`,
    );
    const [error, fix] = r.stderr.split("\n");
    expect(error).toStartWith(`error: nothing answers at ${gateway} (api-gateway)`);
    expect(error).toEndWith("; tried for 1 s");
    expect(fix).toStartWith("  fix: is the cluster up? bun bootstrap/status.ts");
  });

  test.concurrent("--timeout and --poll-interval take durations as up.ts does; plain numbers are seconds", () => {
    expect(parseOptions(["--timeout", "5m", "--poll-interval", "500ms"])).toMatchObject({
      timeoutMs: 300_000,
      pollMs: 500,
    });
    expect(parseOptions(["--timeout", "300"]).timeoutMs).toBe(300_000); // as the e2e workflow passes it
    expect(() => parseOptions(["--timeout", "10ms"])).toThrow(
      "--timeout must be at least 1s, got 10ms",
    );
  });

  test.concurrent("--help lists every flag it accepts", async () => {
    const help = await cli("--help");
    expect(help.exitCode).toBe(0);
    const text = help.stdout;
    expect(Object.keys(flags)).toContain("poll-interval");
    for (const flag of Object.keys(flags)) expect(text).toContain(`--${flag}`);
  });

  test.concurrent("defaults: the kind cluster's host ports; Loki and Tempo by port-forward", () => {
    const o = parseOptions([]);
    expect(o).toMatchObject({
      gateway: "http://localhost:8000",
      prometheus: "http://localhost:9090",
      grafana: "http://localhost:3000",
      timeoutMs: 180_000,
    });
    // Not published on the host (docs/cluster.md#what-is-protected): no address, a port-forward.
    expect(o.loki).toBeUndefined();
    expect(o.tempo).toBeUndefined();
    expect(o.context).toBeUndefined();
    expect(parseOptions(["--loki", "http://localhost:3100", "--context", "kind-x"])).toMatchObject({
      loki: "http://localhost:3100",
      context: "kind-x",
    });
    expect(() => parseOptions(["--tempo", "ftp://x"])).toThrow(
      '--tempo must be an http(s) URL, got "ftp://x"',
    );
  });
});

describe("Loki and Tempo through kubectl port-forward", () => {
  /** A PATH whose kubectl is bootstrap/testing/fake-port-forward.ts, and its call log. */
  function fakeKubectl() {
    const dir = mkdtempSync(join(tmpdir(), "verify-kubectl-"));
    const kubectl = join(dir, "kubectl");
    writeFileSync(
      kubectl,
      `#!/bin/sh\nexec bun ${import.meta.dir}/testing/fake-port-forward.ts "$@"\n`,
    );
    chmodSync(kubectl, 0o755);
    const logFile = join(dir, "calls.log");
    writeFileSync(logFile, "");
    return {
      env: { PATH: `${dir}:${process.env.PATH}`, FAKE_KUBECTL_LOG: logFile },
      calls: () => readFileSync(logFile, "utf8").trim().split("\n"),
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  }

  test.concurrent("without --loki and --tempo it forwards both for its run, then stops them", async () => {
    const stack = fakeStack();
    const o = stack.options;
    const kubectl = fakeKubectl();
    try {
      const r = await cliWith(
        { ...kubectl.env, FAKE_FORWARD_LOKI_GATEWAY: o.loki, FAKE_FORWARD_TEMPO: o.tempo },
        ...["--gateway", o.gateway, "--prometheus", o.prometheus, "--context", "kind-sandbox"],
        ...["--timeout", "3s", "--poll-interval", "20ms", "--requests", "2"],
      );
      expect(r.stderr).toBe("");
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toMatch(/^PASS logs/m);
      expect(r.stdout).toMatch(/^PASS traces/m);
      // The Services of the charts (bootstrap/open.ts TARGETS), on a local port kubectl picks.
      expect(kubectl.calls()).toEqual(
        expect.arrayContaining([
          "--context kind-sandbox port-forward svc/loki-gateway :80 --address 127.0.0.1 --namespace monitoring",
          "--context kind-sandbox port-forward svc/tempo :3200 --address 127.0.0.1 --namespace monitoring",
        ]),
      );
      expect(stack.seen.lokiQueries.length).toBeGreaterThan(0);
      // Both forwards are stopped before verify exits (they log it on SIGTERM).
      await Bun.sleep(200);
      expect(kubectl.calls()).toEqual(
        expect.arrayContaining(["stopped svc/loki-gateway", "stopped svc/tempo"]),
      );
    } finally {
      kubectl.cleanup();
    }
  });

  test.concurrent("a forward that fails names the Service, kubectl's reason and the fix", async () => {
    const stack = fakeStack();
    const o = stack.options;
    const kubectl = fakeKubectl();
    try {
      // Loki forwards; the cluster has no tempo Service.
      const r = await cliWith(
        { ...kubectl.env, FAKE_FORWARD_LOKI_GATEWAY: o.loki },
        ...["--gateway", o.gateway, "--prometheus", o.prometheus, "--timeout", "2s"],
      );
      expect(r.exitCode).toBe(1);
      const [error, fix, ...rest] = r.stderr.trimEnd().split("\n");
      expect(error).toBe(
        'error: cannot port-forward to monitoring/tempo: Error from server (NotFound): services "tempo" not found',
      );
      expect(fix).toStartWith("  fix: is the stack up there? bun bootstrap/status.ts");
      expect(fix).toContain("--context picks another");
      expect(rest).toEqual([]);
      expect(stack.seen.gatewayCalls).toBe(0);
      // No --context: kubectl's current one, so no --context flag is passed.
      expect(kubectl.calls()[0]).toStartWith("port-forward svc/loki-gateway :80");
      await Bun.sleep(200);
      expect(kubectl.calls()).toContain("stopped svc/loki-gateway");
    } finally {
      kubectl.cleanup();
    }
  });
});
