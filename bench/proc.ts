// What the kernel says about a process and the machine (Linux /proc).
import { cpus } from "node:os";

let clockTicks: number | undefined;
/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat (100 on every common Linux). */
async function ticksPerSecond(): Promise<number> {
  if (clockTicks === undefined) {
    const out = Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim();
    clockTicks = Number(out) > 0 ? Number(out) : 100;
  }
  return clockTicks;
}

/** CPU time (user + system, all threads) the process has used so far, in milliseconds. */
export async function cpuTimeMs(pid: number): Promise<number> {
  const stat = await Bun.file(`/proc/${pid}/stat`).text();
  // Fields after the parenthesised command name, which may itself contain spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / (await ticksPerSecond());
}

/** Resident set size in MB (VmRSS). */
export async function rssMb(pid: number): Promise<number> {
  const status = await Bun.file(`/proc/${pid}/status`).text();
  const kb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1]);
  if (!Number.isFinite(kb)) throw new Error(`no VmRSS for process ${pid}`);
  return kb / 1024;
}

export async function machine() {
  const cpuinfo = await Bun.file("/proc/cpuinfo")
    .text()
    .catch(() => "");
  const loadavg = await Bun.file("/proc/loadavg")
    .text()
    .catch(() => "");
  return {
    cpu_model:
      /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? "unknown",
    cores: navigator.hardwareConcurrency,
    bun: Bun.version,
    loadavg_at_start: loadavg.split(" ").slice(0, 3).map(Number),
  };
}
