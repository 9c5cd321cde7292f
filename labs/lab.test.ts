import { expect, test } from "bun:test";
import { parseQuery } from "../model/queries.ts";
import { answerCount, count, NotYet, readQuery } from "./lab.ts";
import { labs } from "./labs.ts";
import { solutions } from "./solutions.ts";

test("a query that does not parse is a step not done: where it stopped, said once, and the hint", () => {
  let caught: unknown;
  try {
    readQuery("TraceQL", () => parseQuery("traceql", "{"), "the hint");
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(NotYet);
  expect((caught as NotYet).message).toBe(
    "your TraceQL answer does not parse: it ends early (column 2)",
  );
  expect((caught as NotYet).fix).toBe("the hint");
});

test("each lab's check line names as many answers as its reference solution gives", () => {
  expect(labs.map(answerCount)).toEqual(solutions.map((s) => s.answers.length));
});

test("counts read as English: one of a thing is singular", () => {
  expect([count(0, "span"), count(1, "span"), count(2, "span")]).toEqual([
    "0 spans",
    "1 span",
    "2 spans",
  ]);
  expect(count(1, "series", "series")).toBe("1 series");
});
