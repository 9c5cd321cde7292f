// Preflight: everything up.ts needs, checked before any change, every problem reported at once.
import { join } from "node:path";
import { buildInputs, committedTag, contentTag, valuesFile } from "./image-tag.ts";
import { ARGOCD, ROOT_APP, SERVICES } from "./names.ts";
import { exec } from "./run.ts";

export interface Problem {
  problem: string;
  fix: string;
}

export interface ToolReport {
  problems: Problem[];
  found: string[];
  dockerReachable: boolean;
}

interface Tool {
  name: string;
  minimum: string;
  versionArgv: string[];
  parse: (stdout: string) => string | undefined;
  install: string;
}

const TOOLS: Tool[] = [
  {
    name: "docker",
    minimum: "20.10.0",
    versionArgv: ["docker", "version", "--format", "{{.Client.Version}}"],
    parse: (out) => /(\d+\.\d+(?:\.\d+)?)/.exec(out)?.[1],
    install:
      "macOS: brew install --cask docker (Docker Desktop) · Linux: curl -fsSL https://get.docker.com | sh",
  },
  {
    name: "kind",
    // kind-config.yaml pins the node image of kind v0.32.0's release (Kubernetes 1.36).
    minimum: "0.32.0",
    versionArgv: ["kind", "version"],
    parse: (out) => /v(\d+\.\d+\.\d+)/.exec(out)?.[1],
    install:
      "macOS: brew install kind · Linux: go install sigs.k8s.io/kind@v0.32.0, or the release binary from https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
  },
  {
    name: "kubectl",
    // Within one minor version of the cluster's Kubernetes 1.36 (the supported skew).
    minimum: "1.35.0",
    versionArgv: ["kubectl", "version", "--client", "--output", "json"],
    parse: (out) => {
      try {
        return /v?(\d+\.\d+\.\d+)/.exec(JSON.parse(out).clientVersion?.gitVersion ?? "")?.[1];
      } catch {
        return undefined;
      }
    },
    install:
      'macOS: brew install kubectl · Linux: curl -LO "https://dl.k8s.io/release/$(curl -Ls https://dl.k8s.io/release/stable.txt)/bin/linux/amd64/kubectl" && sudo install kubectl /usr/local/bin/',
  },
  {
    name: "helm",
    minimum: "3.14.0",
    versionArgv: ["helm", "version", "--short"],
    parse: (out) => /v(\d+\.\d+\.\d+)/.exec(out)?.[1],
    install:
      "macOS: brew install helm · Linux: sudo snap install helm --classic, or see https://helm.sh/docs/intro/install/",
  },
  {
    name: "git",
    minimum: "2.30.0",
    versionArgv: ["git", "--version"],
    parse: (out) => /(\d+\.\d+\.\d+)/.exec(out)?.[1],
    install:
      "macOS: xcode-select --install (or brew install git) · Linux: sudo apt-get install git",
  },
];

