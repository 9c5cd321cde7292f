// A command run as a user would run it, to the end: its exit code, what it printed, how long it
// took. For the tests that check a command's exact output.

export interface CommandRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `env` is the command's whole environment (default: this process's). */
export async function runCommand(
  argv: string[],
  { cwd, env = process.env }: { cwd?: string; env?: Record<string, string | undefined> } = {},
): Promise<CommandRun> {
  const started = performance.now();
  const child = Bun.spawn(argv, {
    cwd,
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, stdout, stderr, ms: performance.now() - started };
}
