// How every command in the repository fails: one `error:` line saying what went wrong, one
// `fix:` line saying what to do, exit 1. Never a stack trace or a usage dump.

/** An error the user can act on: what went wrong and what to do. Printed without a stack. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly fix?: string,
  ) {
    super(message);
  }
}

/** Prints a CliError (or any error, briefly) and exits non-zero: never a stack trace. */
export function exitWithError(error: unknown): never {
  if (error instanceof CliError) {
    console.error(`error: ${error.message}`);
    if (error.fix) console.error(`  fix: ${error.fix}`);
  } else {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  }
  process.exit(1);
}

/** 90000 → "1m30s", 1500 → "1.5s". */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return seconds ? `${minutes}m${seconds}s` : `${minutes}m`;
}

/** A word as a shell would need it: quoted when it holds anything but plain characters. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}
