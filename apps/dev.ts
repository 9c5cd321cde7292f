// `bun run dev`: both services on this machine (api-gateway :4000 → user-service :4001).
// Telemetry goes to OTEL_EXPORTER_OTLP_ENDPOINT; with no endpoint it is printed to this terminal.
// Ctrl-C (or SIGTERM) stops both gracefully.
import { envPort, parseFlags } from "../bootstrap/lib/cli.ts";
import { BootstrapError, exitWithError } from "../bootstrap/lib/run.ts";
import { readConfig as gatewayConfig } from "./api-gateway/src/app.ts";
import { SettingError } from "./service-kit/index.ts";
import { readConfig as userServiceConfig } from "./user-service/src/app.ts";

type Env = Record<string, string | undefined>;

// Bad settings stop here, each variable named in its own error, before anything starts.
let userServicePort = "";
let gatewayPort = "";
let gatewayEnv: Env = {};
let telemetryDisabled = false;
try {
  const { values } = parseFlags("bun run dev", process.argv.slice(2), {
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(
      "usage: bun run dev   (settings: API_GATEWAY_PORT, USER_SERVICE_PORT, OTEL_*; see docs/services.md)",
    );
    process.exit(0);
  }
  userServicePort = String(envPort(process.env, "USER_SERVICE_PORT", 4001, "bun run dev"));
  gatewayPort = String(envPort(process.env, "API_GATEWAY_PORT", 4000, "bun run dev"));
  const disabled = process.env.OTEL_SDK_DISABLED?.trim().toLowerCase() ?? "";
  if (!["", "true", "false"].includes(disabled))
    throw new BootstrapError(
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
    throw new BootstrapError(
      `${service}: ${error.message}`,
      `${error.variable}=${error.fallback} bun run dev`,
    );
  }
}

const env: Env = { ...process.env };
if (!env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() && !telemetryDisabled) {
  // No collector to retry against: spans, metric points and log records go to the console
  // exporters instead, with metrics every 10 s rather than every minute (docs/telemetry.md).
  for (const signal of ["TRACES", "METRICS", "LOGS"]) env[`OTEL_${signal}_EXPORTER`] ??= "console";
  env.OTEL_METRIC_EXPORT_INTERVAL ??= "10000";
  console.error("dev: OTEL_EXPORTER_OTLP_ENDPOINT is not set, so telemetry prints here");
}

const start = (name: string, port: string, extra: Env = {}) => ({
  name,
  process: Bun.spawn([process.execPath, `${import.meta.dir}/${name}/src/index.ts`], {
    env: { ...env, PORT: port, ...extra },
    stdio: ["ignore", "inherit", "inherit"],
  }),
});

const children = [
  start("user-service", userServicePort),
  start("api-gateway", gatewayPort, gatewayEnv),
];
console.error(`dev: api-gateway on http://localhost:${gatewayPort}/user/123 (Ctrl-C stops both)`);

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
process.exit(stopping && codes.every((code) => code === 0) ? 0 : 1);
