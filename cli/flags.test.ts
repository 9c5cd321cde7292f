// The one argument parser: every mistake is a CliError with a problem and a fix.
import { describe, expect, test } from "bun:test";
import { CliError } from "./errors.ts";
import {
  envPort,
  envSwitch,
  parseDuration,
  parseFlags,
  parseHttpUrl,
  parseNumber,
} from "./flags.ts";

const flags = {
  timeout: { type: "string" },
  "dry-run": { type: "boolean" },
  message: { type: "string", short: "m" },
  help: { type: "boolean", short: "h" },
} as const;

/** The problem and fix a call throws, as the user would read them. */
function failure(call: () => unknown): { problem: string; fix?: string } {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    return { problem: (error as CliError).message, fix: (error as CliError).fix };
  }
  throw new Error("expected a CliError");
}

describe("parseFlags", () => {
  const parse = (argv: string[], positionals = false) =>
    parseFlags("bun x.ts", argv, flags, { positionals });

  test("flags, values, short forms, positionals and values that start with a dash", () => {
    expect(parse(["--timeout", "5m", "--dry-run", "-m", "msg"]).values).toEqual({
      timeout: "5m",
      "dry-run": true,
      message: "msg",
    });
    expect(parse(["--timeout=-5m"]).values.timeout).toBe("-5m");
    expect(parse(["--timeout", "-5m"]).values.timeout).toBe("-5m");
    expect(parse(["a", "b", "-h"], true)).toMatchObject({
      positionals: ["a", "b"],
      values: { help: true },
    });
  });

  test("mistakes: plain words, no parser jargon, and the command that shows the flags", () => {
    expect(failure(() => parse(["--bogus"]))).toEqual({
      problem: "unknown flag --bogus",
      fix: "bun x.ts --help lists the flags",
    });
    expect(failure(() => parse(["-x"])).problem).toBe("unknown flag -x");
    expect(failure(() => parse(["--timeout"]))).toEqual({
      problem: "--timeout needs a value",
      fix: "bun x.ts --timeout <value>",
    });
    // The fix repeats what came before the flag, quoted where a shell needs it.
    expect(failure(() => parse(["svc", "-m", "it's done", "--timeout"], true)).fix).toBe(
      "bun x.ts svc '--message=it'\\''s done' --timeout <value>",
    );
    expect(failure(() => parse(["--timeout", "--dry-run"])).problem).toBe(
      "--timeout needs a value",
    );
    expect(failure(() => parse(["--dry-run=no"])).problem).toBe("--dry-run takes no value");
    expect(failure(() => parse(["-h=1"])).problem).toBe("--help takes no value");
    expect(failure(() => parse(["--timeout", ""])).problem).toBe("--timeout needs a value");
    expect(failure(() => parse(["--timeout="])).problem).toBe("--timeout needs a value");
    expect(parse(["-m=msg"]).values.message).toBe("msg");
    expect(failure(() => parse(["stray"])).problem).toBe('unexpected argument "stray"');
  });
});

describe("values", () => {
  test("durations: units, and never zero or negative", () => {
    expect(parseDuration("90", "--t")).toBe(90_000);
    expect(parseDuration("1.5m", "--t")).toBe(90_000);
    expect(parseDuration("500ms", "--t")).toBe(500);
    expect(failure(() => parseDuration("0", "--t")).problem).toBe(
      "--t must be at least 1ms, got 0",
    );
    expect(failure(() => parseDuration("-5m", "--t", { min: 1000 })).problem).toBe(
      "--t must be at least 1s, got -5m",
    );
    expect(failure(() => parseDuration("2h", "--t", { max: 3_600_000 })).problem).toBe(
      "--t must be at most 60m, got 2h",
    );
    expect(failure(() => parseDuration("soon", "X_TIMEOUT")).fix).toContain("X_TIMEOUT=15m");
  });

  test("numbers, URLs, ports, and switches, each naming its flag or variable", () => {
    expect(parseNumber("2.5", "--rate", { min: 0.1, integer: false, example: "" })).toBe(2.5);
    expect(failure(() => parseNumber("2.5", "--n", { min: 1, example: "--n 3" }))).toEqual({
      problem: '--n must be a whole number 1 or more, got "2.5"',
      fix: "--n 3",
    });
    expect(failure(() => parseHttpUrl("ftp://x", "--gateway", "")).problem).toBe(
      '--gateway must be an http(s) URL, got "ftp://x"',
    );
    expect(envPort({}, "API_GATEWAY_PORT", 4000)).toBe(4000);
    expect(envPort({ API_GATEWAY_PORT: "4100" }, "API_GATEWAY_PORT", 4000)).toBe(4100);
    expect(failure(() => envPort({ API_GATEWAY_PORT: "abc" }, "API_GATEWAY_PORT", 4000))).toEqual({
      problem: 'API_GATEWAY_PORT must be a whole number between 1 and 65535, got "abc"',
      fix: "API_GATEWAY_PORT=4000",
    });
    expect(envSwitch({ X: "1" }, "X")).toBe(true);
    expect(failure(() => envSwitch({ X: "yes" }, "X")).problem).toBe('X must be 1 or 0, got "yes"');
  });
});
