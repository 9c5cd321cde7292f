// The Collector's start-up validation of a config (otelcol-contrib 0.158.0), as a model: what
// `otelcol --config` checks before it starts, for the component types this project declares.
// A config that fails here makes the Collector exit, so its Application never turns Healthy.
//
// Followed upstream (open-telemetry/opentelemetry-collector at v0.158.0):
// - otelcol/internal/configunmarshaler/configs.go: every declared component, used in a pipeline
//   or not, is built from its factory's default config with the declared settings on top; a
//   `null` declares the component with its default config; an unknown type is an error.
// - otelcol/collector.go `confmap.Validate(cfg)` (confmap/validation.go): calls Validate on every
//   declared component's config, then otelcol/config.go `Config.Validate` (receivers and
//   exporters present, connector IDs unambiguous, service extensions and every pipeline
//   reference configured) and service/pipelines/config.go (at least one pipeline, each with a
//   receiver and an exporter, no processor twice).
// - Component rules, each its `Validate` at v0.158.0: exporter/otlphttpexporter/config.go,
//   exporter/otlpexporter/config.go (`sanitizedEndpoint`), exporter/debugexporter/config.go,
//   receiver/otlpreceiver/config.go, processor/batchprocessor/config.go,
//   internal/memorylimiter/config.go with processor/memorylimiterprocessor/factory.go defaults.
// Not modelled: unknown keys inside a component (the Collector rejects them too), and the
// settings of the contrib components (k8s_attributes, health_check, jaeger, zipkin,
// prometheus), whose sources at 0.158.0 could not be read here: for those only the type is known.

type Settings = Record<string, unknown>;
type Rule = (settings: Settings) => string | undefined;

const kinds = ["receivers", "processors", "exporters", "connectors", "extensions"] as const;
type Kind = (typeof kinds)[number];

