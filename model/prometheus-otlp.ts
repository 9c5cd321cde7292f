// Prometheus's OTLP receiver: which series an OTLP metric becomes. Prometheus v3.14.0 (the
// image kube-prometheus-stack 88.5.3 pins) with translation strategy
// UnderscoreEscapingWithSuffixes. Followed upstream:
// - prometheus/prometheus v3.14.0 storage/remote/otlptranslator/prometheusremotewrite/
//   metrics_to_prw.go `setResourceContext`: job = service.namespace + "/" + service.name (bare
//   service.name without a namespace), instance = service.instance.id, promoted resource
//   attributes as labels (a data point's own attribute wins);
//   helper.go `createAttributes` (labels of a point: its attributes sanitised, colliding names
//   joined with ";", then promoted attributes, job, instance) and `addResourceTargetInfo`
//   (target_info: every resource attribute but service.namespace/name/instance.id, plus job and
//   instance; none when the resource has nothing else); histograms.go (classic histograms:
//   _bucket with le per bound and +Inf, _sum, _count).
//   metrics_to_prw.go `FromMetrics`: a sum is a MetricTypeMonotonicCounter or, not monotonic,
//   a MetricTypeNonMonotonicCounter (not a gauge); config/config.go `DefaultOTLPConfig`:
//   LabelNameUnderscoreSanitization and LabelNamePreserveMultipleUnderscores both true "for
//   backwards compatibility", which `setResourceContext` hands to the LabelNamer.
// - prometheus/otlptranslator v1.0.0 (the version v3.14.0 uses): metric_namer.go
//   `normalizeName` and unit_namer.go (unit and _total/_ratio suffixes: _ratio for gauges only),
//   strconv.go `sanitizeLabelName` and label_namer.go `LabelNamer.Build` (label names).

import type { Attributes, MetricPoint } from "./collected.ts";
import { loadYaml } from "./yaml.ts";

export const prometheusValues = "gitops/values/kube-prometheus-stack.yaml";

// metric_namer.go unitMap / perUnitMap.
const unitMap: Record<string, string> = {
  d: "days",
  h: "hours",
  min: "minutes",
  s: "seconds",
  ms: "milliseconds",
  us: "microseconds",
  ns: "nanoseconds",
  By: "bytes",
  KiBy: "kibibytes",
  MiBy: "mebibytes",
  GiBy: "gibibytes",
  TiBy: "tibibytes",
  KBy: "kilobytes",
  MBy: "megabytes",
  GBy: "gigabytes",
  TBy: "terabytes",
  m: "meters",
  V: "volts",
  A: "amperes",
  J: "joules",
  W: "watts",
  g: "grams",
  Cel: "celsius",
  Hz: "hertz",
  "1": "",
  "%": "percent",
};
const perUnitMap: Record<string, string> = {
  s: "second",
  m: "minute",
  h: "hour",
  d: "day",
  w: "week",
  mo: "month",
  y: "year",
};

const collapse = (s: string) => s.replace(/_+/g, "_");

// unit_namer.go cleanUpUnit: invalid characters to "_", runs collapsed, leading "_" trimmed.
const cleanUpUnit = (unit: string) =>
  collapse(unit.replace(/[^a-zA-Z0-9:]/g, "_")).replace(/^_/, "");

function unitSuffixes(unit: string): [main: string, per: string] {
  const [mainRaw = "", perRaw] = unit.split(/\/(.*)/s, 2);
  const main = mainRaw.trim();
  let mainSuffix = main && !/[{}]/.test(main) ? (unitMap[main] ?? main) : "";
  let perSuffix = "";
  if (perRaw) {
    const per = perRaw.trim();
    perSuffix = per && !/[{}]/.test(per) ? (perUnitMap[per] ?? per) : "";
    if (perSuffix) perSuffix = `per_${perSuffix}`;
  }
  mainSuffix = cleanUpUnit(mainSuffix);
  perSuffix = cleanUpUnit(perSuffix);
  return [mainSuffix, perSuffix];
}

/** otlptranslator's MetricType: "counter" is MetricTypeMonotonicCounter. */
export type MetricType = "counter" | "non-monotonic-counter" | "gauge" | "histogram";

