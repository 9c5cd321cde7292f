import { afterAll, describe, expect, test } from "bun:test";
import { freePort } from "../apps/telemetry/testing/process.ts";
import { CliError } from "../cli/errors.ts";
import {
  CLUSTER_GATEWAY,
  findGateway,
  mixer,
  parseMix,
  parseOptions,
  runTraffic,
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
      if (["1", "42", "123", "777"].includes(id)) return Response.json({ id: Number(id) });
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
    expect(Object.keys(total).sort()).toEqual(["byKind", "done", "errors", "sent", "unexpected"]);
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
    expect(text).toMatch(/^traffic: sent \d+ requests, 0 errors/m);
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
    const cli = await run(["bun", `${import.meta.dir}/traffic.ts`, "--gateway", silent]);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(cli.exitCode).toBe(1);
    expect(cli.stderr).toBe(
      `error: nothing answers at ${silent}\n  fix: is the cluster up? bun bootstrap/status.ts; for bun run dev: bun run traffic --gateway http://localhost:4000\n`,
    );
    // As the docs tell it to be run: `bun run` adds nothing of its own (bunfig.toml, run.silent).
    const bad = await run(["bun", "run", "traffic", "--rate", "-5"], `${import.meta.dir}/..`);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toBe(
      'error: --rate must be a number between 0.1 and 1000, got "-5"\n  fix: bun run traffic --rate 10\n',
    );
  });

  test.concurrent("CLI: a server that answers unlike api-gateway (user-service: 404 to /user/*) is an error", async () => {
    const other = Bun.serve({
      port: 0,
      fetch: () => Response.json({ error: "not found" }, { status: 404 }),
    });
    servers.push(other);
    const url = `http://localhost:${other.port}`;
    const cli = await run([
      "bun",
      `${import.meta.dir}/traffic.ts`,
      "--gateway",
      url,
      "--duration",
      "1s",
    ]);
    expect(cli.exitCode).toBe(1);
    expect(cli.stderr).toBe(
      `error: no answer from ${url} was api-gateway's (200 found, 404 not found, 400 invalid)\n  fix: point --gateway at api-gateway: bun run traffic --gateway http://localhost:4000 (bun run dev)\n`,
    );
  });
});
