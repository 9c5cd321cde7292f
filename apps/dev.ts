// `bun run dev`: both services on this machine (api-gateway :4000 → user-service :4001).
// Telemetry goes to OTEL_EXPORTER_OTLP_ENDPOINT; with no endpoint it is printed to this terminal.
// Ctrl-C (or SIGTERM) stops both gracefully.
const userServicePort = process.env.USER_SERVICE_PORT ?? "4001";
const gatewayPort = process.env.API_GATEWAY_PORT ?? "4000";

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
