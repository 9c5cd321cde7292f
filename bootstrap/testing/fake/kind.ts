// kind: clusters created, listed, deleted, and images loaded into their node.
import { DAEMON_DOWN } from "./docker.ts";
import { type Answer, type FakeState, flag } from "./state.ts";

export function kind(s: FakeState, args: string[]): Answer {
  const name = flag(args, "--name") ?? "kind";
  const [cmd, what] = args;
  if (cmd === "version") return { out: `kind v${s.versions.kind} go1.24.6 linux/amd64\n` };
  if (!s.dockerRunning) {
    return {
      err: `ERROR: failed to list clusters: command "docker ps -a" failed: ${DAEMON_DOWN}\n`,
      code: 1,
    };
  }
  if (cmd === "get" && what === "clusters") {
    return s.clusters.length
      ? { out: `${s.clusters.join("\n")}\n` }
      : { err: "No kind clusters found.\n" };
  }
  if (cmd === "get" && what === "nodes") {
    return s.clusters.includes(name)
      ? { out: `${name}-control-plane\n` }
      : { err: `No kind nodes found for cluster "${name}".\n` };
  }
  if (cmd === "create" && what === "cluster") {
    if (s.clusters.includes(name)) {
      return {
        err: `ERROR: failed to create cluster: node(s) already exist for a cluster with the name "${name}"\n`,
        code: 1,
      };
    }
    s.clusters.push(name);
    return {
      err: `Creating cluster "${name}" ...\n ✓ Ensuring node image (kindest/node:v1.36.1) 🖼\nSet kubectl context to "kind-${name}"\n`,
    };
  }
  if (cmd === "load" && what === "docker-image") {
    const ref = args[2] ?? "";
    if (!s.images.includes(ref)) {
      return { err: `ERROR: image: "${ref}" not present locally\n`, code: 1 };
    }
    s.loaded.push(`docker.io/${ref}`);
    return {
      err: `Image: "${ref}" with ID "sha256:1" not yet present on node "${name}-control-plane", loading...\n`,
    };
  }
  if (cmd === "export" && what === "kubeconfig") {
    s.lostContexts = (s.lostContexts ?? []).filter((c) => c !== name);
    return { err: `Set kubectl context to "kind-${name}"\n` };
  }
  if (cmd === "delete" && what === "cluster") {
    s.clusters = s.clusters.filter((c) => c !== name);
    s.loaded = [];
    return { err: `Deleting cluster "${name}" ...\nDeleted nodes: ["${name}-control-plane"]\n` };
  }
  return { err: `fake kind: unsupported ${args.join(" ")}\n`, code: 2 };
}
