// What both services share besides telemetry: JSON errors (never a stack trace), health probes,
// user-id parsing, settings from the environment, and serving with a graceful SIGTERM (stop
// accepting, drain, flush telemetry, exit 0).
import { ATTR_ERROR_TYPE } from "@opentelemetry/semantic-conventions";
import {
  activeTraceId,
  type Fetch,
  routeRecorder,
  type Telemetry,
  writeJsonLine,
} from "@sandbox/telemetry";
import { type AnyElysia, Elysia } from "elysia";

/** A user id is a positive integer of at most 9 digits, written plainly. */
export function parseUserId(raw: string): number | undefined {
  return /^[1-9][0-9]{0,8}$/.test(raw) ? Number(raw) : undefined;
}

export interface Lifecycle {
  ready: boolean;
}

const clientErrors = new Set([
  "VALIDATION",
  "PARSE",
  "INVALID_COOKIE_SIGNATURE",
  "INVALID_FILE_TYPE",
]);

/** Route paths ("/users/:id", "/files/*") as expressions over a request's path. */
const routePattern = (path: string) =>
  new RegExp(
    `^${path
      .split("/")
      .map((part) =>
        part.startsWith(":")
          ? "[^/]+"
          : part === "*"
            ? ".*"
            : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
      )
      .join("/")}$`,
  );

/** The methods the app answers at this path: not empty means the path is known. */
export function allowedMethods(app: AnyElysia, path: string): string[] {
  const methods = app.routes
    .filter((route) => routePattern(route.path).test(path))
    .map((route) => route.method.toUpperCase());
  // Elysia answers HEAD for every GET route.
  if (methods.includes("GET")) methods.push("HEAD");
  return [...new Set(methods)].sort();
}

/** The Elysia app every service starts from. */
export function serviceApp(telemetry: Telemetry, lifecycle: Lifecycle) {
  // Elysia adds routes to this same instance as a service chains .get(...) onto it, so the
  // error handler sees every route when a request comes.
  const app = new Elysia();
  // With telemetry off nothing is instrumented, not even the route hook.
  return app
    .use(telemetry.enabled ? routeRecorder : new Elysia())
    .onError({ as: "global" }, ({ code, error, set, request }) => {
      if (code === "NOT_FOUND") {
        // A known path asked with another method: 405 and the methods it has (RFC 9110, 15.5.6).
        const allow = allowedMethods(app, new URL(request.url).pathname);
        if (allow.length > 0) {
          set.status = 405;
          set.headers.allow = allow.join(", ");
          return { error: "method not allowed", allow };
        }
        set.status = 404;
        return { error: "not found" };
      }
      if (clientErrors.has(String(code))) {
        set.status = 400;
        return { error: "bad request" };
      }
      const message = error instanceof Error ? error.message : String(code);
      telemetry.log.error("unexpected error", {
        [ATTR_ERROR_TYPE]: String(code),
        "error.message": message,
      });
      set.status = 500;
      return { error: "internal error" };
    })
    .get("/healthz", () => ({ status: "ok" }))
    .get("/readyz", ({ status }) =>
      lifecycle.ready ? { status: "ready" } : status(503, { status: "shutting down" }),
    );
}

export interface ServeOptions {
  /** The service's name, on its start-up error lines as on its log lines. */
  service: string;
  port: number;
  /** How long in-flight requests may take to finish after SIGTERM. */
  drainTimeoutMs?: number;
}

export function serve(
  app: AnyElysia,
  telemetry: Telemetry,
  lifecycle: Lifecycle,
  { service, port, drainTimeoutMs = 4000 }: ServeOptions,
) {
  const server = listenOrExit(service, port, () =>
    Bun.serve({
      port,
      // Bun's default of 10 s would cut requests the latency knobs may legitimately exceed.
      idleTimeout: 30,
      fetch: telemetry.instrumentFetch(withTraceIdInErrors(app.fetch)),
      error(error) {
        telemetry.log.error("unhandled error", { "error.message": error.message });
        return Response.json({ error: "internal error" }, { status: 500 });
      },
    }),
  );
  telemetry.log.info("listening", { port: server.port ?? port });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    lifecycle.ready = false;
    telemetry.log.info("shutting down", { signal });
    // server.stop() stops accepting at once and settles when in-flight requests are done.
    await Promise.race([server.stop(), Bun.sleep(drainTimeoutMs)]);
    await telemetry.shutdown();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
  return server;
}

/**
 * A JSON error body names its trace ({"error": ..., "trace_id": "<32 hex>"}), so a user who got
 * an error can find what happened (`bun run trace <id>`, Tempo). Runs inside the request's server
 * span; without a trace (telemetry off, no caller context) the body is left as it is.
 */
export function withTraceIdInErrors(fetch: Fetch): Fetch {
  return async (request) => {
    const response = await fetch(request);
    const traceId = activeTraceId();
    if (
      response.status < 400 ||
      request.method === "HEAD" ||
      !traceId ||
      !response.headers.get("content-type")?.startsWith("application/json")
    )
      return response;
    const body: unknown = await response.json();
    return Response.json({ ...(body as object), trace_id: traceId }, response);
  };
}

/** Starts the server, or says on one line why it cannot listen (a taken port) and exits 1. */
function listenOrExit<T>(service: string, port: number, listen: () => T): T {
  try {
    return listen();
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    writeJsonLine({
      level: "error",
      service,
      msg:
        code === "EADDRINUSE"
          ? `port ${port} is already in use: stop what listens there, or pick another port`
          : `cannot listen on port ${port}: ${message ?? String(error)}`,
    });
    process.exit(1);
  }
}

/** A malformed or out-of-range setting: the variable, and the value it takes when unset. */
export class SettingError extends Error {
  constructor(
    message: string,
    readonly variable: string,
    readonly fallback: string,
  ) {
    super(message);
  }
}

/** Reads a numeric setting; a malformed or out-of-range value is a startup error. */
export function envNumber(
  env: Record<string, string | undefined>,
  name: string,
  fallback: number,
  { min = 0, max = Number.MAX_SAFE_INTEGER }: { min?: number; max?: number } = {},
): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max)
    throw new SettingError(
      `${name} must be a number from ${min} to ${max}, got ${JSON.stringify(raw)}`,
      name,
      String(fallback),
    );
  return value;
}

/** Reads the configuration, or explains the problem on one line and exits 1. */
export function configOrExit<T>(service: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    writeJsonLine({ level: "error", service, msg: (error as Error).message });
    process.exit(1);
  }
}
