// `bun run dev`: both services on this machine (api-gateway :4000 → user-service :4001).
// Telemetry goes to OTEL_EXPORTER_OTLP_ENDPOINT; with no endpoint, to an OTLP receiver in this
// process that prints each request as a trace tree (apps/dev-view.ts).
// Ctrl-C (or SIGTERM) stops both gracefully.

import { CliError, exitWithError } from "../cli/errors.ts";
import { envPort, parseFlags } from "../cli/flags.ts";
import { readConfig as gatewayConfig } from "./api-gateway/src/app.ts";
import { type DevReceiver, defaultDevReceiverPort, startDevReceiver } from "./dev-receiver.ts";
import { createDevView, type DevView } from "./dev-view.ts";
import { SettingError } from "./service-kit/index.ts";
import { readTelemetryConfig } from "./telemetry/config.ts";
import { readConfig as userServiceConfig } from "./user-service/src/app.ts";

type Env = Record<string, string | undefined>;

// `--stack`: the same services, their telemetry into grafana/otel-lgtm in Docker (apps/dev-stack.ts).
if (process.argv.includes("--stack"))
  await import("./dev-stack.ts").then((stack) => stack.runDevStack(process.argv.slice(2)));

// Bad settings stop here, each variable named in its own error, before anything starts.
let userServicePort = "";
let gatewayPort = "";
let receiverPort = 0;
let gatewayEnv: Env = {};
let telemetryDisabled = false;
try {
  const { values } = parseFlags("bun run dev", process.argv.slice(2), {
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(
      "usage: bun run dev [--stack]   (settings: API_GATEWAY_PORT, USER_SERVICE_PORT, OTEL_*; see docs/services.md)",
    );
    process.exit(0);
  }
  userServicePort = String(envPort(process.env, "USER_SERVICE_PORT", 4001, "bun run dev"));
  gatewayPort = String(envPort(process.env, "API_GATEWAY_PORT", 4000, "bun run dev"));
  receiverPort = envPort(process.env, "DEV_RECEIVER_PORT", defaultDevReceiverPort, "bun run dev");
  const disabled = process.env.OTEL_SDK_DISABLED?.trim().toLowerCase() ?? "";
  if (!["", "true", "false"].includes(disabled))
    throw new CliError(
      `OTEL_SDK_DISABLED must be true or false, got ${JSON.stringify(process.env.OTEL_SDK_DISABLED)}`,
      "OTEL_SDK_DISABLED=false bun run dev (or =true: no telemetry at all)",
    );
  // Only "true" switches telemetry off, as in the services (the specification's Boolean).
  telemetryDisabled = disabled === "true";
  gatewayEnv = {
    USER_SERVICE_URL: process.env.USER_SERVICE_URL?.trim() || `http://localhost:${userServicePort}`,
  };
  // Each service's settings by its own rules, as it would read them at start-up.
  checkSettings("user-service", userServiceConfig, { PORT: userServicePort });
  checkSettings("api-gateway", gatewayConfig, { PORT: gatewayPort, ...gatewayEnv });
} catch (error) {
  exitWithError(error);
}

function checkSettings(service: string, readConfig: (env: Env) => unknown, extra: Env) {
  try {
    readConfig({ ...process.env, ...extra });
  } catch (error) {
    if (!(error instanceof SettingError)) throw error;
    throw new CliError(
      `${service}: ${error.message}`,
      `${error.variable}=${error.fallback} bun run dev`,
    );
  }
}

const env: Env = { ...process.env };
// Telemetry: off; or to the user's collector; or, with no collector, to a receiver here that
// prints each request as a trace tree (apps/dev-view.ts).
let receiver: DevReceiver | undefined;
let view: DevView | undefined;
// A request's log lines are printed under its spans in the tree, so they leave the terminal
// when its spans reach the tree; the services' other lines pass as they are (errors always).
let requestLinesInTree = false;
const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
if (telemetryDisabled) console.error("dev: telemetry is off (OTEL_SDK_DISABLED=true)");
else if (endpoint)
  console.error(`dev: telemetry goes to ${endpoint} (OTEL_EXPORTER_OTLP_ENDPOINT)`);
else {
  view = createDevView({ write: (text) => process.stdout.write(text) });
  try {
    receiver = startDevReceiver({
      port: receiverPort,
      gateway: `http://localhost:${gatewayPort}`,
      userService: `http://localhost:${userServicePort}`,
      onReceive: view.receive,
    });
  } catch (error) {
    view.flush();
    if ((error as { code?: string }).code !== "EADDRINUSE") exitWithError(error);
    exitWithError(
      new CliError(
        `port ${receiverPort} (DEV_RECEIVER_PORT) is already in use: is another bun run dev running?`,
        `stop what listens there, or DEV_RECEIVER_PORT=${receiverPort + 1} bun run dev`,
      ),
    );
  }
  env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
  // Export within a second instead of the SDK defaults (spans 5 s, logs 1 s, metrics 60 s).
  env.OTEL_BSP_SCHEDULE_DELAY ||= "100";
  env.OTEL_BLRP_SCHEDULE_DELAY ||= "100";
  env.OTEL_METRIC_EXPORT_INTERVAL ||= "500";
  // A signal the user sent to the console (OTEL_TRACES_EXPORTER=console) goes there, by the
  // services' own rules; only what is exported over OTLP reaches the view.
  const { exporters } = readTelemetryConfig(env);
  requestLinesInTree = exporters.traces.includes("otlp");
  const elsewhere = Object.entries(exporters)
    .filter(([, names]) => !names.includes("otlp"))
    .map(([signal, names]) => `${signal}: ${names.join(", ") || "none"}`);
  console.error(
    `dev: no OTEL_EXPORTER_OTLP_ENDPOINT, so telemetry goes to a receiver here: ${view.firstLine}` +
      (elsewhere.length ? ` (${elsewhere.join("; ")})` : ""),
  );
}
const shown = (line: string) => !line.includes('"trace_id":"') || line.includes('"level":"error"');

async function passLines(stream: ReadableStream<Uint8Array>) {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const bytes of stream) {
    const lines = (pending + decoder.decode(bytes, { stream: true })).split("\n");
    pending = lines.pop() ?? "";
    const kept = lines.filter(shown);
    if (kept.length) process.stdout.write(`${kept.join("\n")}\n`);
  }
  if (pending && shown(pending)) process.stdout.write(pending);
}

