// What a lab is: a goal, the files to touch, hints in the order a learner needs them, and a
// check that either says what it found or stops at the first thing missing with the next hint.
import { CliError } from "../cli/errors.ts";
import { QuerySyntaxError } from "../model/queries.ts";

export interface Lab {
  title: string;
  /** What to do and what it teaches, a short paragraph. */
  goal: string;
  files: string[];
  hints: string[];
  /** How to run the check with the answers, each a `<...>`: `bun run lab 1 check '<TraceQL>'`. */
  check: string;
  /**
   * Reports each step that holds through `ok`, as it goes (printed as `ok` lines), and rejects
   * with NotYet at the first step not done yet.
   */
  verify(answers: string[], ok: (line: string) => void): Promise<void>;
}

/** A step of the lab not done yet: what the check saw, and the next hint (printed as `fix:`). */
export class NotYet extends CliError {
  constructor(message: string, hint: string) {
    super(message, hint);
  }
}

/** Reads a learner's query; one its grammar refuses is a step not done, with the hint. */
export function readQuery<T>(what: string, read: () => T, hint: string): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof QuerySyntaxError) {
      // The model names the language ("traceql does not parse: ..."); here it is the answer.
      const where = /^\w+ does not parse: (.*)$/s.exec(error.message)?.[1];
      throw new NotYet(
        where
          ? `your ${what} answer does not parse: ${where}`
          : `your ${what} answer: ${error.message}`,
        hint,
      );
    }
    throw error;
  }
}

/** "1 span", "2 spans": a count as the labs print it. */
export const count = (n: number, noun: string, nouns = `${noun}s`): string =>
  `${n} ${n === 1 ? noun : nouns}`;

/** How many answers a lab's check takes: its check line names each as `<...>`. */
export const answerCount = (lab: Lab): number => lab.check.match(/<[^>]+>/g)?.length ?? 0;
