// The call to user-service: a CLIENT span with the W3C trace context injected by hand (Bun's
// fetch is not instrumented), a bounded timeout, and http.client.request.duration.
import {
  type Attributes,
  context,
  type Meter,
  propagation,
  SpanKind,
  SpanStatusCode,
  type Tracer,
} from "@opentelemetry/api";
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL,
  HTTP_REQUEST_METHOD_VALUE_GET,
  METRIC_HTTP_CLIENT_REQUEST_DURATION,
} from "@opentelemetry/semantic-conventions";
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
  // The request and who is called: on the span and on every metric point.
  const server: Attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: HTTP_REQUEST_METHOD_VALUE_GET,
    [ATTR_SERVER_ADDRESS]: base.hostname,
    [ATTR_SERVER_PORT]: Number(base.port) || (base.protocol === "https:" ? 443 : 80),
  };
  const duration = meter.createHistogram(METRIC_HTTP_CLIENT_REQUEST_DURATION, {
    description: "Duration of HTTP client requests.",
    unit: "s",
    advice: { explicitBucketBoundaries: httpDurationBuckets },
  });

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
        HTTP_REQUEST_METHOD_VALUE_GET,
        { kind: SpanKind.CLIENT, attributes: { ...server, [ATTR_URL_FULL]: shownHref + path } },
        async (span) => {
          const started = performance.now();
          const { lookup, status, errorType } = await call(baseHref + path);
          const attributes: Attributes = { ...server };
          if (status) attributes[ATTR_HTTP_RESPONSE_STATUS_CODE] = status;
          if (errorType) {
            attributes[ATTR_ERROR_TYPE] = errorType;
            span.setStatus({ code: SpanStatusCode.ERROR });
          }
          span.setAttributes(attributes);
          span.end();
          duration.record((performance.now() - started) / 1000, attributes);
          return lookup;
        },
      );
    },
  };
}

export type UserClient = ReturnType<typeof createUserClient>;
