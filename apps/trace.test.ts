// `bun run trace` against dev's receiver fed by the real services (as under `bun run dev`), and
// its errors, exactly as printed.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { runCommand } from "../cli/testing/run-command.ts";
import { startDevReceiver } from "./dev-receiver.ts";
import {
  freePort,
  processTimeoutMs,
  type ServiceProcess,
  startService,
} from "./telemetry/testing/process.ts";

const receiver = startDevReceiver({
  port: 0,
  gateway: "http://localhost:4000",
  userService: "http://localhost:4001",
});
const receiverPort = new URL(receiver.url).port;
let services: ServiceProcess[] = [];
let gateway: ServiceProcess;

beforeAll(async () => {
  const otlp = {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_BSP_SCHEDULE_DELAY: "50",
    OTEL_BLRP_SCHEDULE_DELAY: "50",
    OTEL_METRIC_EXPORT_INTERVAL: "200",
  };
  const userService = await startService(`${import.meta.dir}/user-service/src/index.ts`, otlp);
  gateway = await startService(`${import.meta.dir}/api-gateway/src/index.ts`, {
    ...otlp,
    USER_SERVICE_URL: userService.url,
  });
  services = [gateway, userService];
}, processTimeoutMs);

afterAll(async () => {
  await Promise.all(services.map((service) => service.stop("SIGKILL")));
  await receiver.stop();
});

function trace(args: string[], port = receiverPort) {
  return runCommand([process.execPath, `${import.meta.dir}/trace.ts`, ...args], {
    env: { ...process.env, DEV_RECEIVER_PORT: port },
  });
}

const fix =
  "bun run trace <id>, the id from a response's traceresponse header or a log line's trace_id";

