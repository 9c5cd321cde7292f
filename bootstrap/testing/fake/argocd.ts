// Argo CD as kubectl shows it: the root Application and the children the app-of-apps renders.
import type { FakeState } from "./state.ts";

/** Children only the cluster profile renders (gitops/apps/templates/seaweedfs.yaml). */
export const CLUSTER_ONLY_APPS = ["seaweedfs"];
/** The app-of-apps' children in the cluster profile: one template per child Application. */
export const CLUSTER_CHILD_APPS = [
  ...new Bun.Glob("*.yaml").scanSync(`${import.meta.dir}/../../../gitops/apps/templates`),
]
  .map((file) => file.slice(0, -".yaml".length))
  .sort();
/** The laptop profile's children. */
export const CHILD_APPS = CLUSTER_CHILD_APPS.filter((app) => !CLUSTER_ONLY_APPS.includes(app));

/** The children the applied root Application's profile renders. */
export function childApps(s: FakeState): string[] {
  const source = (
    s.rootApp?.spec as { source?: { helm?: { valuesObject?: { profile?: string } } } }
  )?.source;
  return source?.helm?.valuesObject?.profile === "cluster" ? CLUSTER_CHILD_APPS : CHILD_APPS;
}

export function application(name: string, s: FakeState): Record<string, unknown> {
  const degraded = name === s.degradedApp;
  const phase = s.polls <= 1 ? "missing" : s.polls === 2 ? "progressing" : "done";
  const sync = phase === "missing" ? "OutOfSync" : "Synced";
  const health =
    degraded && phase === "done"
      ? "Degraded"
      : phase === "missing"
        ? "Missing"
        : phase === "progressing"
          ? "Progressing"
          : "Healthy";
  const resources =
    name === "root"
      ? childApps(s).map((child) => ({
          group: "argoproj.io",
          version: "v1alpha1",
          kind: "Application",
          namespace: "argocd",
          name: child,
          status: "Synced",
          health: { status: child === s.degradedApp && phase === "done" ? "Degraded" : health },
        }))
      : [
          {
            group: "apps",
            version: "v1",
            kind: "Deployment",
            namespace: name === "api-gateway" || name === "user-service" ? "apps" : "monitoring",
            name,
            status: sync,
            health:
              degraded && phase === "done"
                ? {
                    status: "Degraded",
                    message: `Deployment "${name}" exceeded its progress deadline`,
                  }
                : { status: health },
          },
        ];
  const rootDegraded = name === "root" && s.degradedApp && phase === "done";
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Application",
    metadata: { name, namespace: "argocd" },
    spec: name === "root" ? (s.rootApp?.spec ?? {}) : { project: "observability" },
    status: {
      sync: { status: sync, revision: "0123456789abcdef0123456789abcdef01234567" },
      health: { status: rootDegraded ? "Degraded" : health },
      operationState: {
        phase: phase === "missing" ? "Running" : "Succeeded",
        message: "successfully synced (all tasks run)",
      },
      resources,
    },
  };
}
