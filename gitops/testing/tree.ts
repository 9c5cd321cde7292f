// The GitOps tree as Argo CD sees it, built offline: the root Application (gitops/root.yaml)
// renders gitops/apps with real helm; each child Application's project-local sources are rendered
// (local charts) or read (plain directories) into the objects they would deploy. Upstream chart
// sources cannot be rendered offline; the tests check their values files and a facts table.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { loadYaml, readText, repoRoot } from "../../model/yaml.ts";
import { renderChart } from "./helm.ts";
import { isKubeObject, type KubeObject, loadDocs } from "./load.ts";

export type HelmSpec = {
  releaseName?: string;
  valueFiles?: string[];
  values?: string;
  valuesObject?: Record<string, unknown>;
  parameters?: unknown[];
};

export type AppSource = {
  repoURL: string;
  targetRevision?: string;
  chart?: string;
  path?: string;
  ref?: string;
  helm?: HelmSpec;
  directory?: { recurse?: boolean; include?: string; exclude?: string };
};

export type SyncPolicy = {
  automated?: { prune?: boolean; selfHeal?: boolean };
  syncOptions?: string[];
  retry?: {
    limit?: number;
    backoff?: { duration?: string; factor?: number; maxDuration?: string };
  };
};

export type Application = KubeObject & {
  spec: {
    project: string;
    source?: AppSource;
    sources?: AppSource[];
    destination: { server?: string; name?: string; namespace?: string };
    syncPolicy?: SyncPolicy;
  };
};

export type Child = {
  app: Application;
  /** The gitops/apps template that produced it. */
  template: string;
  /** Objects from project-local sources, with their namespace defaulted to the destination. */
  objects: { from: string; object: KubeObject }[];
};

export const rootFile = "gitops/root.yaml";
export const appsChart = "gitops/apps";

export function sourcesOf(app: Application): AppSource[] {
  return app.spec.sources ?? (app.spec.source ? [app.spec.source] : []);
}

export function syncWave(app: KubeObject): number {
  const wave = app.metadata.annotations?.["argocd.argoproj.io/sync-wave"] ?? "0";
  if (!/^-?\d+$/.test(wave))
    throw new Error(`${app.metadata.name}: sync-wave "${wave}" is not an integer`);
  return Number(wave);
}

/** `$values/<path>` (or a path relative to the chart) → repository-relative file. */
export function resolveValueFile(file: string, chartPath: string | undefined): string {
  if (file.startsWith("$values/")) return file.slice("$values/".length);
  if (!chartPath) throw new Error(`value file ${file} is relative but the source has no path`);
  return relative(repoRoot, join(repoRoot, chartPath, file));
}

function directoryFiles(path: string, directory: AppSource["directory"]): string[] {
  const include = directory?.include ? new Bun.Glob(directory.include) : undefined;
  const exclude = directory?.exclude ? new Bun.Glob(directory.exclude) : undefined;
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(repoRoot, dir)).sort()) {
      const file = join(dir, entry);
      if (statSync(join(repoRoot, file)).isDirectory()) {
        if (directory?.recurse) walk(file);
        continue;
      }
      // Argo CD's directory source reads YAML and JSON manifests.
      if (!/\.(ya?ml|json)$/.test(entry)) continue;
      const rel = relative(path, file);
      if (include && !include.match(rel)) continue;
      if (exclude?.match(rel)) continue;
      files.push(file);
    }
  };
  walk(path);
  return files;
}

async function localObjects(app: Application, source: AppSource): Promise<Child["objects"]> {
  const path = source.path;
  if (!path) return [];
  if (!existsSync(join(repoRoot, path)))
    throw new Error(`${app.metadata.name}: source path ${path} does not exist`);
  const namespace = app.spec.destination.namespace ?? "default";
  let objects: Child["objects"];
  if (existsSync(join(repoRoot, path, "Chart.yaml"))) {
    const valueFiles = (source.helm?.valueFiles ?? []).map((file) => resolveValueFile(file, path));
    for (const file of valueFiles) {
      if (!existsSync(join(repoRoot, file)))
        throw new Error(`${app.metadata.name}: value file ${file} does not exist`);
    }
    if (source.helm?.values || source.helm?.parameters) {
      throw new Error(
        `${app.metadata.name}: inline helm values/parameters are not modelled here; use a values file`,
      );
    }
    const rendered = await renderChart(path, {
      release: source.helm?.releaseName ?? app.metadata.name,
      namespace,
      valueFiles,
      values: source.helm?.valuesObject,
    });
    objects = rendered.map(({ source: from, object }) => ({ from, object }));
  } else if (existsSync(join(repoRoot, path, "kustomization.yaml"))) {
    throw new Error(`${app.metadata.name}: kustomize sources are not supported by these tests`);
  } else {
    objects = directoryFiles(path, source.directory).flatMap((file) =>
      (file.endsWith(".json")
        ? [{ file, index: 0, value: JSON.parse(readText(file)) as unknown }]
        : loadDocs(file)
      )
        .filter((doc) => isKubeObject(doc.value))
        .map((doc) => ({ from: file, object: doc.value as KubeObject })),
    );
  }
  for (const { object } of objects) {
    object.metadata.namespace ??= namespace;
  }
  return objects;
}

/** `projects`: AppProjects the app-of-apps renders (none: bootstrap applies them, outside git). */
export type Tree = { root: Application; children: Child[]; projects: KubeObject[] };

const cached = new Map<string, Promise<Tree>>();

/**
 * The whole tree, built once per test run and set of root values. `rootValues` are added to the
 * root's helm.valuesObject the way bootstrap adds them (e.g. profile: cluster, imageRegistry).
 */
export function loadTree(rootValues: Record<string, unknown> = {}): Promise<Tree> {
  const key = JSON.stringify(rootValues);
  let tree = cached.get(key);
  if (!tree) {
    tree = buildTree(rootValues);
    cached.set(key, tree);
  }
  return tree;
}

async function buildTree(rootValues: Record<string, unknown>): Promise<Tree> {
  const root = loadYaml<Application>(rootFile);
  const source = root.spec.source;
  if (!source?.path)
    throw new Error(`${rootFile}: the root Application needs a single source with a path`);
  if (source.helm && Object.keys(rootValues).length > 0)
    source.helm.valuesObject = { ...source.helm.valuesObject, ...rootValues };
  const rendered = await renderChart(source.path, {
    release: root.metadata.name,
    namespace: root.spec.destination.namespace ?? "argocd",
    values: source.helm?.valuesObject,
  });
  const children: Child[] = [];
  const projects: KubeObject[] = [];
  for (const { source: template, object } of rendered) {
    if (object.kind === "AppProject") {
      projects.push(object);
      continue;
    }
    if (object.kind !== "Application") {
      throw new Error(
        `${template}: the app-of-apps chart renders only Applications and AppProjects, found ${object.kind}`,
      );
    }
    const app = object as Application;
    const objects = (await Promise.all(sourcesOf(app).map((s) => localObjects(app, s)))).flat();
    children.push({ app, template, objects });
  }
  return { root, children, projects };
}
