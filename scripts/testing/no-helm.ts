// A copy of the repository as a Mac or an arm64 Linux machine sees it: the pinned helm and kubectl
// unpacked, but binaries for another machine (exec format error, as the layer's Linux x86-64
// ones there), and a PATH with no helm. For the tests of what the commands do where no helm runs.
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const repoRoot = join(import.meta.dir, "..", "..");

export function copyWhereNoHelmRuns(): { root: string; env: { PATH: string }; remove(): void } {
  const root = mkdtempSync(join(tmpdir(), "no-helm-"));
  for (const entry of readdirSync(repoRoot)) {
    if ([".git", "node_modules", ".cache"].includes(entry)) continue;
    cpSync(join(repoRoot, entry), join(root, entry), { recursive: true, verbatimSymlinks: true });
  }
  symlinkSync(join(repoRoot, "node_modules"), join(root, "node_modules"));
  const tools = join(root, ".cache", "tools");
  for (const tool of ["helm", "kubectl"]) {
    mkdirSync(join(tools, tool), { recursive: true });
    // An ELF header for no machine this one runs: posix_spawn fails with ENOEXEC.
    writeFileSync(join(tools, tool, tool), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]));
    chmodSync(join(tools, tool, tool), 0o755);
  }
  // The stamp of the installed layer: nothing is unpacked again over the foreign binaries.
  cpSync(join(repoRoot, ".cache", "tools", "layer-version"), join(tools, "layer-version"));
  const bin = join(root, ".no-helm-bin");
  mkdirSync(bin);
  return {
    root,
    env: { PATH: bin },
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}
