import { expect, test } from "bun:test";
import { median, medianOfPairs, percentile, summarize } from "./stats.ts";

test("nearest-rank percentiles", () => {
  const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
  expect(percentile(values, 50)).toBe(50);
  expect(percentile(values, 99)).toBe(99);
  expect(percentile(values, 100)).toBe(100);
  expect(percentile([7], 99)).toBe(7);
  expect(percentile([], 50)).toBeNaN();
});

test("median of odd and even counts", () => {
  expect(median([3, 1, 2])).toBe(2);
  expect(median([4, 1, 3, 2])).toBe(2.5);
  expect(median([])).toBeNaN();
});

test("summarize turns latencies into rate and percentiles", () => {
  const latencies = Array.from({ length: 200 }, (_, i) => (i < 197 ? 1 : 50));
  expect(summarize(latencies, 4)).toEqual({
    requests: 200,
    rps: 50,
    p50_ms: 1,
    p99_ms: 50,
    max_ms: 50,
  });
});

test("medianOfPairs pairs runs within a round, so drift between rounds cancels", () => {
  // The machine gets slower each round; the on/off ratio stays 0.9.
  const runs = [1, 2, 3].flatMap((round) => [
    { round, config: "on", rps: 900 / round },
    { round, config: "off", rps: 1000 / round },
  ]);
  const ratio = medianOfPairs(
    runs,
    (r) => r.config === "on",
    (r) => r.config === "off",
    (a, b) => a.rps / b.rps,
  );
  expect(ratio).toBeCloseTo(0.9, 10);
  // A round without its partner is left out rather than paired across rounds.
  const unpaired = medianOfPairs(
    [...runs, { round: 4, config: "on", rps: 1 }],
    (r) => r.config === "on",
    (r) => r.config === "off",
    (a, b) => a.rps / b.rps,
  );
  expect(unpaired).toBeCloseTo(0.9, 10);
});
