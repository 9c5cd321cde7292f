// docker and its buildx plugin: images built, inspected and pushed, kind's node containers.
import { type Answer, type FakeState, flag } from "./state.ts";

export const DAEMON_DOWN =
  "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?";

export function docker(s: FakeState, args: string[]): Answer {
  const [cmd, sub] = args;
  if (cmd === "version") {
    return s.dockerRunning
      ? { out: `${s.versions.docker}\n` }
      : { out: `${s.versions.docker}\n`, err: `${DAEMON_DOWN}\n`, code: 1 };
  }
  // The CLI looks for its plugins before it talks to the daemon.
  if (cmd === "buildx" && s.buildxMissing)
    return { err: "docker: 'buildx' is not a docker command.\nSee 'docker --help'\n", code: 1 };
  if (!s.dockerRunning) return { err: `${DAEMON_DOWN}\n`, code: 1 };
  if (cmd === "info") return { out: `${s.versions.docker}\n` };
  if (cmd === "buildx") return buildx(s, args.slice(1));
  if (cmd === "image" && sub === "inspect") {
    const ref = args.at(-1) ?? "";
    return s.images.includes(ref)
      ? { out: `sha256:${Bun.hash(ref).toString(16).padStart(16, "0")}\n` }
      : { out: "\n", err: `Error response from daemon: No such image: ${ref}\n`, code: 1 };
  }
  if (cmd === "build") {
    const ref = flag(args, "--tag", "-t") ?? "";
    s.images.push(ref);
    return {
      err: `#0 building with "default" instance using docker driver\n#12 naming to docker.io/${ref} done\n`,
    };
  }
  if (cmd === "inspect") {
    const node = args.at(-1) ?? "";
    if (!s.clusters.some((c) => node === `${c}-control-plane`)) {
      return { out: "\n", err: `Error: No such object: ${node}\n`, code: 1 };
    }
    return { out: `${!s.stoppedNodes?.includes(node)}\n` };
  }
  if (cmd === "start") {
    s.stoppedNodes = (s.stoppedNodes ?? []).filter((n) => !args.includes(n));
    return { out: `${args.slice(1).join("\n")}\n` };
  }
  if (cmd === "exec" && args.includes("crictl")) {
    const node = args[1] ?? "";
    if (!s.clusters.some((c) => node === `${c}-control-plane`)) {
      return { err: `Error response from daemon: No such container: ${node}\n`, code: 1 };
    }
    const images = s.loaded.map((tag, i) => ({
      id: `sha256:${i}`,
      repoTags: [tag],
      repoDigests: [],
      size: "52428800",
      uid: null,
      username: "",
      spec: null,
      pinned: false,
    }));
    return { out: `${JSON.stringify({ images }, null, 2)}\n` };
  }
  return { err: `fake docker: unsupported ${args.join(" ")}\n`, code: 2 };
}

function buildx(s: FakeState, args: string[]): Answer {
  const [cmd, sub] = args;
  if (cmd === "version") return { out: "github.com/docker/buildx v0.29.1 a1b2c3d4\n" };
  if (cmd === "imagetools" && sub === "inspect") {
    const ref = args.at(-1) ?? "";
    const platforms = s.pushed?.[ref];
    if (!platforms) return { err: `ERROR: ${ref}: not found\n`, code: 1 };
    return {
      out: `Name:      ${ref}\nMediaType: application/vnd.oci.image.index.v1+json\nDigest:    sha256:${Bun.hash(ref).toString(16).padStart(64, "0")}\n\nManifests:\n${platforms
        .map(
          (p) =>
            `  Name:      ${ref}@sha256:${Bun.hash(ref + p)
              .toString(16)
              .padStart(
                64,
                "0",
              )}\n  MediaType: application/vnd.oci.image.manifest.v1+json\n  Platform:  ${p}\n`,
        )
        .join("\n")}`,
    };
  }
  if (cmd === "build") {
    const ref = flag(args, "--tag", "-t") ?? "";
    const platforms = (flag(args, "--platform") ?? "linux/amd64").split(",");
    if (!args.includes("--push"))
      return { err: "fake docker buildx: only --push builds are modelled\n", code: 2 };
    const host = ref.split("/")[0] ?? "";
    if (s.refusingRegistries?.includes(host)) {
      return {
        err: `#12 ERROR: failed to push ${ref}: unexpected status from HEAD request to https://${host}/v2/: 401 Unauthorized\nERROR: failed to solve: failed to push ${ref}: unauthorized: authentication required\n`,
        code: 1,
      };
    }
    s.pushed = { ...s.pushed, [ref]: platforms };
    return {
      err: `#0 building with "default" instance using docker-container driver\n#15 pushing layers done\n#15 pushing manifest for ${ref} done\n`,
    };
  }
  return { err: `fake docker buildx: unsupported ${args.join(" ")}\n`, code: 2 };
}
