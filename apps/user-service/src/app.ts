// user-service: GET /users/:id answers from the simulated database.

import { envNumber, type Lifecycle, parseUserId, serviceApp } from "@sandbox/service-kit";
import type { Telemetry } from "@sandbox/telemetry";
import type { UserStore } from "./users.ts";

export function readConfig(env: Record<string, string | undefined>) {
  return {
    port: envNumber(env, "PORT", 4001, { max: 65535 }),
    queryLatencyMs: envNumber(env, "QUERY_LATENCY_MS", 5, { max: 20_000 }),
    errorRate: envNumber(env, "ERROR_RATE", 0, { max: 1 }),
  };
}

export function buildApp(telemetry: Telemetry, lifecycle: Lifecycle, store: UserStore) {
  const { log } = telemetry;
  return serviceApp(telemetry, lifecycle).get("/users/:id", async ({ params, status }) => {
    const id = parseUserId(params.id);
    if (id === undefined) {
      log.info("invalid user id");
      return status(400, { error: "invalid user id" });
    }
    try {
      const user = await store.findById(id);
      if (!user) {
        log.info("user not found", { "user.id": id });
        return status(404, { error: "user not found" });
      }
      log.info("user found", { "user.id": id });
      return user;
    } catch (error) {
      log.error("user query failed", { "user.id": id, "error.message": (error as Error).message });
      return status(500, { error: "database error" });
    }
  });
}
