// The read-only questions bootstrap asks about a cluster, in one place: state.ts asks them,
// plan.ts shows one in a step, and a test checks each against the real binaries.
import { ARGOCD, GIT_SERVER, GRAFANA_SECRET, OBJECT_STORAGE_SECRET, ROOT_APP } from "./names.ts";

/**
 * The read-only questions bootstrap asks kubectl and helm about a cluster. Kept as data so a
 * test can check every one against the real binaries.
 */
export function clusterQueries(context: string) {
  const kubectl = (...args: string[]) => ["kubectl", "--context", context, ...args];
  const helm = (...args: string[]) => [
    "helm",
    ...args,
    "--kube-context",
    context,
    "--namespace",
    ARGOCD.namespace,
    "--output",
    "json",
  ];
  const ifExists = (...args: string[]) => kubectl("get", ...args, "--ignore-not-found", "-o");
  return {
    contexts: ["kubectl", "config", "get-contexts", "--output", "name"],
    helmReleases: helm("list"),
    helmValues: helm("get", "values", ARGOCD.release),
    monitoringNamespace: [...ifExists("namespace", GRAFANA_SECRET.namespace), "name"],
    grafanaSecret: [
      ...ifExists("secret", GRAFANA_SECRET.name, "-n", GRAFANA_SECRET.namespace),
      "name",
    ],
    objectStorageSecret: [
      ...ifExists("secret", OBJECT_STORAGE_SECRET.name, "-n", OBJECT_STORAGE_SECRET.namespace),
      "name",
    ],
    gitServer: [...ifExists("deployment", GIT_SERVER.name, "-n", GIT_SERVER.namespace), "json"],
    rootApp: [
      ...ifExists("applications.argoproj.io", ROOT_APP.name, "-n", ROOT_APP.namespace),
      "json",
    ],
    projects: kubectl("get", "appprojects.argoproj.io", "-n", ARGOCD.namespace, "-o", "json"),
    applications: kubectl("get", "applications.argoproj.io", "-n", ARGOCD.namespace, "-o", "json"),
  };
}
