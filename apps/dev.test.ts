// `bun run dev` starts both services wired together; Ctrl-C stops both.
import { expect, test } from "bun:test";
import { startOtlpReceiver } from "./telemetry/testing/otlp-receiver.ts";
import { freePort, processTimeoutMs } from "./telemetry/testing/process.ts";

/** Waits until a service answers its readiness probe (probes make no traces). */
async function waitForReady(port: number, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`http://localhost:${port}/readyz`)).ok) return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline) throw new Error(`nothing ready on port ${port}`);
    await Bun.sleep(50);
  }
}

/** Runs `bun run dev` with `settings`, asks for /user/123, stops it with Ctrl-C: what it printed. */
async function runDev(settings: Record<string, string>) {
  const [gatewayPort, userServicePort, receiverPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  // The test runner's own OTEL_* settings stay out.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith("OTEL_")),
  );
  const dev = Bun.spawn([process.execPath, `${import.meta.dir}/dev.ts`], {
    env: {
      ...env,
      OTEL_EXPORTER_OTLP_ENDPOINT: "",
      ...settings,
      API_GATEWAY_PORT: String(gatewayPort),
      USER_SERVICE_PORT: String(userServicePort),
      DEV_RECEIVER_PORT: String(receiverPort),
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  try {
    // Both up before the one request, so no early 502 takes a place among the trees dev draws.
    await Promise.all([waitForReady(userServicePort), waitForReady(gatewayPort)]);
    const response = await fetch(`http://localhost:${gatewayPort}/user/123`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: 123, name: "Ada Lovelace" });

    dev.kill("SIGINT");
    expect(await dev.exited).toBe(0);
    for (const port of [gatewayPort, userServicePort])
      await expect(fetch(`http://localhost:${port}/healthz`)).rejects.toThrow();
    const stdout = await new Response(dev.stdout).text();
    expect(stdout).toContain('"msg":"shutting down"');
    return { stdout, stderr: await new Response(dev.stderr).text() };
  } finally {
    dev.kill("SIGKILL");
  }
}

// OTEL_SDK_DISABLED=false is telemetry on, exactly as unset.
test.concurrent.each(["", "false"])(
  "bun run dev (OTEL_SDK_DISABLED=%p) serves /user/:id through both services, prints the request's trace tree, and Ctrl-C stops both",
  async (sdkDisabled) => {
    const { stdout, stderr } = await runDev({ OTEL_SDK_DISABLED: sdkDisabled });
    // The first line says where telemetry goes and how much of it prints.
    expect(stderr.split("\n")[0]).toStartWith(
      "dev: no OTEL_EXPORTER_OTLP_ENDPOINT, so telemetry goes to a receiver here: each request prints as a trace tree",
    );
    expect(stderr.split("\n")[0]).toContain("trees: at most 3 per 10 s");
    // The trace, printed at exit at the latest (apps/dev-view.test.ts checks it line by line).
    expect(stdout).toMatch(/^── trace [0-9a-f]{32} {2}GET \/user\/:id {2}200 /m);
    expect(stdout).toContain("SELECT users  CLIENT");
    expect(stdout).toContain('log INFO "user found"  user.id=123');
    expect(stdout).toContain('  Tempo       { trace:id = "');
    // The request's own JSON log lines are shown under their spans instead.
    expect(stdout).not.toContain('"msg":"user found"');
  },
  processTimeoutMs,
);

test.concurrent(
  "OTEL_TRACES_EXPORTER=console still gives the SDK's console spans (and no tree)",
  async () => {
    const { stdout, stderr } = await runDev({ OTEL_TRACES_EXPORTER: "console" });
    expect(stderr.split("\n")[0]).toEndWith("(traces: console)");
    expect(stdout).toContain('name: "SELECT users"'); // ConsoleSpanExporter's output
    expect(stdout).not.toContain("── trace");
    expect(stdout).toContain('"msg":"user found"'); // no tree to show it in
  },
  processTimeoutMs,
);

test.concurrent(
  "with OTEL_EXPORTER_OTLP_ENDPOINT, telemetry goes to that collector and dev prints none of it",
  async () => {
    const collector = startOtlpReceiver();
    try {
      const { stdout, stderr } = await runDev({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url });
      expect(stderr.split("\n")[0]).toBe(
        `dev: telemetry goes to ${collector.url} (OTEL_EXPORTER_OTLP_ENDPOINT)`,
      );
      await collector.waitForSpans((spans) => spans.some((span) => span.name === "SELECT users"));
      expect(stdout).not.toContain("── trace");
      expect(stdout).toContain('"msg":"user found"');
    } finally {
      await collector.stop();
    }
  },
  processTimeoutMs,
);

test(
  "bad settings: each variable named in its own error with the fix, nothing started",
  () => {
    const cases: [Record<string, string>, string][] = [
      // The services' own settings, checked by the services' own rules before either starts.
      [
        { ERROR_RATE: "2" },
        'error: user-service: ERROR_RATE must be a number from 0 to 1, got "2"\n  fix: ERROR_RATE=0 bun run dev\n',
      ],
      [
        { QUERY_LATENCY_MS: "-1" },
        'error: user-service: QUERY_LATENCY_MS must be a number from 0 to 20000, got "-1"\n  fix: QUERY_LATENCY_MS=5 bun run dev\n',
      ],
      [
        { UPSTREAM_TIMEOUT_MS: "0" },
        'error: api-gateway: UPSTREAM_TIMEOUT_MS must be a number from 1 to 20000, got "0"\n  fix: UPSTREAM_TIMEOUT_MS=2000 bun run dev\n',
      ],
      [
        { USER_SERVICE_URL: "user-service:4001" },
        'error: api-gateway: USER_SERVICE_URL must be an http(s) URL, got "user-service:4001"\n  fix: USER_SERVICE_URL=http://localhost:4001 bun run dev\n',
      ],
      [
        { API_GATEWAY_PORT: "abc" },
        'error: API_GATEWAY_PORT must be a whole number between 1 and 65535, got "abc"\n  fix: API_GATEWAY_PORT=4000 bun run dev\n',
      ],
      [
        { USER_SERVICE_PORT: "70000" },
        'error: USER_SERVICE_PORT must be a whole number between 1 and 65535, got "70000"\n  fix: USER_SERVICE_PORT=4001 bun run dev\n',
      ],
      [
        { OTEL_SDK_DISABLED: "maybe" },
        'error: OTEL_SDK_DISABLED must be true or false, got "maybe"\n  fix: OTEL_SDK_DISABLED=false bun run dev (or =true: no telemetry at all)\n',
      ],
    ];
    for (const [env, stderr] of cases) {
      const dev = Bun.spawnSync([process.execPath, `${import.meta.dir}/dev.ts`], {
        env: { ...process.env, ...env },
      });
      expect({
        env,
        code: dev.exitCode,
        stderr: dev.stderr.toString(),
        stdout: dev.stdout.toString(),
      }).toEqual({ env, code: 1, stderr, stdout: "" });
    }
  },
  processTimeoutMs, // seven processes, one after another
);

test("a service that cannot start is named, and the other is stopped (OTEL_SDK_DISABLED=true: telemetry off)", async () => {
  const taken = Bun.serve({ port: 0, fetch: () => new Response("other") });
  try {
    const dev = Bun.spawn([process.execPath, `${import.meta.dir}/dev.ts`], {
      env: {
        ...process.env,
        OTEL_SDK_DISABLED: "true",
        API_GATEWAY_PORT: String(taken.port),
        USER_SERVICE_PORT: String(await freePort()),
      },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(await dev.exited).toBe(1);
    const stderr = await new Response(dev.stderr).text();
    expect(stderr.split("\n")[0]).toBe("dev: telemetry is off (OTEL_SDK_DISABLED=true)");
    expect(stderr).toContain("dev: api-gateway exited with code 1; stopping user-service");
    const stdout = await new Response(dev.stdout).text();
    expect(stdout).toContain(`"service":"api-gateway","msg":"port ${taken.port} is already in use`);
  } finally {
    taken.stop(true);
  }
});

test("dev's receiver port taken: DEV_RECEIVER_PORT named, nothing started", async () => {
  const taken = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("other") });
  try {
    const dev = Bun.spawnSync([process.execPath, `${import.meta.dir}/dev.ts`], {
      env: {
        ...process.env,
        OTEL_EXPORTER_OTLP_ENDPOINT: "",
        DEV_RECEIVER_PORT: String(taken.port),
        API_GATEWAY_PORT: String(await freePort()),
        USER_SERVICE_PORT: String(await freePort()),
      },
    });
    expect({
      code: dev.exitCode,
      stdout: dev.stdout.toString(),
      stderr: dev.stderr.toString(),
    }).toEqual({
      code: 1,
      stdout: "",
      stderr: `error: port ${taken.port} (DEV_RECEIVER_PORT) is already in use: is another bun run dev running?\n  fix: stop what listens there, or DEV_RECEIVER_PORT=${Number(taken.port) + 1} bun run dev\n`,
    });
  } finally {
    taken.stop(true);
  }
});