export function versionAtLeast(version: string, minimum: string): boolean {
  const a = version.split(".").map(Number);
  const b = minimum.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

/** Builds the images for an existing cluster's node architectures and pushes them (--context). */
const BUILDX: Tool = {
  name: "docker buildx",
  minimum: "0.10.0",
  versionArgv: ["docker", "buildx", "version"],
  parse: (out) => /v(\d+\.\d+\.\d+)/.exec(out)?.[1],
  install:
    "Docker Desktop includes it · Linux: sudo apt-get install docker-buildx-plugin, or see https://docs.docker.com/go/buildx/",
};

/** kind mode needs kind; an existing cluster (--context) needs buildx instead. */
export async function checkTools(
  root: string,
  mode: "kind" | "cluster" = "kind",
  only?: string[],
): Promise<ToolReport> {
  const report: ToolReport = { problems: [], found: [], dockerReachable: false };
  const tools = (
    mode === "kind" ? TOOLS : [...TOOLS.filter((tool) => tool.name !== "kind"), BUILDX]
  ).filter((tool) => !only || only.includes(tool.name));
  const checks = tools.map(async (tool) => {
    const result = await exec({ argv: tool.versionArgv }, { cwd: root, timeoutMs: 10_000 });
    if (result.code === 127) {
      report.problems.push({
        problem: `${tool.name} is not installed (not on PATH)`,
        fix: tool.install,
      });
      return;
    }
    const version = tool.parse(result.stdout);
    if (!version) {
      report.problems.push({
        problem: `${tool.name} did not report its version (${firstLine(result.stderr) || `exit ${result.code}`})`,
        fix: `check that \`${tool.versionArgv.join(" ")}\` works; reinstall: ${tool.install}`,
      });
      return;
    }
    if (!versionAtLeast(version, tool.minimum)) {
      report.problems.push({
        problem: `${tool.name} ${version} is too old (need ${tool.minimum} or newer)`,
        fix: `upgrade it: ${tool.install}`,
      });
      return;
    }
    report.found.push(`${tool.name} ${version}`);
  });
  const daemon = exec(
    { argv: ["docker", "info", "--format", "{{.ServerVersion}}"] },
    { cwd: root, timeoutMs: 15_000 },
  ).then((info) => {
    if (info.code === 127) return; // reported as "not installed" above
    const version = info.stdout.trim();
    if (info.code === 0 && /^\d/.test(version)) {
      report.dockerReachable = true;
      report.found.push(`Docker daemon ${version}`);
    } else {
      report.problems.push({
        problem: `the Docker daemon is not reachable (${firstLine(info.stderr) || firstLine(info.stdout) || `exit ${info.code}`})`,
        fix: "start it: macOS: open -a Docker (wait for the whale to settle) · Linux: sudo systemctl start docker (and add yourself to the docker group)",
      });
    }
  });
  await Promise.all([...checks, daemon]);
  return report;
}

/** What building the images needs (release.ts): Docker reachable, and kind or, for an existing cluster, buildx. */
export async function checkBuildTools(root: string, mode: "kind" | "cluster"): Promise<Problem[]> {
  const tools = ["docker", mode === "kind" ? "kind" : BUILDX.name];
  return (await checkTools(root, mode, tools)).problems;
}

/** Files bootstrap needs from the repository, and image tags consistent with the code. */
export async function checkRepository(root: string, gitAvailable: boolean): Promise<Problem[]> {
  const problems: Problem[] = [];
  const required = [
    ["kind-config.yaml", "the kind cluster definition"],
    [ARGOCD.valuesFile, "the Argo CD values"],
    [ROOT_APP.file, "the root Application"],
    ...SERVICES.map((s) => [`apps/${s}/Dockerfile`, `the ${s} image`]),
  ] as const;
  for (const [path, what] of required) {
    if (!(await Bun.file(join(root, path)).exists())) {
      problems.push({
        problem: `${path} (${what}) is missing`,
        fix: `restore it from git: git checkout -- ${path}`,
      });
    }
  }
  if (!gitAvailable) return problems;
  for (const service of SERVICES) {
    const [want, have, dirty] = await Promise.all([
      contentTag(root, service).catch(() => undefined),
      committedTag(root, service),
      exec(
        { argv: ["git", "status", "--porcelain", "--", ...buildInputs(service)] },
        { cwd: root },
      ),
    ]);
    if (want && have !== want) {
      const uncommitted = dirty.stdout.trim() !== "";
      problems.push({
        problem: `${valuesFile(service)} image.tag is ${have ?? "missing"}, but the ${service} code has content tag ${want}${uncommitted ? " (it has uncommitted changes)" : ""}`,
        fix: uncommitted
          ? `bun bootstrap/release.ts ${service} -m "<what you changed>"   (commits the edit with its tag; or git stash it to deploy what is committed)`
          : `bun bootstrap/release.ts ${service}   (builds, writes the tag, commits; add --push to deliver)`,
      });
    }
  }
  return problems;
}

function firstLine(text: string): string {
  return text.trim().split("\n")[0]?.trim() ?? "";
}
