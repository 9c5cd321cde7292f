// Server-side HTTP instrumentation at the Bun.serve boundary: a SERVER span per request (W3C
// trace context extracted from the headers) that is the active context for the whole Elysia
// handler, and the http.server.request.duration histogram. Elysia only tells us the matched
// route. Deliberately recorded: method, route, path, scheme, status, error.type. Never headers,
// query strings or bodies, so credentials cannot leak. (Why not @elysia/opentelemetry: README,
// section services.)
import {
  context,
  type Meter,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { Elysia } from "elysia";

/** Semantic-convention buckets for HTTP durations (seconds). */
export const httpDurationBuckets = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

const knownMethods = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "CONNECT",
  "OPTIONS",
  "TRACE",
  "PATCH",
]);

/** Keeps metric cardinality bounded whatever method a client invents. */
export const normalizeMethod = (method: string) => (knownMethods.has(method) ? method : "_OTHER");

const headerGetter: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => [...headers.keys()],
};

// The matched route, noted by the Elysia plugin below while the request runs.
const routes = new WeakMap<Request, string>();

/** Tells the instrumentation which route matched; add it to the app as a global plugin. */
export const routeRecorder = new Elysia({ name: "route-recorder" }).onTransform(
  { as: "global" },
  ({ request, route }) => {
    routes.set(request, route);
  },
);

export type Fetch = (request: Request) => Response | Promise<Response>;

export function instrumentFetch(
  fetch: Fetch,
  { tracer, meter, untracedPaths }: { tracer: Tracer; meter: Meter; untracedPaths: Set<string> },
): Fetch {
  const duration = meter.createHistogram("http.server.request.duration", {
    description: "Duration of HTTP server requests.",
    unit: "s",
    advice: { explicitBucketBoundaries: httpDurationBuckets },
  });

  return async (request) => {
    const url = new URL(request.url);
    if (untracedPaths.has(url.pathname)) return fetch(request);

    const started = performance.now();
    const method = normalizeMethod(request.method);
    const parent = propagation.extract(ROOT_CONTEXT, request.headers, headerGetter);
    const span = tracer.startSpan(
      method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          "http.request.method": method,
          ...(method === "_OTHER" ? { "http.request.method_original": request.method } : {}),
          "url.path": url.pathname,
          "url.scheme": url.protocol.replace(":", ""),
        },
      },
      parent,
    );

    let status = 500;
    try {
      const response = await context.with(trace.setSpan(parent, span), () => fetch(request));
      status = response.status;
      return response;
    } finally {
      const route = routes.get(request);
      const attributes = {
        "http.request.method": method,
        "http.response.status_code": status,
        ...(route ? { "http.route": route } : {}),
        ...(status >= 500 ? { "error.type": String(status) } : {}),
      };
      if (route) span.updateName(`${method} ${route}`);
      // A 4xx is the client's mistake, not a server error (semantic conventions).
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.setAttributes(attributes);
      span.end();
      duration.record((performance.now() - started) / 1000, attributes);
    }
  };
}
