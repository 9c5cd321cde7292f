// helm: the argocd release installed, upgraded, read back and uninstalled.
import { contextError } from "./kubectl.ts";
import { type Answer, type FakeState, flag } from "./state.ts";

/** Maps merge, everything else replaces: helm's merge of several --values files. */
function mergeValues(base: unknown, over: unknown): unknown {
  const isMap = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isMap(base) || !isMap(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = mergeValues(out[key], value);
  return out;
}

export async function helm(s: FakeState, args: string[], cwd: string): Promise<Answer> {
  if (args[0] === "version") return { out: `v${s.versions.helm}+g05fa379\n` };
  const bad = contextError(s, flag(args, "--kube-context"), "version");
  if (bad) return { err: `Error: Kubernetes cluster unreachable: ${bad.err}`, code: 1 };
  if (args[0] === "list") {
    const r = s.helmRelease;
    return {
      out: `${JSON.stringify(r ? [{ name: "argocd", namespace: "argocd", revision: "1", updated: "2026-11-25 19:40:00.123456 +0000 UTC", status: r.status, chart: r.chart, app_version: "v3.4.4" }] : [])}\n`,
    };
  }
  if (args[0] === "get" && args[1] === "values") {
    return s.helmRelease
      ? { out: `${JSON.stringify(s.helmRelease.values)}\n` }
      : { err: "Error: release: not found\n", code: 1 };
  }
  if (args[0] === "upgrade" && args.includes("--install")) {
    const valuesPaths = args.flatMap((a, i) =>
      a === "--values" || a === "-f" ? [args[i + 1] ?? ""] : [],
    );
    const texts = await Promise.all(
      valuesPaths.map((path) => Bun.file(path.startsWith("/") ? path : `${cwd}/${path}`).text()),
    );
    const values = texts
      .map((text) => Bun.YAML.parse(text))
      .reduce((merged: unknown, next) => mergeValues(merged, next), {});
    const installing = !s.helmRelease;
    s.helmRelease = { chart: `argo-cd-${flag(args, "--version")}`, status: "deployed", values };
    s.namespaces.push("argocd");
    // argocd-server creates `default`, allowing everything, when it is missing
    // (server/server.go initializeDefaultProject, Argo CD v3.4.4).
    s.projects = {
      default: {
        sourceRepos: ["*"],
        destinations: [{ server: "*", namespace: "*" }],
        clusterResourceWhitelist: [{ group: "*", kind: "*" }],
      },
      ...s.projects,
    };
    return {
      out: `${installing ? 'Release "argocd" does not exist. Installing it now.\n' : ""}NAME: argocd\nLAST DEPLOYED: Wed Nov 25 19:40:00 2026\nNAMESPACE: argocd\nSTATUS: deployed\nREVISION: 1\n`,
    };
  }
  if (args[0] === "uninstall") {
    if (!s.helmRelease)
      return { err: "Error: uninstall: Release not loaded: argocd: release: not found\n", code: 1 };
    s.helmRelease = undefined;
    return { out: 'release "argocd" uninstalled\n' };
  }
  return { err: `fake helm: unsupported ${args.join(" ")}\n`, code: 2 };
}
