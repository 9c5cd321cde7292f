// Starts api-gateway: telemetry first, then the app (see README, section services).

import { configOrExit, serve } from "@sandbox/service-kit";
import { startTelemetry } from "@sandbox/telemetry";
import { version } from "../package.json";
import { buildApp, readConfig } from "./app.ts";
import { createUserClient } from "./user-client.ts";

const config = configOrExit("api-gateway", () => readConfig(process.env));
const telemetry = startTelemetry({ name: "api-gateway", version });
const lifecycle = { ready: true };
const users = createUserClient({
  baseUrl: config.userServiceUrl,
  timeoutMs: config.upstreamTimeoutMs,
  tracer: telemetry.tracer,
  meter: telemetry.meter,
});
serve(buildApp(telemetry, lifecycle, users), telemetry, lifecycle, {
  service: "api-gateway",
  port: config.port,
});
