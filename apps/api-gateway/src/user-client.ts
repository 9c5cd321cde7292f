// The call to user-service: a CLIENT span with the W3C trace context injected by hand (Bun's
// fetch is not instrumented), a bounded timeout, and http.client.request.duration.
import {
  context,
  type Meter,
  propagation,
  SpanKind,
  SpanStatusCode,
  type Tracer,
} from "@opentelemetry/api";
import { httpDurationBuckets } from "@sandbox/telemetry";

export type Lookup =
  | { outcome: "found"; user: unknown }
  | { outcome: "not_found" }
  | { outcome: "upstream_error"; status: 502 | 504; reason: string };

export interface UserClientOptions {
  baseUrl: string;
  timeoutMs: number;
  tracer: Tracer;
  meter: Meter;
}

type Attributes = Record<string, string | number>;

export function createUserClient({ baseUrl, timeoutMs, tracer, meter }: UserClientOptions) {
  const base = new URL(baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`);
  // A relative URL drops the base's query and fragment; so does joining strings to the href.
  base.search = "";
  base.hash = "";
  // Credentials in USER_SERVICE_URL are redacted in url.full, as the conventions require.
  const shownBase = new URL(base);
  if (shownBase.username) shownBase.username = "REDACTED";
  if (shownBase.password) shownBase.password = "REDACTED";
  const baseHref = base.href;
  const shownHref = shownBase.href;
  const serverAddress = base.hostname;
  const serverPort = Number(base.port) || (base.protocol === "https:" ? 443 : 80);
  const duration = meter.createHistogram("http.client.request.duration", {
    description: "Duration of HTTP client requests.",
    unit: "s",
    advice: { explicitBucketBoundaries: httpDurationBuckets },
  });
  // The outcome attributes for one (status, error.type): a small set, built once each and shared
  // by the span (which copies them) and the histogram (which hashes them); never changed.
  const outcomes = new Map<string, Attributes>();
  const outcomeAttributes = (status: number | undefined, errorType: string | undefined) => {
    const key = `${status ?? ""} ${errorType ?? ""}`;
    let attributes = outcomes.get(key);
    if (!attributes) {
      attributes = {
        "http.request.method": "GET",
        "server.address": serverAddress,
        "server.port": serverPort,
      };
      if (status) attributes["http.response.status_code"] = status;
      if (errorType) attributes["error.type"] = errorType;
      outcomes.set(key, attributes);
    }
    return attributes;
  };

  async function call(
    url: string,
  ): Promise<{ lookup: Lookup; status?: number; errorType?: string }> {
    const headers: Record<string, string> = { accept: "application/json" };
    propagation.inject(context.active(), headers);
    try {
      // The signal also bounds reading the body.
      const response = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
      const status = response.status;
      if (status === 200)
        return { lookup: { outcome: "found", user: await response.json() }, status };
      await response.body?.cancel();
      // 404 is an expected answer here (no such user), not a failed call.
      if (status === 404) return { lookup: { outcome: "not_found" }, status };
      const reason = `user-service answered ${status}`;
      return {
        lookup: { outcome: "upstream_error", status: 502, reason },
        status,
        errorType: String(status),
      };
    } catch (error) {
      const name = (error as Error).name;
      if (name === "TimeoutError")
        return {
          lookup: {
            outcome: "upstream_error",
            status: 504,
            reason: `no answer within ${timeoutMs} ms`,
          },
          errorType: "timeout",
        };
      const reason =
        name === "SyntaxError" ? "invalid JSON from user-service" : "user-service unreachable";
      // Bun sets a system code such as ECONNREFUSED on network failures.
      const code = (error as { code?: unknown }).code;
      const errorType = typeof code === "string" ? code : name;
      return { lookup: { outcome: "upstream_error", status: 502, reason }, errorType };
    }
  }

  return {
    lookup(id: number): Promise<Lookup> {
      const path = `users/${id}`;
      return tracer.startActiveSpan(
        "GET",
        {
          kind: SpanKind.CLIENT,
          attributes: {
            "http.request.method": "GET",
            "server.address": serverAddress,
            "server.port": serverPort,
            "url.full": shownHref + path,
          },
        },
        async (span) => {
          const started = performance.now();
          const { lookup, status, errorType } = await call(baseHref + path);
          const outcome = outcomeAttributes(status, errorType);
          span.setAttributes(outcome);
          if (errorType) span.setStatus({ code: SpanStatusCode.ERROR });
          span.end();
          duration.record((performance.now() - started) / 1000, outcome);
          return lookup;
        },
      );
    },
  };
}

export type UserClient = ReturnType<typeof createUserClient>;
