// `bun run dev`: both services on this machine (api-gateway :4000 → user-service :4001), once
// every setting checked out (apps/dev-settings.ts). Telemetry goes to OTEL_EXPORTER_OTLP_ENDPOINT;
// with no endpoint, to dev's receiver on 127.0.0.1:4318 (apps/dev-receiver.ts), which keeps the
// traces for `bun run trace` and feeds the view that prints them (apps/dev-view.ts).
// Ctrl-C (or SIGTERM) stops both gracefully.

import { CliError, exitWithError } from "../cli/errors.ts";
import { type DevReceiver, startDevReceiver } from "./dev-receiver.ts";
import {
  type DevSettings,
  devExportDelays,
  rawMetricExportInterval,
  readDevSettings,
  SettingsProblems,
  usage,
} from "./dev-settings.ts";
import { createDevView, type DevView } from "./dev-view.ts";
import { readTelemetryConfig } from "./telemetry/config.ts";

type Env = Record<string, string | undefined>;

// `--stack`: the same services, their telemetry into grafana/otel-lgtm in Docker (apps/dev-stack.ts).
if (process.argv.includes("--stack"))
  await import("./dev-stack.ts").then((stack) => stack.runDevStack(process.argv.slice(2)));

// Every bad setting (taken ports too) is reported here, all at once, before anything starts.
let settings: DevSettings;
try {
  const read = readDevSettings(process.argv.slice(2), process.env);
  if (read === "help") {
    console.log(usage);
    process.exit(0);
  }
  settings = read;
} catch (error) {
  if (error instanceof SettingsProblems) for (const line of error.lines) console.error(line);
  exitWithError(error);
}
const gatewayPort = String(settings.gatewayPort);
const userServicePort = String(settings.userServicePort);
const gatewayEnv: Env = { USER_SERVICE_URL: settings.userServiceUrl };

const env: Env = { ...process.env };
// --raw: the SDK's console exporters as well as OTLP, so `bun run trace` still finds a trace.
if (settings.raw)
  for (const signal of ["TRACES", "METRICS", "LOGS"])
    env[`OTEL_${signal}_EXPORTER`] ||= "console,otlp";
// Telemetry: off; or to the user's collector; or, with no collector, to a receiver here that
// prints each request as a trace tree (apps/dev-view.ts) and keeps it for `bun run trace`.
let receiver: DevReceiver | undefined;
let view: DevView | undefined;
// A request's log lines are printed under its spans in the tree, so they leave the terminal
// when its spans reach the tree; the services' other lines pass as they are (errors always).
let requestLinesInTree = false;
if (settings.telemetry === "off") console.error("dev: telemetry is off (OTEL_SDK_DISABLED=true)");
else if (settings.telemetry === "collector")
  console.error(
    `dev: telemetry goes to ${env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim()} (OTEL_EXPORTER_OTLP_ENDPOINT); dev runs no receiver, so bun run trace finds nothing`,
  );
else {
  view = settings.raw ? undefined : createDevView({ write: (text) => process.stdout.write(text) });
  try {
    receiver = startDevReceiver({
      port: settings.receiverPort,
      gateway: `http://localhost:${gatewayPort}`,
      userService: `http://localhost:${userServicePort}`,
      onReceive: view?.receive,
    });
  } catch (error) {
    // Checked free a moment ago; taken since.
    view?.flush();
    exitWithError(
      new CliError(
        `cannot listen on 127.0.0.1:${settings.receiverPort} (DEV_RECEIVER_PORT): ${(error as Error).message}`,
        `DEV_RECEIVER_PORT=<another port> bun run dev`,
      ),
    );
  }
  env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
  for (const [name, value] of Object.entries(devExportDelays)) env[name] ||= value;
  if (settings.raw)
    env.OTEL_METRIC_EXPORT_INTERVAL =
      process.env.OTEL_METRIC_EXPORT_INTERVAL || rawMetricExportInterval;
  // A signal the user sent to the console (OTEL_TRACES_EXPORTER=console) goes there, by the
  // services' own rules; only what is exported over OTLP reaches the view.
  const { exporters } = readTelemetryConfig(env);
  requestLinesInTree = !settings.raw && exporters.traces.includes("otlp");
  const elsewhere = Object.entries(exporters)
    .filter(([, names]) => !names.includes("otlp") || settings.raw)
    .map(([signal, names]) => `${signal}: ${names.join(", ") || "none"}`);
  console.error(
    `dev: no OTEL_EXPORTER_OTLP_ENDPOINT, so telemetry goes to a receiver here (${receiver.url}, bun run trace <id>): ${view?.firstLine ?? `--raw: the SDK's console exporters print what they export, metrics every ${Number(env.OTEL_METRIC_EXPORT_INTERVAL) / 1000} s`}` +
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
