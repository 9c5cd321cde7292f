// Argo CD Application status: parsing `kubectl get applications -o json`, the table, and
// the "what is holding it back" explanation printed when the wait times out.

export interface AppResource {
  kind: string;
  name: string;
  namespace?: string;
  status?: string;
  health?: { status?: string; message?: string };
}

export interface Application {
  metadata: { name: string };
  status?: {
    sync?: { status?: string };
    health?: { status?: string; message?: string };
    conditions?: { type: string; message?: string }[];
    operationState?: { phase?: string; message?: string };
    resources?: AppResource[];
  };
}

export interface AppRow {
  name: string;
  sync: string;
  health: string;
  message: string;
}

export function parseApplications(json: string): Application[] {
  const list = JSON.parse(json) as { items?: Application[] };
  return (list.items ?? []).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

export const isReady = (app: Application) =>
  app.status?.sync?.status === "Synced" && app.status?.health?.status === "Healthy";

/** Child Applications the root lists among its resources but that do not exist yet. */
export function missingChildren(apps: Application[], rootName: string): string[] {
  const names = new Set(apps.map((a) => a.metadata.name));
  const root = apps.find((a) => a.metadata.name === rootName);
  return (root?.status?.resources ?? [])
    .filter((r) => r.kind === "Application" && !names.has(r.name))
    .map((r) => r.name);
}

/** Every Application Synced and Healthy, the root among them, and none it declares missing. */
export function allReady(apps: Application[], rootName: string): boolean {
  return (
    apps.some((a) => a.metadata.name === rootName) &&
    apps.every(isReady) &&
    missingChildren(apps, rootName).length === 0
  );
}

export function rows(apps: Application[]): AppRow[] {
  return apps.map((app) => ({
    name: app.metadata.name,
    sync: app.status?.sync?.status ?? "Unknown",
    health: app.status?.health?.status ?? "Unknown",
    message: isReady(app) ? "" : (reasons(app)[0] ?? ""),
  }));
}

/** Why an Application is not ready: its conditions, failed operation, and unhealthy resources. */
export function reasons(app: Application): string[] {
  const out: string[] = [];
  for (const condition of app.status?.conditions ?? []) {
    out.push(`${condition.type}: ${condition.message ?? ""}`.trim());
  }
  const op = app.status?.operationState;
  if (op?.phase && op.phase !== "Succeeded" && op.phase !== "Running" && op.message) {
    out.push(`sync ${op.phase}: ${op.message}`);
  }
  for (const r of app.status?.resources ?? []) {
    const health = r.health?.status;
    const unhealthy = health && health !== "Healthy";
    const outOfSync = r.status && r.status !== "Synced";
    if (!unhealthy && !outOfSync) continue;
    const where = r.namespace ? `${r.namespace}/${r.name}` : r.name;
    const state = [r.status, health].filter(Boolean).join("/");
    out.push(`${r.kind} ${where} ${state}${r.health?.message ? `: ${r.health.message}` : ""}`);
  }
  if (out.length === 0 && app.status?.health?.message) out.push(app.status.health.message);
  return out;
}

/** The timeout explanation: each Application not ready with what holds it back. */
export function explainNotReady(apps: Application[], rootName: string): string {
  const lines: string[] = [];
  for (const app of apps.filter((a) => !isReady(a))) {
    const row = rows([app])[0];
    lines.push(`  ${app.metadata.name} (sync ${row?.sync}, health ${row?.health})`);
    for (const reason of reasons(app).slice(0, 6)) lines.push(`    - ${reason}`);
  }
  for (const name of missingChildren(apps, rootName)) {
    lines.push(`  ${name} (declared by ${rootName}, not created yet)`);
  }
  if (apps.length === 0)
    lines.push("  no Applications exist yet (the root Application was not created?)");
  return lines.join("\n");
}

export function renderTable(table: AppRow[], width = 120): string {
  const headers: AppRow = {
    name: "APPLICATION",
    sync: "SYNC",
    health: "HEALTH",
    message: "WAITING ON",
  };
  const all = [headers, ...table];
  const w = (key: keyof AppRow) => Math.max(...all.map((r) => r[key].length));
  const [nw, sw, hw] = [w("name"), w("sync"), w("health")];
  return all
    .map((r) => {
      const line = `${r.name.padEnd(nw)}  ${r.sync.padEnd(sw)}  ${r.health.padEnd(hw)}  ${r.message}`;
      return (line.length > width ? `${line.slice(0, width - 1)}…` : line).trimEnd();
    })
    .join("\n");
}