const start = (name: string, port: string, extra: Env = {}) => {
  const child = Bun.spawn([process.execPath, `${import.meta.dir}/${name}/src/index.ts`], {
    env: { ...env, PORT: port, ...extra },
    stdio: ["ignore", requestLinesInTree ? "pipe" : "inherit", "inherit"],
  });
  const output = child.stdout instanceof ReadableStream ? passLines(child.stdout) : undefined;
  return { name, process: child, output };
};

const children = [
  start("user-service", userServicePort),
  start("api-gateway", gatewayPort, gatewayEnv),
];
// Said once both answer their readiness probe, so a request right after it is not a 502; a
// service that does not start says why itself (its own error line, then the exit below).
void (async () => {
  const ready = (port: string) =>
    fetch(`http://localhost:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
  for (let tries = 0; tries < 200; tries++) {
    if ((await ready(userServicePort)) && (await ready(gatewayPort))) {
      console.error(
        `dev: api-gateway on http://localhost:${gatewayPort}/user/123 (Ctrl-C stops both)`,
      );
      return;
    }
    await Bun.sleep(50);
  }
})();

let stopping = false;
const stopAll = (signal: NodeJS.Signals) => {
  stopping = true;
  for (const child of children) if (child.process.exitCode === null) child.process.kill(signal);
};
process.on("SIGINT", () => stopAll("SIGINT"));
process.on("SIGTERM", () => stopAll("SIGTERM"));

// If one service dies on its own, stop the other and report failure.
const first = await Promise.race(
  children.map(async (child) => ({ child, code: await child.process.exited })),
);
if (!stopping) {
  const other = children.find((child) => child !== first.child)?.name;
  console.error(`dev: ${first.child.name} exited with code ${first.code}; stopping ${other}`);
  stopAll("SIGTERM");
}
const codes = await Promise.all(children.map((child) => child.process.exited));
// The services exported what they had on the way out: print it, then close the receiver.
await Promise.all(children.map((child) => child.output));
view?.flush();
await receiver?.stop();
await new Promise((written) => process.stdout.write("", written)); // all of it, before exit
process.exit(stopping && codes.every((code) => code === 0) ? 0 : 1);
