import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { freePort, startService } from "../apps/telemetry/testing/process.ts";
import { CliError } from "../cli/errors.ts";
import {
  CLUSTER_GATEWAY,
  classify,
  findGateway,
  mixer,
  parseMix,
  parseOptions,
  runTraffic,
  totalLines,
} from "./traffic.ts";

// The tests run concurrently (they wait on timers and processes, not the CPU): each has its own
// stand-in gateway on a port of its own, all stopped when the file is done.
const servers: ReturnType<typeof Bun.serve>[] = [];
afterAll(() => {
  for (const server of servers.splice(0)) server.stop(true);
});

// Answers like the gateway: known ids 200, unknown 404, malformed 400; optionally 500s.
function fakeGateway(failEvery = 0) {
  const seen: string[] = [];
  const server = Bun.serve({
    port: 0,
    fetch(request) {
      const id = new URL(request.url).pathname.replace("/user/", "");
      seen.push(id);
      if (failEvery && seen.length % failEvery === 0) return new Response("boom", { status: 500 });
      if (!/^[1-9][0-9]{0,8}$/.test(id))
        return Response.json({ error: "invalid user id" }, { status: 400 });
      if (["1", "42", "123", "777"].includes(id))
        return Response.json({ id: Number(id), name: "A", email: "a@example.com" });
      return Response.json({ error: "user not found" }, { status: 404 });
    },
  });
  servers.push(server);
  return { url: `http://localhost:${server.port}`, seen };
}

/** Runs a command to its end without blocking the event loop the other tests' timers run on. */
async function run(argv: string[], cwd?: string) {
  const p = Bun.spawn(argv, { cwd, stdout: "ignore", stderr: "pipe" });
  const [stderr, exitCode] = await Promise.all([new Response(p.stderr).text(), p.exited]);
  return { stderr, exitCode };
}

