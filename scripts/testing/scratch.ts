// Preloaded by `bun test` (bunfig.toml): the suite's scratch directories (throw-away clones,
// git repositories, state files, thousands of them per run) go to memory when the machine has a
// tmpfs at /dev/shm. On disk, creating and deleting them cost the suite about a third of its CPU
// time, in the file system, not in any test; what the tests run and assert is the same.
// Each run gets its own folder, removed when the run ends, with any a killed run left behind.
import { mkdirSync, readdirSync, rmSync, statfsSync } from "node:fs";
import { join } from "node:path";

const SHM = "/dev/shm";
const TMPFS_MAGIC = 0x01021994;
const PREFIX = "observability-sandbox-test-";

function isTmpfs(path: string): boolean {
  try {
    return statfsSync(path).type === TMPFS_MAGIC;
  } catch {
    return false;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

if (!process.env.TMPDIR && isTmpfs(SHM)) {
  for (const name of readdirSync(SHM)) {
    const pid = Number(name.slice(PREFIX.length));
    if (name.startsWith(PREFIX) && pid > 0 && !isRunning(pid))
      rmSync(join(SHM, name), { recursive: true, force: true });
  }
  const scratch = join(SHM, `${PREFIX}${process.pid}`);
  mkdirSync(scratch, { recursive: true });
  process.env.TMPDIR = scratch;
  process.on("exit", () => rmSync(scratch, { recursive: true, force: true }));
}
