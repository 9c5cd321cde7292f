// `bun run dev` starts both services wired together; Ctrl-C stops both.

import { expect, test } from "bun:test";
import { runCommand } from "../cli/testing/run-command.ts";
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
async function runDev(
  settings: Record<string, string>,
  {
    argv = [],
    whileRunning,
  }: {
    argv?: string[];
    /** Called after the request, with dev's receiver port, before dev is stopped. */
    whileRunning?: (receiverPort: number, traceresponse: string) => Promise<void>;
  } = {},
) {
  const [gatewayPort, userServicePort, receiverPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  // The test runner's own OTEL_* settings stay out.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith("OTEL_")),
  );
  const dev = Bun.spawn([process.execPath, `${import.meta.dir}/dev.ts`, ...argv], {
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
    await whileRunning?.(receiverPort, response.headers.get("traceresponse") ?? "");

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
    expect(stderr.split("\n")[0]).toMatch(
      /^dev: no OTEL_EXPORTER_OTLP_ENDPOINT, so telemetry goes to a receiver here \(http:\/\/127\.0\.0\.1:\d+, bun run trace <id>\): each request prints as a trace tree/,
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

/** `bun run trace <id>` against dev's receiver port. */
async function traceCommand(id: string, receiverPort: number) {
  const { code, stdout, stderr } = await runCommand(
    [process.execPath, `${import.meta.dir}/trace.ts`, id],
    { env: { ...process.env, DEV_RECEIVER_PORT: String(receiverPort) } },
  );
  return { code, stdout, stderr };
}

test.concurrent(
  "--raw: the SDK's console exporters print spans, metrics and log records, no tree; bun run trace still finds the request",
  async () => {
    let traced = { code: 0, stdout: "", stderr: "" };
    // A metric interval the user sets is kept (here so that bun run trace need not wait 10 s).
    const { stdout, stderr } = await runDev(
      { OTEL_METRIC_EXPORT_INTERVAL: "300" },
      {
        argv: ["--raw"],
        whileRunning: async (receiverPort, traceresponse) => {
          traced = await traceCommand(traceresponse, receiverPort);
        },
      },
    );
    expect(stderr.split("\n")[0]).toEndWith(
      "--raw: the SDK's console exporters print what they export, metrics every 0.3 s (traces: console, otlp; metrics: console, otlp; logs: console, otlp)",
    );
    // The request's metric points reached the receiver too.
    expect(traced.stdout).toContain(
      "  api-gateway   user.lookups sum  {outcome=found}  1 {lookup}",
    );
    expect(stdout).toContain('name: "SELECT users"'); // ConsoleSpanExporter
    expect(stdout).toContain("descriptor: {"); // ConsoleMetricExporter, at shutdown at the latest
    expect(stdout).toContain('body: "user found"'); // ConsoleLogRecordExporter
    expect(stdout).not.toContain("── trace");
    expect(stdout).toContain('"msg":"user found"'); // the JSON lines pass: no tree to show them in
    expect(traced.stderr).toBe("");
    expect(traced.stdout).toMatch(/^── trace [0-9a-f]{32} {2}GET \/user\/:id {2}200 /);
  },
  processTimeoutMs,
);

test.concurrent(
  "with OTEL_EXPORTER_OTLP_ENDPOINT, telemetry goes to that collector and dev prints none of it",
  async () => {
    const collector = startOtlpReceiver();
    let traced = { code: 0, stdout: "", stderr: "" };
    try {
      const { stdout, stderr } = await runDev(
        { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url },
        {
          // dev runs no receiver: bun run trace says dev's receiver is not running.
          whileRunning: async (receiverPort) => {
            traced = await traceCommand("0123456789abcdef0123456789abcdef", receiverPort);
          },
        },
      );
      expect(traced).toEqual({
        code: 1,
        stdout: "",
        stderr: expect.stringMatching(
          /^error: bun run dev is not running: nothing answers on 127\.0\.0\.1:/,
        ),
      });
      expect(stderr.split("\n")[0]).toBe(
        `dev: telemetry goes to ${collector.url} (OTEL_EXPORTER_OTLP_ENDPOINT); dev runs no receiver, so bun run trace finds nothing`,
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
  async () => {
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
      // Decimal only, where the services parse numbers (Number() would read 0x10 as 16).
      [
        { QUERY_LATENCY_MS: "0x10" },
        'error: user-service: QUERY_LATENCY_MS must be a number from 0 to 20000, got "0x10"\n  fix: QUERY_LATENCY_MS=5 bun run dev\n',
      ],
      // The SDK would ignore it with a warning and export metrics every 60 s.
      [
        { OTEL_METRIC_EXPORT_INTERVAL: "-5" },
        'error: OTEL_METRIC_EXPORT_INTERVAL must be a whole number of milliseconds above 0, got "-5"\n  fix: OTEL_METRIC_EXPORT_INTERVAL=500 bun run dev (or unset: dev\'s own 500 ms)\n',
      ],
      [
        { OTEL_SDK_DISABLED: "maybe" },
        'error: OTEL_SDK_DISABLED must be true or false, got "maybe"\n  fix: OTEL_SDK_DISABLED=false bun run dev (or =true: no telemetry at all)\n',
      ],
    ];
    const runs = await Promise.all(
      cases.map(async ([env]) => {
        // Free ports, so that a machine where 4000, 4001 or 4318 is taken adds no problem; each
        // run its own, as dev checks that its ports are free by binding them.
        const ports = {
          API_GATEWAY_PORT: String(await freePort()),
          USER_SERVICE_PORT: String(await freePort()),
          DEV_RECEIVER_PORT: String(await freePort()),
        };
        const dev = Bun.spawn([process.execPath, `${import.meta.dir}/dev.ts`], {
          env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: "", ...ports, ...env },
          stdout: "pipe",
          stderr: "pipe",
        });
        const [stdout, stderr] = [
          await new Response(dev.stdout).text(),
          await new Response(dev.stderr).text(),
        ];
        return { env, code: await dev.exited, stderr, stdout };
      }),
    );
    expect(runs).toEqual(cases.map(([env, stderr]) => ({ env, code: 1, stderr, stdout: "" })));
  },
  processTimeoutMs,
);

/** Runs dev to its end with these settings (and the test runner's OTEL_* left out). */
function devOnce(argv: string[], settings: Record<string, string>) {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith("OTEL_")),
  );
  const started = performance.now();
  const dev = Bun.spawnSync([process.execPath, `${import.meta.dir}/dev.ts`, ...argv], {
    env: { ...env, ...settings },
  });
  return {
    code: dev.exitCode,
    stdout: dev.stdout.toString(),
    stderr: dev.stderr.toString(),
    ms: performance.now() - started,
  };
}

test("several bad settings and taken ports: all reported at once, each with its fix, then one command that fixes them all", async () => {
  const taken = Bun.serve({ port: 0, fetch: () => new Response("other") });
  try {
    const port = Number(taken.port);
    const { code, stdout, stderr } = devOnce([], {
      API_GATEWAY_PORT: String(port),
      USER_SERVICE_PORT: String(port),
      DEV_RECEIVER_PORT: String(await freePort()),
      ERROR_RATE: "2",
      QUERY_LATENCY_MS: "0x10",
    });
    // Which free ports the fixes propose depends on the machine; that they are free, not.
    const [gatewayFix, userServiceFix] = [...stderr.matchAll(/_PORT=(\d+) bun run dev/g)].map((m) =>
      Number(m[1]),
    );
    expect(gatewayFix).toBeGreaterThan(port);
    expect(userServiceFix).toBeGreaterThan(gatewayFix as number);
    expect({ code, stdout, stderr }).toEqual({
      code: 1,
      stdout: "",
      stderr: [
        `  FAIL  user-service: QUERY_LATENCY_MS must be a number from 0 to 20000, got "0x10"`,
        "        fix: QUERY_LATENCY_MS=5 bun run dev",
        `  FAIL  user-service: ERROR_RATE must be a number from 0 to 1, got "2"`,
        "        fix: ERROR_RATE=0 bun run dev",
        `  FAIL  port ${port} (API_GATEWAY_PORT) is already in use: is another bun run dev running?`,
        `        fix: stop what listens on ${port}, or API_GATEWAY_PORT=${gatewayFix} bun run dev`,
        `  FAIL  port ${port} (USER_SERVICE_PORT) is also API_GATEWAY_PORT`,
        `        fix: USER_SERVICE_PORT=${userServiceFix} bun run dev`,
        "error: 4 problems with the settings; nothing was started",
        `  fix: QUERY_LATENCY_MS=5 ERROR_RATE=0 API_GATEWAY_PORT=${gatewayFix} USER_SERVICE_PORT=${userServiceFix} bun run dev`,
        "",
      ].join("\n"),
    });
  } finally {
    taken.stop(true);
  }
});

test("invalid ports: the fix proposes ports free now, not the defaults a first dev holds", () => {
  // A first bun run dev on the defaults (or whatever else holds them on this machine).
  const held = [4000, 4001].flatMap((port) => {
    try {
      return [Bun.serve({ port, fetch: () => new Response("first dev") })];
    } catch {
      return []; // already taken by something else: just as good
    }
  });
  try {
    const { code, stdout, stderr } = devOnce([], {
      API_GATEWAY_PORT: "abc",
      USER_SERVICE_PORT: "70000",
      DEV_RECEIVER_PORT: "",
      OTEL_SDK_DISABLED: "true",
    });
    const [gateway, userService] = [...stderr.matchAll(/_PORT=(\d+) bun run dev$/gm)].map((m) =>
      Number(m[1]),
    );
    expect({ code, stdout }).toEqual({ code: 1, stdout: "" });
    expect(stderr).toBe(
      [
        `  FAIL  API_GATEWAY_PORT must be a whole number between 1 and 65535, got "abc"`,
        `        fix: API_GATEWAY_PORT=${gateway} bun run dev`,
        `  FAIL  USER_SERVICE_PORT must be a whole number between 1 and 65535, got "70000"`,
        `        fix: USER_SERVICE_PORT=${userService} bun run dev`,
        "error: 2 problems with the settings; nothing was started",
        `  fix: API_GATEWAY_PORT=${gateway} USER_SERVICE_PORT=${userService} bun run dev`,
        "",
      ].join("\n"),
    );
    // The fixes are true: both proposed ports are distinct and free.
    expect(gateway).not.toBe(userService);
    for (const port of [gateway, userService])
      Bun.serve({ port: port as number, fetch: () => new Response() }).stop(true);
  } finally {
    for (const server of held) server.stop(true);
  }
});

test("a taken service port is named before anything is said to listen (OTEL_SDK_DISABLED=true: telemetry off)", async () => {
  const taken = Bun.serve({ port: 0, fetch: () => new Response("other") });
  try {
    const { code, stdout, stderr } = devOnce([], {
      OTEL_SDK_DISABLED: "true",
      API_GATEWAY_PORT: String(await freePort()),
      USER_SERVICE_PORT: String(taken.port),
    });
    expect({ code, stdout }).toEqual({ code: 1, stdout: "" });
    expect(stderr).toMatch(
      new RegExp(
        `^error: port ${taken.port} \\(USER_SERVICE_PORT\\) is already in use: is another bun run dev running\\?\n  fix: stop what listens on ${taken.port}, or USER_SERVICE_PORT=\\d+ bun run dev\n$`,
      ),
    );
  } finally {
    taken.stop(true);
  }
});

test("--help lists the flag and the settings, and says the ports are environment variables; --port's fix holds", async () => {
  const help = devOnce(["--help"], {});
  expect({ code: help.code, stderr: help.stderr }).toEqual({ code: 0, stderr: "" });
  expect(help.stdout).toStartWith("usage: bun run dev [--raw | --stack]\n");
  expect(help.stdout).toContain("settings are environment variables (there are no --port flags):");
  for (const name of [
    "API_GATEWAY_PORT=4000",
    "USER_SERVICE_PORT=4001",
    "DEV_RECEIVER_PORT=4318",
    "--raw",
    "--stack",
  ])
    expect(help.stdout).toContain(`  ${name} `);
  expect(help.ms).toBeLessThan(2000);
  expect(devOnce(["--port", "5"], {})).toMatchObject({
    code: 1,
    stdout: "",
    stderr:
      "error: there is no --port flag: the ports are environment variables\n  fix: API_GATEWAY_PORT=5 bun run dev (and USER_SERVICE_PORT, DEV_RECEIVER_PORT; bun run dev --help lists every setting)\n",
  });
});

test("dev's receiver port taken: DEV_RECEIVER_PORT named, with a free port in the fix, nothing started", async () => {
  const taken = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("other") });
  try {
    const { code, stdout, stderr } = devOnce([], {
      OTEL_EXPORTER_OTLP_ENDPOINT: "",
      DEV_RECEIVER_PORT: String(taken.port),
      API_GATEWAY_PORT: String(await freePort()),
      USER_SERVICE_PORT: String(await freePort()),
    });
    expect({ code, stdout }).toEqual({ code: 1, stdout: "" });
    const [, proposed] = stderr.match(/DEV_RECEIVER_PORT=(\d+) bun run dev\n$/) ?? [];
    expect(stderr).toBe(
      `error: port ${taken.port} (DEV_RECEIVER_PORT) is already in use: is another bun run dev running?\n  fix: stop what listens on ${taken.port}, or DEV_RECEIVER_PORT=${proposed} bun run dev\n`,
    );
    // The fix is true: the proposed port is free.
    Bun.serve({ hostname: "127.0.0.1", port: Number(proposed), fetch: () => new Response() }).stop(
      true,
    );
  } finally {
    taken.stop(true);
  }
});
