// Reads the PrometheusRule manifests in gitops/alerts/ (what Argo CD applies) and returns
// their rule groups, the shape promtool and Prometheus rule files use.
import { Glob } from "bun";

export interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  rules: Rule[];
}

export const alertsDir = import.meta.dir;

export async function loadRuleGroups(dir = alertsDir): Promise<RuleGroup[]> {
  const groups: RuleGroup[] = [];
  for (const file of [...new Glob("*.yaml").scanSync(dir)].sort()) {
    const manifest = Bun.YAML.parse(await Bun.file(`${dir}/${file}`).text()) as {
      kind?: string;
      spec?: { groups?: RuleGroup[] };
    };
    if (manifest.kind !== "PrometheusRule") continue;
    groups.push(...(manifest.spec?.groups ?? []));
  }
  return groups;
}
