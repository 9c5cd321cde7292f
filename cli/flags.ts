// The one command-line manner of every script in the repository (apps, bench, bootstrap, gitops):
// flags as a util.parseArgs table, values checked with the flag or variable named in the error.
import { type ParseArgsOptionsConfig, parseArgs } from "node:util";
import { CliError, formatDuration, shellWord } from "./errors.ts";

/**
 * The one command-line manner of every script (up, down, status, verify, release, open, traffic, bench,
 * dev): flags declared as a util.parseArgs options table; a bad flag, value or environment
 * variable is a CliError (one `error:` line, one `fix:` line, exit 1), never a usage dump.
 */
export type Flags = ParseArgsOptionsConfig;
type Parsed<F extends Flags> = ReturnType<
  typeof parseArgs<{ args: string[]; options: F; allowPositionals: true; strict: true }>
>;

/** `command` is how the user runs it, e.g. "bun bootstrap/up.ts": fixes are written with it. */
export function parseFlags<const F extends Flags>(
  command: string,
  argv: string[],
  flags: F,
  { positionals = false }: { positionals?: boolean } = {},
): Parsed<F> {
  const help = `${command} --help`;
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") {
      args.push(...argv.slice(i));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      if (!positionals)
        throw new CliError(`unexpected argument ${JSON.stringify(arg)}`, `${help} lists the flags`);
      args.push(arg);
      continue;
    }
    const [name, inline] = splitFlag(arg, flags);
    const spec = name === undefined ? undefined : flags[name];
    if (name === undefined || !spec)
      throw new CliError(`unknown flag ${arg.split("=")[0]}`, `${help} lists the flags`);
    if (spec.type === "boolean") {
      if (inline !== undefined)
        throw new CliError(`--${name} takes no value`, `${command} --${name}`);
      args.push(`--${name}`);
      continue;
    }
    // A value may start with a dash ("--timeout -5m"): it is the value, checked by the caller.
    const value = inline ?? argv[++i];
    // An empty value ("--context ''", an unset shell variable) would quietly mean the default.
    if (!value || (inline === undefined && isFlag(value, flags)))
      throw new CliError(
        `--${name} needs a value`,
        // The fix keeps what came before, so it is the same command with the value filled in.
        [command, ...args.map(shellWord), `--${name} <value>`].join(" "),
      );
    args.push(`--${name}=${value}`);
  }
  return parseArgs({ args, options: flags, allowPositionals: true, strict: true });
}

function splitFlag(arg: string, flags: Flags): [string | undefined, string | undefined] {
  if (arg.startsWith("--")) {
    const eq = arg.indexOf("=");
    return eq < 0 ? [arg.slice(2), undefined] : [arg.slice(2, eq), arg.slice(eq + 1)];
  }
  const eq = arg.indexOf("=");
  const letter = eq < 0 ? arg.slice(1) : arg.slice(1, eq);
  const short = Object.entries(flags).find(([, spec]) => spec.short === letter);
  return [short?.[0], eq < 0 ? undefined : arg.slice(eq + 1)];
}

function isFlag(value: string, flags: Flags): boolean {
  if (!value.startsWith("-")) return false;
  const [name] = splitFlag(value, flags);
  return name !== undefined && flags[name] !== undefined;
}

const human = (ms: number) => (ms < 1000 ? `${ms}ms` : formatDuration(ms));

/** Parses "90", "90s", "15m", "1h", "500ms" into milliseconds; never zero or negative. */
export function parseDuration(
  text: string,
  flag: string,
  { min = 1, max }: { min?: number; max?: number } = {},
): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  const set = /^[A-Z_]+$/.test(flag) ? `${flag}=` : `${flag} `; // a variable or a flag
  const example = `use a number with a unit, e.g. ${set}15m, ${set}90s or ${set}500ms`;
  if (/^\s*-\d/.test(text))
    throw new CliError(`${flag} must be at least ${human(min)}, got ${text}`, example);
  if (!match) throw new CliError(`${flag} ${JSON.stringify(text)} is not a duration`, example);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? "s"] ?? 1000;
  const ms = Math.round(Number(match[1]) * unit);
  if (ms < min) throw new CliError(`${flag} must be at least ${human(min)}, got ${text}`, example);
  if (max !== undefined && ms > max)
    throw new CliError(`${flag} must be at most ${human(max)}, got ${text}`, example);
  return ms;
}

/** A number within [min, max] (an integer unless told otherwise); `name` is a flag or variable. */
export function parseNumber(
  text: string,
  name: string,
  {
    min,
    max,
    integer = true,
    example,
  }: { min: number; max?: number; integer?: boolean; example: string },
): number {
  const value = /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : Number.NaN;
  const range = max === undefined ? `${min} or more` : `between ${min} and ${max}`;
  if (
    !Number.isFinite(value) ||
    value < min ||
    (max !== undefined && value > max) ||
    (integer && !Number.isInteger(value))
  )
    throw new CliError(
      `${name} must be ${integer ? "a whole number" : "a number"} ${range}, got ${JSON.stringify(text)}`,
      example,
    );
  return value;
}

/** An http(s) URL without trailing slashes. */
export function parseHttpUrl(text: string, name: string, example: string): string {
  const value = text.replace(/\/+$/, "");
  if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol))
    throw new CliError(`${name} must be an http(s) URL, got ${JSON.stringify(text)}`, example);
  return value;
}

/** A TCP port from an environment variable, named in its own error. */
export function envPort(
  env: Record<string, string | undefined>,
  name: string,
  fallback: number,
  command?: string,
): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const example = command ? `${name}=${fallback} ${command}` : `${name}=${fallback}`;
  return parseNumber(raw, name, { min: 1, max: 65535, example });
}

/** A 0/1 switch from the environment; anything else is an error naming the variable. */
export function envSwitch(env: Record<string, string | undefined>, name: string): boolean {
  const raw = env[name];
  if (raw === undefined || raw === "" || raw === "0") return false;
  if (raw === "1") return true;
  throw new CliError(`${name} must be 1 or 0, got ${JSON.stringify(raw)}`, `${name}=1`);
}