const isMap = (value: unknown): value is Settings =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Go's time.ParseDuration for the units configs use; a bare number is nanoseconds. */
function seconds(value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value === "number") return value / 1e9;
  const units: Record<string, number> = { ns: 1e-9, us: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  const parts = String(value).match(/^-?(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/)
    ? [...String(value).matchAll(/(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)/g)]
    : [];
  if (parts.length === 0) throw new Error(`not a duration: ${String(value)}`);
  const total = parts.reduce(
    (sum, [, n, unit]) => sum + Number(n) * (units[unit as string] ?? 0),
    0,
  );
  return String(value).startsWith("-") ? -total : total;
}

const otlpHttpExporter: Rule = (s) =>
  ["endpoint", "traces_endpoint", "metrics_endpoint", "logs_endpoint", "profiles_endpoint"].some(
    (key) => typeof s[key] === "string" && s[key] !== "",
  )
    ? undefined
    : "at least one endpoint must be specified";

const otlpGrpcExporter: Rule = (s) => {
  const endpoint = typeof s.endpoint === "string" ? s.endpoint : "";
  const sanitized = endpoint.replace(/^https?:\/\//, "").replace(/^dns:\/\/\/?/, "");
  return sanitized === "" ? 'requires a non-empty "endpoint"' : undefined;
};

const debugExporter: Rule = (s) => {
  const verbosity = s.verbosity ?? "basic";
  if (!["basic", "normal", "detailed"].includes(String(verbosity)))
    return `verbosity level "${String(verbosity)}" is not supported`;
  const internal = s.use_internal_logger ?? true;
  if (internal && s.output_paths != null)
    return "output_paths is not supported when use_internal_logger is true";
  if (!internal && Array.isArray(s.output_paths) && s.output_paths.length === 0)
    return "output_paths must not be empty when use_internal_logger is false";
  return undefined;
};

// The protocols are optional sub-configs: a protocol is on when its key is there, even empty.
const otlpReceiver: Rule = (s) => {
  const protocols = isMap(s.protocols) ? s.protocols : {};
  return "grpc" in protocols || "http" in protocols
    ? undefined
    : "must specify at least one protocol when using the OTLP receiver";
};

const batchProcessor: Rule = (s) => {
  const size = Number(s.send_batch_size ?? 8192);
  const max = Number(s.send_batch_max_size ?? 0);
  if (max > 0 && max < size)
    return "send_batch_max_size must be greater or equal to send_batch_size";
  const keys = ((s.metadata_keys ?? []) as string[]).map((k) => k.toLowerCase());
  const duplicate = keys.find((k, i) => keys.indexOf(k) !== i);
  if (duplicate !== undefined)
    return `duplicate entry in metadata_keys: "${duplicate}" (case-insensitive)`;
  if (seconds(s.timeout ?? "200ms") < 0) return "timeout must be greater or equal to 0";
  return undefined;
};

const memoryLimiter: Rule = (s) => {
  const checkInterval = seconds(s.check_interval);
  const minSoft = seconds(s.min_gc_interval_when_soft_limited ?? "10s");
  const minHard = seconds(s.min_gc_interval_when_hard_limited);
  const maxSoft = seconds(s.max_gc_interval_when_soft_limited ?? "30s");
  const maxHard = seconds(s.max_gc_interval_when_hard_limited ?? "30s");
  const limitMib = Number(s.limit_mib ?? 0);
  const spikeMib = Number(s.spike_limit_mib ?? 0);
  const limitPct = Number(s.limit_percentage ?? 0);
  const spikePct = Number(s.spike_limit_percentage ?? 0);
  if (checkInterval <= 0) return "'check_interval' must be greater than zero";
  if (minSoft < minHard)
    return "'min_gc_interval_when_soft_limited' should be larger than 'min_gc_interval_when_hard_limited'";
  if (maxSoft < 0) return "'max_gc_interval_when_soft_limited' must be non-negative";
  if (maxHard < 0) return "'max_gc_interval_when_hard_limited' must be non-negative";
  if (maxSoft > 0 && maxSoft < minSoft)
    return "'max_gc_interval_when_soft_limited' must be greater than or equal to 'min_gc_interval_when_soft_limited' (or 0 to disable)";
  if (maxHard > 0 && maxHard < minHard)
    return "'max_gc_interval_when_hard_limited' must be greater than or equal to 'min_gc_interval_when_hard_limited' (or 0 to disable)";
  if (maxSoft > 0 && maxHard > 0 && maxSoft < maxHard)
    return "'max_gc_interval_when_soft_limited' should be larger than or equal to 'max_gc_interval_when_hard_limited' (when both are set)";
  if (limitMib === 0 && limitPct === 0)
    return "'limit_mib' or 'limit_percentage' must be greater than zero";
  if (limitPct > 100 || spikePct > 100)
    return "'limit_percentage' and 'spike_limit_percentage' must be greater than zero and less than or equal to hundred";
  if (limitMib > 0 && limitMib <= spikeMib)
    return "'spike_limit_mib' must be smaller than 'limit_mib'";
  if (limitPct > 0 && limitPct <= spikePct)
    return "'spike_limit_percentage' must be smaller than 'limit_percentage'";
  return undefined;
};

/** Contrib components: the type is known, its settings are not modelled. */
const notModelled: Rule = () => undefined;

/** The component types the model knows, by kind, each with its Validate. */
const types: Record<Kind, Record<string, Rule>> = {
  receivers: {
    otlp: otlpReceiver,
    jaeger: notModelled,
    zipkin: notModelled,
    prometheus: notModelled,
  },
  processors: { batch: batchProcessor, memory_limiter: memoryLimiter, k8s_attributes: notModelled },
  exporters: { otlp_http: otlpHttpExporter, otlp_grpc: otlpGrpcExporter, debug: debugExporter },
  connectors: {},
  extensions: { health_check: notModelled },
};

const signals = ["traces", "metrics", "logs"];

/** Every error the Collector would stop on (it reports the first), in upstream's words. */
export function startupErrors(config: Settings): string[] {
  const errors: string[] = [];
  const declared = {} as Record<Kind, Settings>;
  for (const kind of kinds) {
    const section = config[kind] ?? {};
    if (!isMap(section)) {
      errors.push(`${kind}: not a map`);
      declared[kind] = {};
      continue;
    }
    declared[kind] = section;
    for (const [id, settings] of Object.entries(section)) {
      const type = id.split("/")[0] as string;
      const rule = types[kind][type];
      if (!rule) {
        errors.push(
          `${kind}: unknown type: "${type}" for id: "${id}" (the model knows ${Object.keys(types[kind]).join(", ") || "none"})`,
        );
        continue;
      }
      if (settings !== null && !isMap(settings)) {
        errors.push(`${kind}::${id}: error reading configuration: not a map`);
        continue;
      }
      // A null declares the component with its factory's default config.
      const problem = rule(settings ?? {});
      if (problem) errors.push(`${kind}::${id}: ${problem}`);
    }
  }

  const has = (kind: Kind, id: string) => Object.hasOwn(declared[kind], id);
  if (Object.keys(declared.receivers).length === 0)
    errors.push("no receiver configuration specified in config");
  if (Object.keys(declared.exporters).length === 0)
    errors.push("no exporter configuration specified in config");
  for (const id of Object.keys(declared.connectors)) {
    if (has("exporters", id) || has("receivers", id))
      errors.push(`connectors::${id}: ambiguous ID: also declared as an exporter or receiver`);
  }

  const service = isMap(config.service) ? config.service : {};
  for (const ref of (service.extensions ?? []) as string[]) {
    if (!has("extensions", ref))
      errors.push(`service::extensions: references extension "${ref}" which is not configured`);
  }
  const pipelines = isMap(service.pipelines) ? service.pipelines : {};
  if (Object.keys(pipelines).length === 0) errors.push("service must have at least one pipeline");
  for (const [id, pipeline] of Object.entries(pipelines)) {
    const where = `service::pipelines::${id}`;
    if (!signals.includes(id.split("/")[0] as string)) {
      errors.push(`${where}: unknown signal "${id.split("/")[0]}"`);
      continue;
    }
    const p = (isMap(pipeline) ? pipeline : {}) as {
      receivers?: string[];
      processors?: string[];
      exporters?: string[];
    };
    const receivers = p.receivers ?? [];
    const processors = p.processors ?? [];
    const exporters = p.exporters ?? [];
    if (receivers.length === 0) errors.push(`${where}: must have at least one receiver`);
    if (exporters.length === 0) errors.push(`${where}: must have at least one exporter`);
    processors.forEach((ref, i) => {
      if (processors.indexOf(ref) !== i)
        errors.push(`${where}: references processor "${ref}" multiple times`);
    });
    for (const ref of receivers)
      if (!has("receivers", ref) && !has("connectors", ref))
        errors.push(`${where}: references receiver "${ref}" which is not configured`);
    for (const ref of processors)
      if (!has("processors", ref))
        errors.push(`${where}: references processor "${ref}" which is not configured`);
    for (const ref of exporters)
      if (!has("exporters", ref) && !has("connectors", ref))
        errors.push(`${where}: references exporter "${ref}" which is not configured`);
  }
  return errors;
}
