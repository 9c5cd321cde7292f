// docker and its buildx plugin: images built, pulled, inspected and pushed, kind's node
// containers, and containers run by `docker run` (bun run dev --stack's grafana/otel-lgtm).
import { type Answer, type FakeContainer, type FakeState, flag } from "./state.ts";

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
  const answer = containers(s, args);
  if (answer) return answer;
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

const RUN_HELP = "\nRun 'docker run --help' for more information\n";
const noSuchContainer = (name: string): Answer => ({
  err: `Error response from daemon: No such container: ${name}\n`,
  code: 1,
});

/**
 * pull, run, container inspect, exec, logs and rm of containers started with `docker run`, in
 * Docker 28's wording and exit codes: the CLI's own failures of `docker run` exit 125, a
 * container that fails to start stays behind, created (its name taken) and not running.
 */
function containers(s: FakeState, args: string[]): Answer | undefined {
  const [cmd, sub] = args;
  const all = s.containers ?? {};
  if (cmd === "pull") {
    const ref = args.at(-1) ?? "";
    if (s.registryUnreachable)
      return {
        err: 'Error response from daemon: Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host\n',
        code: 1,
      };
    const [repo, tag] = ref.split(":");
    if (!s.images.includes(ref)) s.images.push(ref);
    return {
      out: `${tag}: Pulling from ${repo}\n4f4fb700ef54: Pull complete\nDigest: sha256:${Bun.hash(ref).toString(16).padStart(64, "0")}\nStatus: Downloaded newer image for ${ref}\ndocker.io/${ref}\n`,
    };
  }
  if (cmd === "run") {
    const valued = [
      "--name",
      "--pull",
      "--publish",
      "-p",
      "--volume",
      "-v",
      "--env",
      "-e",
      "--env-file",
    ];
    const values = (names: string[]) =>
      args.flatMap((a, i) => (names.includes(a) ? [args[i + 1] ?? ""] : []));
    const image = args.find(
      (a, i) => i > 0 && !a.startsWith("-") && !valued.includes(args[i - 1] ?? ""),
    );
    const name = flag(args, "--name") ?? "";
    if (!image || !args.includes("--detach"))
      return { err: `fake docker: only detached runs of an image are modelled\n`, code: 2 };
    if (!s.images.includes(image)) {
      if (flag(args, "--pull") === "never")
        return {
          err: `docker: Error response from daemon: No such image: ${image}\n${RUN_HELP}`,
          code: 125,
        };
      return { err: "fake docker: run pulls nothing; pull first\n", code: 2 };
    }
    const existing = all[name];
    if (existing)
      return {
        err: `docker: Error response from daemon: Conflict. The container name "/${name}" is already in use by container "${existing.id}". You have to remove (or rename) that container to be able to reuse that name.\n${RUN_HELP}`,
        code: 125,
      };
    const id = Bun.hash(`${name}${Object.keys(all).length}${Date.now()}`)
      .toString(16)
      .padStart(64, "0");
    const published = Object.fromEntries(
      values(["--publish", "-p"]).map((p) => {
        const parts = p.split(":");
        return [parts.slice(0, -1).join(":"), Number(parts.at(-1))];
      }),
    );
    const container: FakeContainer = {
      id,
      image,
      running: false,
      published,
      volumes: values(["--volume", "-v"]),
      env: values(["--env", "-e"]),
      envFiles: values(["--env-file"]),
      checks: 0,
      logs: "",
    };
    s.containers = { ...all, [name]: container };
    const busy = Object.keys(published).find((hostPort) =>
      s.busyPorts?.includes(Number(hostPort.split(":").at(-1))),
    );
    if (busy)
      return {
        err: `docker: Error response from daemon: failed to set up container networking: driver failed programming external connectivity on endpoint ${name} (${id.slice(0, 12)}): Bind for ${busy} failed: port is already allocated\n${RUN_HELP}`,
        code: 125,
      };
    container.running = true;
    container.logs = `Starting ${image.replace(/:(\d)/, " v$1")}\nWaiting for the OpenTelemetry collector and the Grafana LGTM stack to start up...\n`;
    return { out: `${id}\n` };
  }
  if (cmd === "container" && sub === "inspect") {
    const name = args.at(-1) ?? "";
    const container = all[name];
    if (!container) return { out: "\n", err: `Error: No such container: ${name}\n`, code: 1 };
    return { out: `${container.running}\n` };
  }
  if (cmd === "exec" && sub && all[sub]) {
    const container = all[sub];
    if (!container.running)
      return {
        err: `Error response from daemon: container ${container.id} is not running\n`,
        code: 1,
      };
    if (args.slice(2).join(" ") !== "test -e /tmp/ready")
      return { err: `fake docker: unsupported exec ${args.slice(2).join(" ")}\n`, code: 2 };
    container.checks++;
    if (s.containerCrashLog) {
      container.running = false;
      container.logs += s.containerCrashLog;
      return { code: 1 };
    }
    if (container.checks <= (s.containerStartChecks ?? 1)) return { code: 1 };
    container.logs +=
      "The OpenTelemetry collector and the Grafana LGTM stack are up and running. (created /tmp/ready)\n";
    return { code: 0 };
  }
  if (cmd === "logs") {
    const name = args.at(-1) ?? "";
    const container = all[name];
    if (!container) return noSuchContainer(name);
    const tail = Number(flag(args, "--tail") ?? "Infinity");
    return { out: `${container.logs.trimEnd().split("\n").slice(-tail).join("\n")}\n` };
  }
  if (cmd === "rm") {
    const names = args.slice(1).filter((a) => !a.startsWith("-"));
    const out: string[] = [];
    for (const name of names) {
      const container = all[name];
      if (!container) return noSuchContainer(name);
      if (container.running && !args.includes("--force") && !args.includes("-f"))
        return {
          err: `Error response from daemon: cannot remove container "/${name}": container is running: stop the container before removing or force remove\n`,
          code: 1,
        };
      delete all[name];
      out.push(name);
    }
    s.containers = all;
    return { out: out.map((n) => `${n}\n`).join("") };
  }
  return undefined;
}
