// The simulated database: a handful of users behind a query span that carries the database
// semantic-convention attributes, with configurable latency and failure rate.
import { SpanKind, SpanStatusCode, type Tracer } from "@opentelemetry/api";

export interface User {
  id: number;
  name: string;
  email: string;
}

const users = new Map<number, User>(
  [
    { id: 1, name: "Grace Hopper", email: "grace@example.com" },
    { id: 42, name: "Alan Turing", email: "alan@example.com" },
    { id: 123, name: "Ada Lovelace", email: "ada@example.com" },
    { id: 777, name: "Katherine Johnson", email: "katherine@example.com" },
  ].map((user) => [user.id, user]),
);

export class QueryFailed extends Error {
  override name = "QueryFailed";
}

export interface UserStoreOptions {
  tracer: Tracer;
  latencyMs: number;
  /** Share of queries that fail, 0..1. */
  errorRate: number;
  random?: () => number;
}

// Parameterised text only: query values never reach telemetry.
const queryAttributes = {
  "db.system.name": "other_sql",
  "db.namespace": "sandbox",
  "db.collection.name": "users",
  "db.operation.name": "SELECT",
  "db.query.summary": "SELECT users",
  "db.query.text": "SELECT id, name, email FROM users WHERE id = ?",
};

export function createUserStore({
  tracer,
  latencyMs,
  errorRate,
  random = Math.random,
}: UserStoreOptions) {
  return {
    findById(id: number): Promise<User | undefined> {
      return tracer.startActiveSpan(
        "SELECT users",
        { kind: SpanKind.CLIENT, attributes: queryAttributes },
        async (span) => {
          try {
            if (latencyMs > 0) await Bun.sleep(latencyMs);
            if (random() < errorRate) throw new QueryFailed("simulated database failure");
            const user = users.get(id);
            span.setAttribute("db.response.returned_rows", user ? 1 : 0);
            return user;
          } catch (error) {
            span.setAttribute("error.type", (error as Error).name);
            span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
            throw error;
          } finally {
            span.end();
          }
        },
      );
    },
  };
}

export type UserStore = ReturnType<typeof createUserStore>;