// One request at a time: a metric stream another request changed in the same export interval
// would be listed too (docs/services.md#the-dev-receiver).
test(
  "the traceresponse of a response prints its trace: tree, logs, and the metric points it touched",
  async () => {
    const response = await fetch(`${gateway.url}/user/123`);
    const header = response.headers.get("traceresponse") ?? "";
    const traceId = header.split("-")[1];
    const { code, stdout, stderr } = await trace([header]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    const lines = stdout.split("\n");
    expect(lines[0]).toMatch(
      new RegExp(`^── trace ${traceId}  GET /user/:id  200  \\d+\\.\\d ms$`),
    );
    const spanLines = lines.filter((line) => / {2}\[(api-gateway|user-service)\]$/.test(line));
    expect(spanLines.map((line) => line.replace(/\d+\.\d ms/, "N ms"))).toEqual([
      "  GET /user/:id  SERVER  N ms  unset  [api-gateway]",
      "    GET  CLIENT  N ms  unset  [api-gateway]",
      "      GET /users/:id  SERVER  N ms  unset  [user-service]",
      "        SELECT users  CLIENT  N ms  unset  [user-service]",
    ]);
    // Attributes under app. are a learner's own (docs/labs.md, lab 3), perhaps not committed yet.
    const logLines = lines.filter((line) => line.includes(" log "));
    expect(logLines.map((line) => line.replace(/ app\.\S+=\S+/g, "").trim())).toEqual([
      'log INFO "user found"  user.id=123',
      'log INFO "user found"  user.id=123',
    ]);
    expect(lines).toContain(
      "── metric points of the exports after this request (totals since each service started;",
    );
    const metrics = lines.slice(
      lines.indexOf(
        "   other requests in the same export interval may have changed some of them, or added their own)",
      ) + 1,
    );
    // The first request through these services: every total is this request's own.
    expect(metrics.map((line) => line.replace(/sum [\d.e-]+ s/, "sum S s")).sort()).toEqual(
      [
        "  api-gateway   http.client.request.duration histogram  {http.request.method=GET server.address=127.0.0.1 server.port=" +
          new URL(services[1]?.url ?? "").port +
          " http.response.status_code=200}  count 1  sum S s",
        "  api-gateway   http.server.request.duration histogram  {http.request.method=GET url.scheme=http http.response.status_code=200 http.route=/user/:id}  count 1  sum S s",
        "  api-gateway   user.lookups sum  {outcome=found}  1 {lookup}",
        "  user-service  http.server.request.duration histogram  {http.request.method=GET url.scheme=http http.response.status_code=200 http.route=/users/:id}  count 1  sum S s",
        "",
      ].sort(),
    );
  },
  processTimeoutMs,
);

test(
  "a log line with a trace_id, pasted whole, finds the trace too",
  async () => {
    expect((await fetch(`${gateway.url}/user/abc`)).status).toBe(400);
    const line = await gateway.waitForLine((l) => l.msg === "invalid user id");
    const { code, stdout, stderr } = await trace([JSON.stringify(line)]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout).toStartWith(`── trace ${line.trace_id}  GET /user/:id  400  `);
    expect(stdout).toContain('log INFO "invalid user id"');
  },
  processTimeoutMs,
);

test("errors: no id, no trace id in it, an id dev does not keep", async () => {
  const [noId, noTraceId] = await Promise.all([trace([]), trace(["00-abc-def-01"])]);
  expect(noId).toMatchObject({
    code: 1,
    stdout: "",
    stderr: `error: which trace? bun run trace needs a trace id\n  fix: ${fix}\n`,
  });
  expect(noTraceId).toMatchObject({
    code: 1,
    stdout: "",
    stderr: `error: "00-abc-def-01" holds no trace id (32 hex digits, once)\n  fix: ${fix}\n`,
  });
  const kept = (await fetch(`${receiver.url}/dev/traces`).then((r) => r.json())) as {
    traceId: string;
  }[];
  const unknown = "0123456789abcdef0123456789abcdef";
  const otherDev = `a dev on another port: DEV_RECEIVER_PORT=<its port> bun run trace ${unknown}`;
  // Dev keeping traces names the newest; a dev that has seen no request yet says to send one.
  const empty = startDevReceiver({ port: 0, gateway: "", userService: "" });
  try {
    const [inKept, inEmpty] = await Promise.all([
      trace([unknown]),
      trace([unknown], new URL(empty.url).port),
    ]);
    expect(kept.length).toBeGreaterThan(0); // the tests above made traces
    expect(inKept).toMatchObject({
      code: 1,
      stdout: "",
      stderr: `error: trace ${unknown} is not among the ${kept.length} traces dev keeps (asked ${receiver.url}, DEV_RECEIVER_PORT=${new URL(receiver.url).port})\n  fix: bun run trace with the id of a recent response; the newest dev keeps: bun run trace ${kept[0]?.traceId}; ${otherDev}\n`,
    });
    expect(inEmpty).toMatchObject({
      code: 1,
      stdout: "",
      stderr: `error: trace ${unknown} is not among the 0 traces dev keeps (asked ${empty.url}, DEV_RECEIVER_PORT=${new URL(empty.url).port})\n  fix: send a request first (curl -si localhost:4000/user/123), then bun run trace with its traceresponse; ${otherDev}\n`,
    });
  } finally {
    await empty.stop();
  }
});

test("dev not running, or something else on its port: said within 2 s", async () => {
  const id = "0123456789abcdef0123456789abcdef";
  const port = String(await freePort());
  const notRunning = await trace([id], port);
  expect(notRunning).toMatchObject({
    code: 1,
    stdout: "",
    stderr: `error: bun run dev is not running: nothing answers on 127.0.0.1:${port} (DEV_RECEIVER_PORT)\n  fix: start it in another terminal: bun run dev (without OTEL_EXPORTER_OTLP_ENDPOINT, which sends telemetry to a collector instead of dev's receiver)\n`,
  });
  expect(notRunning.ms).toBeLessThan(2000);

  const other = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () => new Response("404 page not found", { status: 404 }),
  });
  try {
    const next = Number(other.port) + 1;
    expect(await trace([id], String(other.port))).toMatchObject({
      code: 1,
      stdout: "",
      stderr: `error: what answers on 127.0.0.1:${other.port} is not bun run dev's receiver (a collector?)\n  fix: run dev's receiver on another port, without OTEL_EXPORTER_OTLP_ENDPOINT: DEV_RECEIVER_PORT=${next} bun run dev, then DEV_RECEIVER_PORT=${next} bun run trace <id>\n`,
    });
  } finally {
    other.stop(true);
  }
});
