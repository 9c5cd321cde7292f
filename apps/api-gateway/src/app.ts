// api-gateway: GET /user/:id validates the id and asks user-service.

import {
  envNumber,
  type Lifecycle,
  parseUserId,
  SettingError,
  serviceApp,
} from "@sandbox/service-kit";
import type { Telemetry } from "@sandbox/telemetry";
import type { UserClient } from "./user-client.ts";

export function readConfig(env: Record<string, string | undefined>) {
  const fallback = "http://localhost:4001";
  const userServiceUrl = env.USER_SERVICE_URL?.trim() || fallback;
  if (!URL.canParse(userServiceUrl) || !/^https?:$/.test(new URL(userServiceUrl).protocol))
    throw new SettingError(
      `USER_SERVICE_URL must be an http(s) URL, got ${JSON.stringify(userServiceUrl)}`,
      "USER_SERVICE_URL",
      fallback,
    );
  return {
    port: envNumber(env, "PORT", 4000, { max: 65535 }),
    userServiceUrl,
    upstreamTimeoutMs: envNumber(env, "UPSTREAM_TIMEOUT_MS", 2000, { min: 1, max: 20_000 }),
  };
}

export function buildApp(telemetry: Telemetry, lifecycle: Lifecycle, users: UserClient) {
  const { log, meter } = telemetry;
  const lookups = meter.createCounter("user.lookups", {
    description: "User lookups by outcome.",
    unit: "{lookup}",
  });
  return serviceApp(telemetry, lifecycle).get("/user/:id", async ({ params, status }) => {
    const id = parseUserId(params.id);
    if (id === undefined) {
      lookups.add(1, { outcome: "invalid" });
      log.info("invalid user id");
      return status(400, { error: "invalid user id" });
    }
    const result = await users.lookup(id);
    lookups.add(1, { outcome: result.outcome });
    switch (result.outcome) {
      case "found":
        log.info("user found", { "user.id": id });
        return result.user;
      case "not_found":
        log.info("user not found", { "user.id": id });
        return status(404, { error: "user not found" });
      case "upstream_error":
        log.error("user-service call failed", { "user.id": id, reason: result.reason });
        return status(result.status, {
          error: result.status === 504 ? "user-service timed out" : "user-service unavailable",
        });
    }
  });
}
