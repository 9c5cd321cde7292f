// `bun run bench` refuses what would fail later before it starts anything: one error:, one fix:.
import { expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";

const bench = (...args: string[]) => {
  const started = Date.now();
  const run = Bun.spawnSync(
    [process.execPath, `${import.meta.dir}/run.ts`, "--client", "bun", ...args],
    { timeout: 20_000 },
  );
  return {
    code: run.exitCode,
    stdout: run.stdout.toString(),
    stderr: run.stderr.toString(),
    quick: Date.now() - started < 5_000,
  };
};

test("--out in a folder that does not exist is refused before the run", async () => {
  const dir = await mkdtemp(`${tmpdir()}/bench-out-`);
  try {
    const out = `${dir}/missing/x.json`;
    expect(bench("--out", out)).toEqual({
      code: 1,
      stdout: "",
      stderr: `error: --out ${out}: the folder ${dir}/missing does not exist\n  fix: mkdir -p ${dir}/missing, or pick an existing folder for --out\n`,
      quick: true,
    });
    expect(bench("--out", dir)).toMatchObject({
      code: 1,
      stderr: `error: --out ${dir} is a folder; it names the results file\n  fix: bun run bench --out ${dir}/latest.json\n`,
    });
  } finally {
    await rm(dir, { recursive: true });
  }
});

test("--apps that is not an apps/ folder is refused before the run", () => {
  expect(bench("--apps", "/nonexistent")).toEqual({
    code: 1,
    stdout: "",
    stderr:
      "error: --apps /nonexistent has no api-gateway/src/index.ts: it takes a checkout's apps/ folder\n  fix: bun run bench --apps ../other-checkout/apps\n",
    quick: true,
  });
});