/** The Prometheus metric family name of an OTLP metric (metric_namer.go normalizeName). */
export function metricName(name: string, unit: string, type: MetricType): string {
  let tokens = name.split(/[^a-zA-Z0-9:]+/).filter(Boolean);
  let [main, per] = unitSuffixes(unit);
  if (tokens.includes(main)) main = "";
  if (per === "per_") per = "";
  else {
    per = per.replace(/_$/, "");
    if (tokens.includes(per)) per = "";
  }
  if (per) main = main.replace(/_$/, "");
  if (main) tokens.push(main);
  if (per) tokens.push(per);
  if (type === "counter") tokens = [...tokens.filter((t) => t !== "total"), "total"];
  if (unit === "1" && type === "gauge") tokens = [...tokens.filter((t) => t !== "ratio"), "ratio"];
  const joined = tokens.join("_");
  return /^[0-9]/.test(joined) ? `_${joined}` : joined;
}

/** The options of otlptranslator's LabelNamer (UTF8Allowed false: underscore escaping). */
export interface LabelNamer {
  /** Prepend "key" to a name starting with a single "_". */
  underscoreLabelSanitization: boolean;
  /** Keep runs of "_" instead of collapsing them. */
  preserveMultipleUnderscores: boolean;
}

/** Prometheus v3.14.0's OTLP receiver with its default config (config.go DefaultOTLPConfig). */
export const prometheusLabelNamer: LabelNamer = {
  underscoreLabelSanitization: true,
  preserveMultipleUnderscores: true,
};

/** `otlptranslator.LabelNamer{}`, all options off: what Loki 3.7.6's OTLP ingestion uses. */
export const plainLabelNamer: LabelNamer = {
  underscoreLabelSanitization: false,
  preserveMultipleUnderscores: false,
};

/** A Prometheus label name for an OTLP attribute (strconv.go + label_namer.go, no UTF-8). */
export function labelName(attribute: string, namer: LabelNamer = prometheusLabelNamer): string {
  // Each invalid character (a code point, as Go ranges over runes) becomes "_".
  const underscored = (s: string) => s.replace(/[^a-zA-Z0-9]/gu, "_");
  let name: string;
  if (namer.preserveMultipleUnderscores) name = underscored(attribute);
  else {
    // Only when collapsing is a reserved __name__ kept apart from its underscores.
    const reserved = attribute.length >= 4 && /^__.*__$/s.test(attribute);
    name = collapse(underscored(reserved ? attribute.slice(2, -2) : attribute));
    if (reserved) name = `__${name}__`;
  }
  if (/^[0-9]/.test(name)) name = `key_${name}`;
  else if (namer.underscoreLabelSanitization && /^_(?!_)/.test(name)) name = `key${name}`;
  if (/^_*$/.test(name)) throw new Error(`label name ${attribute} normalises to ${name}`);
  return name;
}

/** The OTLP settings of the Prometheus resource (prometheusSpec.otlp in our values). */
export interface OtlpSettings {
  translationStrategy?: string;
  promoteResourceAttributes?: string[];
  keepIdentifyingResourceAttributes?: boolean;
  promoteAllResourceAttributes?: boolean;
  ignoreResourceAttributes?: string[];
  promoteScopeMetadata?: boolean;
  convertHistogramsToNHCB?: boolean;
  labelNameUnderscoreSanitization?: boolean;
  labelNamePreserveMultipleUnderscores?: boolean;
}

/** The OTLP settings our values give the Prometheus resource. */
export function prometheusOtlpSettings(valuesFile = prometheusValues): OtlpSettings {
  const values = loadYaml<{ prometheus?: { prometheusSpec?: { otlp?: OtlpSettings } } }>(
    valuesFile,
  );
  return values.prometheus?.prometheusSpec?.otlp ?? {};
}

export interface PromSeries {
  name: string;
  labels: Record<string, string>;
  /** service.name of the resource the series came from, for tests to find their series. */
  service: string;
}

const identifying = ["service.namespace", "service.name", "service.instance.id"];

/** Labels a resource gives each of its series: promoted attributes, job and instance. */
export function resourceLabels(
  resource: Attributes,
  settings: OtlpSettings,
): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const key of settings.promoteResourceAttributes ?? []) {
    if (key in resource) labels[labelName(key)] = resource[key] as string;
  }
  const service = resource["service.name"];
  if (service !== undefined) {
    const namespace = resource["service.namespace"];
    labels.job = namespace !== undefined ? `${namespace}/${service}` : service;
  }
  const instance = resource["service.instance.id"];
  if (instance !== undefined) labels.instance = instance;
  return labels;
}