describe("traffic", () => {
  test.concurrent("the mixer gives the exact mix, spread evenly", () => {
    const next = mixer({ found: 70, not_found: 20, invalid: 10 });
    const picks = Array.from({ length: 100 }, next);
    expect(picks.filter((k) => k === "found")).toHaveLength(70);
    expect(picks.filter((k) => k === "not_found")).toHaveLength(20);
    expect(picks.filter((k) => k === "invalid")).toHaveLength(10);
    // No run of the same rare kind back to back.
    expect(picks.join(",")).not.toContain("invalid,invalid");
  });

  test.concurrent("sends the mix at the rate, prints plain status lines when not a terminal", async () => {
    const gateway = fakeGateway();
    const out: string[] = [];
    const total = await runTraffic(
      {
        gateway: gateway.url,
        rate: 100,
        mix: { found: 50, not_found: 30, invalid: 20 },
        durationMs: 600,
      },
      { write: (t) => out.push(t), isTTY: false, reportEverySeconds: 0.25 },
    );
    // 100 req/s for 0.6 s: 60 requests due (at 0, 10, …, 590 ms).
    expect(total.done).toBeGreaterThanOrEqual(45); // slack for a loaded machine
    expect(total.done).toBeLessThanOrEqual(61);
    expect(gateway.seen).toHaveLength(total.done);
    expect(total.byKind.found / total.done).toBeCloseTo(0.5, 1);
    expect(total.byKind.invalid / total.done).toBeCloseTo(0.2, 1);
    expect(total.errors).toBe(0); // 404 and 400 are answers, not errors
    // Totals are counts only: no per-request data accumulates over a long run.
    expect(Object.keys(total).sort()).toEqual([
      "answers",
      "byKind",
      "byStatus",
      "done",
      "errors",
      "sent",
      "unexpected",
    ]);
    expect(gateway.seen).toContain("abc");
    expect(gateway.seen).toContain("999999");
    expect(out.length).toBeGreaterThanOrEqual(2);
    for (const line of out) {
      expect(line).toMatch(
        /^ +\d+\.\d req\/s {2}found \d+ not_found \d+ invalid \d+ {2}errors \d+\.\d% {2}p50 \d+ ms {2}p95 \d+ ms\n$/,
      );
    }
  });

  test.concurrent("counts 5xx and unreachable gateways as errors; rewrites one line on a terminal", async () => {
    const gateway = fakeGateway(4);
    const out: string[] = [];
    const total = await runTraffic(
      {
        gateway: gateway.url,
        rate: 80,
        mix: { found: 1, not_found: 0, invalid: 0 },
        durationMs: 300,
      },
      { write: (t) => out.push(t), isTTY: true },
    );
    expect(total.errors).toBe(Math.floor(total.done / 4));
    expect(out[0]).toStartWith("\r\x1b[2K");
    expect(out.at(-1)).toBe("\n");

    const down = await runTraffic(
      {
        gateway: "http://127.0.0.1:9",
        rate: 50,
        mix: { found: 1, not_found: 0, invalid: 0 },
        durationMs: 100,
      },
      { write: () => {}, isTTY: false },
    );
    expect(down.errors).toBe(down.done);
    expect(down.done).toBeGreaterThan(0);
  });

  test.concurrent("stops when aborted (Ctrl-C)", async () => {
    const gateway = fakeGateway();
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 200);
    const started = performance.now();
    await runTraffic(
      { gateway: gateway.url, rate: 50, mix: { found: 1, not_found: 1, invalid: 1 } },
      { write: () => {}, isTTY: false, signal: stop.signal },
    );
    expect(performance.now() - started).toBeLessThan(600);
  });

  test.concurrent("CLI: Ctrl-C prints the totals and exits 0", async () => {
    const gateway = fakeGateway();
    const cli = Bun.spawn(
      ["bun", `${import.meta.dir}/traffic.ts`, "--gateway", gateway.url, "--rate", "40"],
      {
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    const reader = cli.stdout.getReader();
    let text = "";
    while (!text.includes("req/s  found")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    cli.kill("SIGINT");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    expect(await cli.exited).toBe(0);
    expect(text).toMatch(
      /^traffic: 40 req\/s \(found=70,not_found=20,invalid=10\) → http:\/\/localhost:\d+; Ctrl-C stops$/m,
    );
    expect(text).toMatch(
      /^traffic: sent \d+ requests to http:\/\/localhost:\d+: found \d+, not found \d+, invalid \d+, other 0; 0 errors \(5xx or no answer\)$/m,
    );
  });

  test.concurrent("options: readable errors for bad input", () => {
    expect(parseOptions(["--duration", "90"]).durationMs).toBe(90_000);
    expect(parseOptions(["--duration", "5m"]).durationMs).toBe(300_000);
    expect(() => parseOptions(["--duration", "soon"])).toThrow(
      '--duration "soon" is not a duration',
    );
    expect(() => parseOptions(["--duration", "-1s"])).toThrow("--duration must be at least 100ms");
    expect(parseMix("found=3,invalid=1")).toEqual({ found: 3, not_found: 0, invalid: 1 });
    expect(() => parseMix("found=0")).toThrow("at least one weight");
    expect(() => parseMix("lost=5")).toThrow("--mix must look like");
    expect(() => parseOptions(["--rate", "0"])).toThrow(
      '--rate must be a number between 0.1 and 1000, got "0"',
    );
    expect(() => parseOptions(["--rate", "fast"])).toThrow(CliError);
    expect(parseOptions([])).toMatchObject({ gateway: undefined, rate: 10, durationMs: undefined });
  });

  test.concurrent("with no --gateway: the cluster's when it answers, else the bun run dev one, with a note", async () => {
    const gateway = fakeGateway();
    const port = new URL(gateway.url).port;
    const notes: string[] = [];
    const found = await findGateway(
      undefined,
      { API_GATEWAY_PORT: port },
      (l) => notes.push(l),
      500,
    );
    // The cluster's :8000 is not running here; the dev gateway (API_GATEWAY_PORT) answers.
    expect(found).toBe(`http://localhost:${port}`);
    expect(notes).toEqual([
      `traffic: nothing answers at ${CLUSTER_GATEWAY} (the cluster); using http://localhost:${port} (bun run dev)`,
    ]);
  });

  test.concurrent("CLI: nothing answering at the gateway is an error within seconds, naming it and the flag", async () => {
    const silent = `http://127.0.0.1:${await freePort()}`;
    const started = performance.now();
    // Both at once: the first waits out its window, the second does not wait at all.
    const [cli, bad] = await Promise.all([
      run(["bun", `${import.meta.dir}/traffic.ts`, "--gateway", silent]).then((r) => ({
        ...r,
        ms: performance.now() - started,
      })),
      // As the docs tell it to be run: `bun run` adds nothing of its own (bunfig.toml, run.silent).
      run(["bun", "run", "traffic", "--rate", "-5"], `${import.meta.dir}/..`),
    ]);
    expect(cli.ms).toBeLessThan(10_000);
    expect(cli.exitCode).toBe(1);
    expect(cli.stderr).toBe(
      `error: nothing answers at ${silent}\n  fix: is the cluster up? bun bootstrap/status.ts; for bun run dev: bun run traffic --gateway http://localhost:4000\n`,
    );
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toBe(
      'error: --rate must be a number between 0.1 and 1000, got "-5"\n  fix: bun run traffic --rate 10\n',
    );
  });
});

// --- against the real services -------------------------------------------------------------

const apps = join(import.meta.dir, "..", "apps");
const quiet = { OTEL_SDK_DISABLED: "true" };
// Started without waiting for them: they come up while the tests above run; the tests that use
// them wait for them.
const services = (async () => {
  const userService = await startService(join(apps, "user-service/src/index.ts"), {
    ...quiet,
    QUERY_LATENCY_MS: "0",
  });
  const gateway = await startService(join(apps, "api-gateway/src/index.ts"), {
    ...quiet,
    USER_SERVICE_URL: userService.url,
  });
  return { userService, gateway };
})();
afterAll(async () => {
  const { gateway, userService } = await services;
  await Promise.all([gateway.stop(), userService.stop()]);
});

async function cli(url: string) {
  const p = Bun.spawn(
    [
      "bun",
      `${import.meta.dir}/traffic.ts`,
      "--gateway",
      url,
      "--rate",
      "40",
      "--duration",
      "600ms",
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { lines: stdout.trimEnd().split("\n"), stderr, exitCode };
}

const warning = (path: string, asks: string, answer: string, expected: string) =>
  `traffic: warning: ${path} asks for ${asks}; the answer was ${answer}, api-gateway answers ${expected}`;
/** The one warning for a kind of lookup, sent to any of its paths. */
function warningFor(
  lines: string[],
  paths: string[],
  asks: string,
  answer: string,
  expected: string,
) {
  const possible = paths.map((p) => warning(p, asks, answer, expected));
  const found = lines.filter((l) => possible.includes(l));
  expect(found, lines.join("\n")).toHaveLength(1);
}

describe("traffic against the real services", () => {
  test.concurrent("api-gateway: every answer is the one asked for, and the totals say so", async () => {
    const { gateway } = await services;
    const out: string[] = [];
    const total = await runTraffic(
      {
        gateway: gateway.url,
        rate: 60,
        mix: { found: 2, not_found: 1, invalid: 1 },
        durationMs: 400,
      },
      { write: (t) => out.push(t), isTTY: false, reportEverySeconds: 10 },
    );
    expect(out.filter((l) => l.includes("warning"))).toEqual([]);
    // The ids traffic takes for existing users are the ones user-service has, and so on.
    expect(total.answers).toEqual({ ...total.byKind, other: 0, error: 0 });
    expect(total.unexpected).toBe(0);
    const { found, not_found, invalid } = total.byKind;
    expect(totalLines(total, gateway.url)).toEqual([
      `traffic: sent ${total.done} requests to ${gateway.url}: found ${found}, not found ${not_found}, invalid ${invalid}, other 0; 0 errors (5xx or no answer)`,
      `traffic: by status: ${[`200 ${found}`, `400 ${invalid}`, `404 ${not_found}`].join(", ")}`,
    ]);
  }, 20_000); // with the services' start

  test.concurrent("user-service by mistake: every answer is a 404 unlike the gateway's; warned once per kind, exit 1", async () => {
    const { userService } = await services;
    const run = await cli(userService.url);
    const notFound = '404 {"error":"not found"}';
    warningFor(
      run.lines,
      ["/user/1", "/user/42", "/user/123", "/user/777"],
      "a user that exists",
      notFound,
      "200 with the user",
    );
    warningFor(
      run.lines,
      ["/user/404", "/user/999999", "/user/31337"],
      "a user that does not exist",
      notFound,
      '404 {"error":"user not found"}',
    );
    warningFor(
      run.lines,
      ["/user/abc", "/user/0", "/user/12x"],
      "a malformed id",
      notFound,
      '400 {"error":"invalid user id"}',
    );
    const sent = run.lines.find((l) => l.startsWith("traffic: sent"));
    const n = Number(sent?.match(/sent (\d+)/)?.[1]);
    expect(n).toBeGreaterThan(5);
    expect(run.lines.slice(-2)).toEqual([
      `traffic: sent ${n} requests to ${userService.url}: found 0, not found 0, invalid 0, other ${n}; 0 errors (5xx or no answer); ${n} answered unlike api-gateway`,
      `traffic: by status: 404 ${n}`,
    ]);
    expect(run.lines.filter((l) => /req\/s/.test(l)).at(-1)).toMatch(
      / other \d+ {2}errors 0\.0% {2}unexpected 100\.0% {2}/,
    );
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe(
      `error: no answer from ${userService.url} was api-gateway's (200 with the user, 404 "user not found", 400 "invalid user id")\n  fix: point --gateway at api-gateway: bun run traffic --gateway http://localhost:4000 (bun run dev)\n`,
    );
  }, 20_000);

  test.concurrent("an unrelated web server: its page is no answer the gateway gives", async () => {
    const page = Bun.serve({
      port: 0,
      fetch: () =>
        new Response("<html><body>It works!</body></html>", {
          headers: { "content-type": "text/html; charset=utf-8" },
        }),
    });
    servers.push(page);
    const url = `http://localhost:${page.port}`;
    const run = await cli(url);
    const answer = '200 text/html "<html><body>It works!</body></"';
    warningFor(
      run.lines,
      ["/user/1", "/user/42", "/user/123", "/user/777"],
      "a user that exists",
      answer,
      "200 with the user",
    );
    expect(run.lines.at(-1)).toMatch(/^traffic: by status: 200 \d+$/);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toStartWith(`error: no answer from ${url} was api-gateway's`);
  }, 20_000);

  test.concurrent("the answer shapes are api-gateway's", () => {
    expect(classify(200, { id: 1, name: "Grace Hopper", email: "grace@example.com" })).toBe(
      "found",
    );
    expect(classify(200, { id: 1 })).toBe("other");
    expect(
      classify(404, { error: "user not found", trace_id: "0af7651916cd43dd8448eb211c80319c" }),
    ).toBe("not_found");
    expect(classify(404, { error: "not found" })).toBe("other");
    expect(classify(400, { error: "invalid user id" })).toBe("invalid");
    expect(classify(502, { error: "user-service unavailable" })).toBe("error");
    expect(classify(200, undefined)).toBe("other");
  });
});
