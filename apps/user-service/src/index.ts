// Starts user-service: telemetry first, then the app (see README, section services).

import { configOrExit, serve } from "@sandbox/service-kit";
import { startTelemetry } from "@sandbox/telemetry";
import { version } from "../package.json";
import { buildApp, readConfig } from "./app.ts";
import { createUserStore } from "./users.ts";

const config = configOrExit("user-service", () => readConfig(process.env));
const telemetry = startTelemetry({ name: "user-service", version });
const lifecycle = { ready: true };
const store = createUserStore({
  tracer: telemetry.tracer,
  latencyMs: config.queryLatencyMs,
  errorRate: config.errorRate,
});
serve(buildApp(telemetry, lifecycle, store), telemetry, lifecycle, {
  service: "user-service",
  port: config.port,
});
