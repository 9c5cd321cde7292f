// A sweep of random and hostile requests against the gateway: never a 5xx, never a crash,
// always a JSON body, and bounded metric cardinality whatever the client sends.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type OtlpReceiver, startOtlpReceiver } from "@sandbox/telemetry/testing";
import {
  processTimeoutMs,
  type ServiceProcess,
  startService,
} from "@sandbox/telemetry/testing/process";

let receiver: OtlpReceiver;
let userService: ServiceProcess;
let gateway: ServiceProcess;

beforeAll(async () => {
  receiver = startOtlpReceiver();
  const telemetryEnv = {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_METRIC_EXPORT_INTERVAL: "200",
    OTEL_BSP_SCHEDULE_DELAY: "100",
  };
  userService = await startService(`${import.meta.dir}/../../user-service/src/index.ts`, {
    ...telemetryEnv,
    QUERY_LATENCY_MS: "0",
  });
  gateway = await startService(`${import.meta.dir}/index.ts`, {
    ...telemetryEnv,
    USER_SERVICE_URL: userService.url,
  });
}, processTimeoutMs);

afterAll(async () => {
  await Promise.all([gateway?.stop(), userService?.stop()]);
  await receiver?.stop();
});

// A seeded generator: a failure names the seed, and the same seed replays the same inputs.
function mulberry32(seed: number) {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hostileIds = [
  "..%2F..%2Fetc%2Fpasswd",
  "%2e%2e",
  "123%2F456",
  "123;DROP TABLE users",
  "' OR 1=1 --",
  "<script>alert(1)</script>",
  "%F0%9F%98%80",
  "%C0%AF",
  "%FF%FE",
  "%",
  "%%",
  "%u0031",
  "1%00",
  "%7F",
  "１２３", // full-width digits
  "Infinity",
  "NaN",
  "9007199254740993",
  "-0",
  "+1",
  "0123",
  "1_000",
  "9".repeat(10_000),
];
const hostilePaths = [
  "/user",
  "/user/",
  "/user/123/",
  "/user/123/extra",
  "//user/123",
  "/user//123",
  "/users/123",
  "/USER/123",
  "/user/123?id=1&id=2&__proto__[x]=1",
  "/user/123#fragment",
  `/user/123?${"q=1&".repeat(500)}`,
  "/%2e%2e/%2e%2e/etc/passwd",
  "/healthz/../user/123",
  "/readyz?probe=1",
  `/${"a/".repeat(2000)}`,
];
// Bun hands methods it does not know (FOO) to the app as GET; PROPFIND it passes through.
const methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"];
const alphabet = "0123456789-+.eExX %/\\?#&=;:'\"<>{}[]()!@$^*~`|\t\n\0\u00e9\u202e";

function randomRequests(seed: number, count: number): [method: string, path: string][] {
  const random = mulberry32(seed);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)] as T;
  return Array.from({ length: count }, () => {
    const length = 1 + Math.floor(random() * 24);
    const id = Array.from({ length }, () => pick([...alphabet])).join("");
    return [pick(methods), `/user/${encodeURIComponent(id)}`];
  });
}

/** Sends the requests 25 at a time; returns what went wrong. */
async function sweep(base: string, requests: [method: string, path: string][]): Promise<string[]> {
  const failures: string[] = [];
  for (let i = 0; i < requests.length; i += 25) {
    await Promise.all(
      requests.slice(i, i + 25).map(async ([method, path]) => {
        const response = await fetch(`${base}${path}`, {
          method,
          headers: {
            traceparent: "00-zzzz-not-a-trace-context",
            "content-type": "application/json",
          },
          body: method === "POST" || method === "PUT" ? '{"broken": json' : undefined,
        });
        const text = await response.text();
        const json = method === "HEAD" || text === "" ? null : JSON.parse(text);
        if (response.status >= 500)
          failures.push(`${method} ${path.slice(0, 80)} → ${response.status}`);
        if (method !== "HEAD" && json === null)
          failures.push(`${method} ${path.slice(0, 80)}: no JSON`);
        // Every answer names its trace, errors in their body too (a bad traceparent starts anew);
        // but probes make no trace.
        const probe = /^\/(healthz|readyz)\b/.test(path);
        const header = response.headers.get("traceresponse") ?? "";
        const traceId = /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/.test(header)
          ? header.split("-")[1]
          : "";
        if (!traceId && !probe)
          failures.push(`${method} ${path.slice(0, 80)}: traceresponse ${header}`);
        if (json && response.status >= 400 && json.trace_id !== traceId)
          failures.push(`${method} ${path.slice(0, 80)}: trace_id ${json.trace_id} in the body`);
        if (/\bat .*\.ts:\d+/.test(text))
          failures.push(`${method} ${path.slice(0, 80)}: stack trace`);
      }),
    );
  }
  return failures;
}

test(
  "random and hostile ids, paths and methods: no 5xx, JSON answers, no crash",
  async () => {
    const seed = Number(process.env.SWEEP_SEED ?? Date.now() % 1_000_000);
    const requests = (prefix: string): [string, string][] => [
      ...hostileIds.map((id): [string, string] => ["GET", `${prefix}/${id}`]),
      ...hostilePaths.map((path): [string, string] => ["GET", path.replace("/user", prefix)]),
      ...randomRequests(seed, 400).map(([m, path]): [string, string] => [
        m,
        path.replace("/user", prefix),
      ]),
    ];
    expect(await sweep(gateway.url, requests("/user")), `seed ${seed}`).toEqual([]);
    // user-service is only reached through the gateway, but must hold up on its own too.
    expect(await sweep(userService.url, requests("/users")), `seed ${seed}`).toEqual([]);

    // Both services are still up and nothing unexpected was logged.
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${gateway.url}/user/123`)).status).toBe(200);
    expect(gateway.process.exitCode).toBeNull();
    expect(userService.process.exitCode).toBeNull();
    for (const service of [gateway, userService])
      expect(service.lines.filter((line) => line.level === "error")).toEqual([]);

    // Whatever clients send, request metrics keep a handful of series.
    await receiver.waitForDataPoints((points) =>
      points.some((p) => p.attributes["http.request.method"] === "_OTHER"),
    );
    const serverPoints = receiver.dataPoints.filter(
      (p) =>
        p.metric === "http.server.request.duration" && p.resource["service.name"] === "api-gateway",
    );
    const values = (key: string) => new Set(serverPoints.map((p) => p.attributes[key]));
    expect([...values("http.route")].every((r) => r === undefined || r === "/user/:id")).toBe(true);
    expect(values("http.request.method").size).toBeLessThanOrEqual(methods.length);
    expect(values("http.request.method").has("PROPFIND")).toBe(false);
  },
  processTimeoutMs,
);