function pointLabels(attributes: Attributes): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const key of Object.keys(attributes).sort()) {
    const name = labelName(key);
    const value = attributes[key] as string;
    labels[name] = labels[name] ? `${labels[name]};${value}` : value;
  }
  return labels;
}

// Prometheus drops labels with empty values.
const withoutEmpty = (labels: Record<string, string>) =>
  Object.fromEntries(Object.entries(labels).filter(([, v]) => v !== ""));

// Go's strconv.FormatFloat(bound, 'f', -1, 64) and JavaScript agree on these bounds (0.25, 10).
const formatBound = (bound: number) => String(bound);

/** The series Prometheus holds for a set of OTLP data points (with resources as enriched). */
export function translateMetrics(points: MetricPoint[], settings: OtlpSettings): PromSeries[] {
  if (
    (settings.translationStrategy ?? "UnderscoreEscapingWithSuffixes") !==
    "UnderscoreEscapingWithSuffixes"
  )
    throw new Error(
      `pipeline model: translation strategy ${settings.translationStrategy} is not modelled`,
    );
  for (const setting of [
    "promoteAllResourceAttributes",
    "ignoreResourceAttributes",
    "promoteScopeMetadata",
    "convertHistogramsToNHCB",
  ] as const) {
    if (settings[setting]) throw new Error(`pipeline model: otlp.${setting} is not modelled`);
  }
  // Whether the operator (v0.93.1) passes these on is not checked: refuse rather than guess.
  for (const setting of [
    "labelNameUnderscoreSanitization",
    "labelNamePreserveMultipleUnderscores",
  ] as const) {
    if (settings[setting] !== undefined)
      throw new Error(`pipeline model: otlp.${setting} is not modelled`);
  }
  const series = new Map<string, PromSeries>();
  const add = (name: string, labels: Record<string, string>, service: string) => {
    const clean = withoutEmpty(labels);
    const key = `${name}${JSON.stringify(Object.entries(clean).sort())}`;
    if (!series.has(key)) series.set(key, { name, labels: clean, service });
  };
  const resources = new Map<string, Attributes>();
  for (const point of points) {
    const resource = point.resource.attributes;
    const service = resource["service.name"] ?? "";
    resources.set(JSON.stringify(Object.entries(resource).sort()), resource);
    if (point.type !== "gauge" && point.temporality !== "AGGREGATION_TEMPORALITY_CUMULATIVE")
      throw new Error(
        `pipeline model: ${point.metric} is ${point.temporality}; Prometheus expects cumulative`,
      );
    // A data point's own attribute wins over a promoted resource attribute; job and instance win.
    const { job, instance, ...promoted } = resourceLabels(resource, settings);
    const labels = { ...promoted, ...pointLabels(point.attributes) };
    if (job !== undefined) labels.job = job;
    if (instance !== undefined) labels.instance = instance;
    switch (point.type) {
      case "gauge":
        add(metricName(point.metric, point.unit, "gauge"), labels, service);
        break;
      case "sum":
        add(
          metricName(
            point.metric,
            point.unit,
            point.monotonic ? "counter" : "non-monotonic-counter",
          ),
          labels,
          service,
        );
        break;
      case "histogram": {
        const family = metricName(point.metric, point.unit, "histogram");
        for (const le of [...(point.explicitBounds ?? []).map(formatBound), "+Inf"])
          add(`${family}_bucket`, { ...labels, le }, service);
        add(`${family}_sum`, labels, service);
        add(`${family}_count`, labels, service);
        break;
      }
      default:
        throw new Error(`pipeline model: ${point.type} metrics (${point.metric}) are not modelled`);
    }
  }
  for (const resource of resources.values()) {
    const rest = Object.keys(resource).filter((k) => !identifying.includes(k));
    if (rest.length === 0) continue;
    const ignored = settings.keepIdentifyingResourceAttributes ? [] : identifying;
    const attributes = Object.fromEntries(
      Object.entries(resource).filter(([k]) => !ignored.includes(k)),
    );
    const { job, instance } = resourceLabels(resource, {});
    if (job === undefined && instance === undefined) continue;
    add(
      "target_info",
      { ...pointLabels(attributes), job: job ?? "", instance: instance ?? "" },
      resource["service.name"] ?? "",
    );
  }
  return [...series.values()];
}
