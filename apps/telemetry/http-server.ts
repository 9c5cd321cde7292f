// Server-side HTTP instrumentation at the Bun.serve boundary: a SERVER span per request (W3C
// trace context extracted from the headers) that is the active context for the whole Elysia
// handler, and the http.server.request.duration histogram. Elysia only tells us the matched
// route. Deliberately recorded: method, route, path, scheme, status, error.type. Never headers,
// query strings or bodies, so credentials cannot leak. (Why not @elysia/opentelemetry:
// docs/telemetry.md.)
import {
  type Attributes,
  context,
  isSpanContextValid,
  type Meter,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_METHOD_ORIGINAL,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  HTTP_REQUEST_METHOD_VALUE_CONNECT,
  HTTP_REQUEST_METHOD_VALUE_DELETE,
  HTTP_REQUEST_METHOD_VALUE_GET,
  HTTP_REQUEST_METHOD_VALUE_HEAD,
  HTTP_REQUEST_METHOD_VALUE_OPTIONS,
  HTTP_REQUEST_METHOD_VALUE_OTHER,
  HTTP_REQUEST_METHOD_VALUE_PATCH,
  HTTP_REQUEST_METHOD_VALUE_POST,
  HTTP_REQUEST_METHOD_VALUE_PUT,
  HTTP_REQUEST_METHOD_VALUE_TRACE,
  METRIC_HTTP_SERVER_REQUEST_DURATION,
} from "@opentelemetry/semantic-conventions";
import { Elysia } from "elysia";

/** Semantic-convention buckets for HTTP durations (seconds). */
export const httpDurationBuckets = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

// The methods the convention knows; anything else is recorded as _OTHER.
const knownMethods = new Set<string>([
  HTTP_REQUEST_METHOD_VALUE_CONNECT,
  HTTP_REQUEST_METHOD_VALUE_DELETE,
  HTTP_REQUEST_METHOD_VALUE_GET,
  HTTP_REQUEST_METHOD_VALUE_HEAD,
  HTTP_REQUEST_METHOD_VALUE_OPTIONS,
  HTTP_REQUEST_METHOD_VALUE_PATCH,
  HTTP_REQUEST_METHOD_VALUE_POST,
  HTTP_REQUEST_METHOD_VALUE_PUT,
  HTTP_REQUEST_METHOD_VALUE_TRACE,
]);

const headerGetter: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => [...headers.keys()],
};

// Project addition: Elysia matches the route after Bun.serve hands over the request, so a plugin
// notes it here for the end of the request.
const routes = new WeakMap<Request, string>();

/** Tells the instrumentation which route matched; add it to the app as a global plugin. */
export const routeRecorder = new Elysia({ name: "route-recorder" }).onTransform(
  { as: "global" },
  ({ request, route }) => {
    routes.set(request, route);
  },
);

/** The trace id of the span in context, if there is a valid one. */
export function activeTraceId(): string | undefined {
  const spanContext = trace.getActiveSpan()?.spanContext();
  return spanContext && isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}

export type Fetch = (request: Request) => Response | Promise<Response>;

export function instrumentFetch(
  fetch: Fetch,
  { tracer, meter, untracedPaths }: { tracer: Tracer; meter: Meter; untracedPaths: Set<string> },
): Fetch {
  const duration = meter.createHistogram(METRIC_HTTP_SERVER_REQUEST_DURATION, {
    description: "Duration of HTTP server requests.",
    unit: "s",
    advice: { explicitBucketBoundaries: httpDurationBuckets },
  });

  return async (request) => {
    const url = new URL(request.url);
    // Project addition: probes stay out of traces and request metrics.
    if (untracedPaths.has(url.pathname)) return fetch(request);

    const started = performance.now();
    // An unknown method becomes _OTHER, so a client cannot grow the metric's series.
    const method = knownMethods.has(request.method)
      ? request.method
      : HTTP_REQUEST_METHOD_VALUE_OTHER;
    const scheme = url.protocol.slice(0, -1); // "https:" → "https"
    const startAttributes: Attributes = {
      [ATTR_HTTP_REQUEST_METHOD]: method,
      [ATTR_URL_PATH]: url.pathname,
      [ATTR_URL_SCHEME]: scheme,
    };
    if (method === HTTP_REQUEST_METHOD_VALUE_OTHER)
      startAttributes[ATTR_HTTP_REQUEST_METHOD_ORIGINAL] = request.method;

    const parent = propagation.extract(ROOT_CONTEXT, request.headers, headerGetter);
    const span = tracer.startSpan(
      method,
      { kind: SpanKind.SERVER, attributes: startAttributes },
      parent,
    );

    let status = 500;
    try {
      const response = await context.with(trace.setSpan(parent, span), fetch, undefined, request);
      status = response.status;
      // The caller learns which trace its request made (W3C Trace Context Level 2, section
      // "traceresponse Header": version-trace id-this server span's id-flags). Absent only when
      // nothing traces the request: no exporter and no caller context.
      const { traceId, spanId, traceFlags } = span.spanContext();
      if (isSpanContextValid(span.spanContext()))
        response.headers.set(
          "traceresponse",
          `00-${traceId}-${spanId}-${traceFlags.toString(16).padStart(2, "0")}`,
        );
      return response;
    } finally {
      // The metric's attributes: the bounded ones (no url.path), shared with the span.
      const attributes: Attributes = {
        [ATTR_HTTP_REQUEST_METHOD]: method,
        [ATTR_URL_SCHEME]: scheme,
        [ATTR_HTTP_RESPONSE_STATUS_CODE]: status,
      };
      const route = routes.get(request);
      if (route) {
        attributes[ATTR_HTTP_ROUTE] = route;
        span.updateName(`${method} ${route}`);
      }
      // A 4xx is the client's mistake, not a server error (semantic conventions).
      if (status >= 500) {
        attributes[ATTR_ERROR_TYPE] = String(status);
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.setAttributes(attributes);
      span.end();
      duration.record((performance.now() - started) / 1000, attributes);
    }
  };
}
