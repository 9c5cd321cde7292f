// Server-side HTTP instrumentation at the Bun.serve boundary: a SERVER span per request (W3C
// trace context extracted from the headers) that is the active context for the whole Elysia
// handler, and the http.server.request.duration histogram. Elysia only tells us the matched
// route. Deliberately recorded: method, route, path, scheme, status, error.type. Never headers,
// query strings or bodies, so credentials cannot leak. (Why not @elysia/opentelemetry:
// docs/telemetry.md.)
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

/**
 * The path of an absolute request URL ("http://host/a/b?q" → "/a/b"): what `new URL(url).pathname`
 * gives for the URLs Bun.serve hands over, without building a URL object per request.
 */
export function pathOf(url: string): string {
  const authority = url.indexOf("//");
  const start = url.indexOf("/", authority < 0 ? 0 : authority + 2);
  if (start < 0) return "/";
  let end = url.indexOf("?", start);
  if (end < 0) end = url.length;
  const hash = url.indexOf("#", start);
  if (hash >= 0 && hash < end) end = hash;
  return url.slice(start, end);
}

type Attributes = Record<string, string | number>;

/**
 * The end-of-request attributes for one (method, route, status): a bounded set (methods are
 * normalized, routes are the app's), so each is built once and shared by the span and the
 * histogram, which copy or hash it and never change it.
 */
function endAttributesCache() {
  const cache = new Map<string, Attributes>();
  return (method: string, route: string | undefined, status: number): Attributes => {
    const key = `${method} ${status} ${route ?? ""}`;
    let attributes = cache.get(key);
    if (!attributes) {
      attributes = { "http.request.method": method, "http.response.status_code": status };
      if (route) attributes["http.route"] = route;
      if (status >= 500) attributes["error.type"] = String(status);
      cache.set(key, attributes);
    }
    return attributes;
  };
}

export function instrumentFetch(
  fetch: Fetch,
  { tracer, meter, untracedPaths }: { tracer: Tracer; meter: Meter; untracedPaths: Set<string> },
): Fetch {
  const duration = meter.createHistogram("http.server.request.duration", {
    description: "Duration of HTTP server requests.",
    unit: "s",
    advice: { explicitBucketBoundaries: httpDurationBuckets },
  });
  const endAttributes = endAttributesCache();

  return async (request) => {
    const url = request.url;
    const path = pathOf(url);
    if (untracedPaths.has(path)) return fetch(request);

    const started = performance.now();
    const method = normalizeMethod(request.method);
    const parent = propagation.extract(ROOT_CONTEXT, request.headers, headerGetter);
    const startAttributes: Attributes = {
      "http.request.method": method,
      "url.path": path,
      "url.scheme": url.startsWith("https:") ? "https" : "http",
    };
    if (method === "_OTHER") startAttributes["http.request.method_original"] = request.method;
    const span = tracer.startSpan(
      method,
      { kind: SpanKind.SERVER, attributes: startAttributes },
      parent,
    );

    let status = 500;
    try {
      const response = await context.with(trace.setSpan(parent, span), fetch, undefined, request);
      status = response.status;
      return response;
    } finally {
      const route = routes.get(request);
      const attributes = endAttributes(method, route, status);
      if (route) span.updateName(`${method} ${route}`);
      // A 4xx is the client's mistake, not a server error (semantic conventions).
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.setAttributes(attributes);
      span.end();
      duration.record((performance.now() - started) / 1000, attributes);
    }
  };
}
