import { beforeEach, expect, test } from "bun:test";
import { inMemoryTracer } from "@sandbox/telemetry/testing/in-memory";
import { createUserStore, QueryFailed } from "./users.ts";

const { tracer, finishedSpans, reset } = inMemoryTracer();
beforeEach(reset);

test("a query span with database attributes and the row count", async () => {
  const store = createUserStore({ tracer, latencyMs: 0, errorRate: 0 });
  expect(await store.findById(123)).toEqual({
    id: 123,
    name: "Ada Lovelace",
    email: "ada@example.com",
  });
  expect(await store.findById(999)).toBeUndefined();
  const [found, missing] = finishedSpans();
  expect(found?.name).toBe("SELECT users");
  expect(found?.attributes).toMatchObject({
    "db.system.name": "other_sql",
    "db.operation.name": "SELECT",
    "db.collection.name": "users",
    "db.response.returned_rows": 1,
  });
  expect(missing?.attributes["db.response.returned_rows"]).toBe(0);
});

test("ERROR_RATE is the share of failing queries", async () => {
  const draws = [0.1, 0.7, 0.29, 0.3];
  const store = createUserStore({
    tracer,
    latencyMs: 0,
    errorRate: 0.3,
    random: () => draws.shift() ?? 1,
  });
  const outcomes = [];
  for (let i = 0; i < 4; i++)
    outcomes.push(
      await store.findById(123).then(
        () => "ok",
        (error) => error instanceof QueryFailed,
      ),
    );
  expect(outcomes).toEqual([true, "ok", true, "ok"]);
  expect(finishedSpans().map((span) => span.attributes["error.type"])).toEqual([
    "QueryFailed",
    undefined,
    "QueryFailed",
    undefined,
  ]);
});
