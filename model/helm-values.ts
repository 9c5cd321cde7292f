// The values an upstream chart is rendered with, computed the way Helm computes them: value
// files merged in order, then coalesced with the chart's own defaults. Upstream charts cannot be
// rendered offline, so the defaults the model needs are recorded as facts (chart-defaults.ts) and helm-values.test.ts checks the model against the real helm binary.
//
// Followed upstream (helm/helm):
// - v3.19.4 pkg/cli/values/options.go `mergeMaps`: each later file's maps merge into the earlier
//   ones; anything else, null included, replaces. Nulls survive this step.
// - v3.19.4 pkg/chartutil/coalesce.go, v4.1.4 pkg/chart/common/util/coalesce.go
//   (`coalesceValues`, `coalesceTablesFullKey`): the merged values are coalesced with the
//   chart's values.yaml. A null removes a key only where the defaults have that key; for any
//   other key the null stays and is rendered. Helm 4.1.4 also keeps a nested null whose default
//   is itself null (`srcOriginalNonNil`); Helm 3.19.4 removes it. A template sees nil both ways.
// - Subcharts: the parent coalesces a subchart's table with merge=true (`childChartMergeTrue`,
//   nulls kept), then the subchart coalesces it with its own defaults, so a null under
//   `grafana.` is decided by the grafana chart's values.yaml. The facts record those keys under
//   the subchart's key.

export type Values = Record<string, unknown>;

/** Which Helm's coalescing: Argo CD 3.4.4 renders with 3.19.4; .cache/tools has 4.1.4. */
export type HelmVersion = "3.19.4" | "4.1.4";

/**
 * The defaults of one pinned chart that the model needs: a partial tree of its values.yaml.
 * Every map that holds one of our nulls must be recorded; a key missing from a recorded map makes
 * the model keep the null, the cautious side (a surviving null is what breaks a chart).
 */
export type ChartDefaults = { chart: string; version: string; defaults: Values };

export function isMap(value: unknown): value is Values {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** mergeMaps: a later value file over an earlier one. */
export function mergeValueFiles(base: Values, over: Values): Values {
  const out: Values = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isMap(value) && isMap(current) ? mergeValueFiles(current, value) : value;
  }
  return out;
}

/** Throws for a null whose map is not recorded: the model could not tell whether Helm keeps it. */
function assertRecorded(user: Values, defaults: unknown, path: string[], chart: ChartDefaults) {
  for (const [key, value] of Object.entries(user)) {
    const at = [...path, key];
    if (value === null && !isMap(defaults))
      throw new Error(
        `helm model: ${chart.chart} ${chart.version}: a null at ${at.join(".")} needs the keys of ${path.join(".")} in the chart's values.yaml recorded in model/chart-defaults.ts`,
      );
    if (isMap(value)) assertRecorded(value, isMap(defaults) ? defaults[key] : undefined, at, chart);
  }
}

function coalesceTable(
  user: Values,
  defaults: Values,
  topLevel: boolean,
  helm: HelmVersion,
): Values {
  const out: Values = { ...user };
  for (const [key, fallback] of Object.entries(defaults)) {
    if (!(key in user)) {
      out[key] = fallback;
      continue;
    }
    const value = user[key];
    if (value === null) {
      if (helm === "3.19.4" || topLevel || fallback !== null) delete out[key];
    } else if (isMap(value) && isMap(fallback)) {
      out[key] = coalesceTable(value, fallback, false, helm);
    }
  }
  return out;
}

/** The values `helm template -f <files...>` gives the chart's templates. */
export function chartValues(
  chart: ChartDefaults,
  layers: Values[],
  helm: HelmVersion = "3.19.4",
): Values {
  const merged = layers.reduce<Values>((base, layer) => mergeValueFiles(base, layer), {});
  assertRecorded(merged, chart.defaults, [], chart);
  // A copy, as Helm copies the chart's values: the result must not share the recorded facts.
  return coalesceTable(merged, structuredClone(chart.defaults), true, helm);
}
