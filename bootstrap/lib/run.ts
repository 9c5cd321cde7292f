// Running external tools (docker, kind, kubectl, helm, git): the one boundary bootstrap has.
// Tools are looked up on PATH at call time, so tests can put stand-ins first on PATH.

export interface Command {
  argv: string[];
  /** Fed to the tool's stdin (manifests for `kubectl apply -f -`). */
  stdin?: string;
  /** What to print instead of argv when argv would leak a secret or a long manifest. */
  display?: string;
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
}

/** Runs a tool to completion and captures its output; a missing tool answers code 127. */
export async function exec(command: Command, options: ExecOptions = {}): Promise<Result> {
  const [tool, ...args] = command.argv;
  if (!tool) throw new Error("exec: empty command");
  const env = { ...process.env, ...options.env };
  const path = Bun.which(tool, { PATH: env.PATH ?? "" });
  if (!path) return { code: 127, stdout: "", stderr: `${tool}: command not found` };
  const child = Bun.spawn([path, ...args], {
    cwd: options.cwd,
    env,
    stdin: command.stdin === undefined ? "ignore" : new TextEncoder().encode(command.stdin),
    stdout: "pipe",
    stderr: "pipe",
    timeout: options.timeoutMs,
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  if (child.signalCode && options.timeoutMs) {
    return {
      code: 124,
      stdout,
      stderr: `${stderr}\n${tool}: timed out after ${options.timeoutMs} ms`,
    };
  }
  return { code, stdout, stderr };
}

/** Shell-style rendering of a command for plans and error messages. */
export function show(command: Command): string {
  if (command.display) return command.display;
  return command.argv.map(quote).join(" ");
}

function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** An error the user can act on: what went wrong and what to do. Printed without a stack. */
export class BootstrapError extends Error {
  constructor(
    message: string,
    readonly fix?: string,
  ) {
    super(message);
  }
}

/** Prints a BootstrapError (or any error, briefly) and exits non-zero: never a stack trace. */
export function exitWithError(error: unknown): never {
  if (error instanceof BootstrapError) {
    console.error(`error: ${error.message}`);
    if (error.fix) console.error(`  fix: ${error.fix}`);
  } else {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  }
  process.exit(1);
}
