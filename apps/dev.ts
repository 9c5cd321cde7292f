// `bun run dev`: both services on this machine (api-gateway :4000 → user-service :4001).
// Telemetry goes to OTEL_EXPORTER_OTLP_ENDPOINT; with no endpoint it is printed to this terminal.
// Ctrl-C (or SIGTERM) stops both gracefully.
import { envPort, parseFlags } from "../bootstrap/lib/cli.ts";
import { BootstrapError, exitWithError } from "../bootstrap/lib/run.ts";

// Bad settings stop here, each variable named in its own error, before anything starts.
let userServicePort = "";
let gatewayPort = "";
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
  userServicePort = String(envPort(process.env, "USER_SERVICE_PORT", 4001));
  gatewayPort = String(envPort(process.env, "API_GATEWAY_PORT", 4000));
  const disabled = process.env.OTEL_SDK_DISABLED?.trim().toLowerCase() ?? "";
  if (!["", "true", "false"].includes(disabled))
    throw new BootstrapError(
      `OTEL_SDK_DISABLED must be true or false, got ${JSON.stringify(process.env.OTEL_SDK_DISABLED)}`,
      "OTEL_SDK_DISABLED=true bun run dev",
    );
} catch (error) {
  exitWithError(error);
}

const env: Record<string, string | undefined> = { ...process.env };
if (!env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_SDK_DISABLED) {
  // No collector to retry against: spans, metric points and log records go to the console
  // exporters instead, with metrics every 10 s rather than every minute (docs/telemetry.md).
  for (const signal of ["TRACES", "METRICS", "LOGS"]) env[`OTEL_${signal}_EXPORTER`] ??= "console";
  env.OTEL_METRIC_EXPORT_INTERVAL ??= "10000";
  console.error("dev: OTEL_EXPORTER_OTLP_ENDPOINT is not set, so telemetry prints here");
}

const start = (name: string, port: string, extra: Record<string, string> = {}) =>
  Bun.spawn([process.execPath, `${import.meta.dir}/${name}/src/index.ts`], {
    env: { ...env, PORT: port, ...extra },
    stdio: ["ignore", "inherit", "inherit"],
  });

const children = [
  start("user-service", userServicePort),
  start("api-gateway", gatewayPort, {
    USER_SERVICE_URL: env.USER_SERVICE_URL ?? `http://localhost:${userServicePort}`,
  }),
];
console.error(`dev: api-gateway on http://localhost:${gatewayPort}/user/123 (Ctrl-C stops both)`);

let stopping = false;
const stopAll = (signal: NodeJS.Signals) => {
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill(signal);
};
process.on("SIGINT", () => stopAll("SIGINT"));
process.on("SIGTERM", () => stopAll("SIGTERM"));

// If one service dies on its own, stop the other and report failure.
const first = await Promise.race(children.map((child) => child.exited));
if (!stopping) {
  console.error(`dev: a service exited with code ${first}; stopping the other`);
  stopAll("SIGTERM");
}
const codes = await Promise.all(children.map((child) => child.exited));
process.exit(stopping && codes.every((code) => code === 0) ? 0 : 1);
