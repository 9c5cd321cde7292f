// The simulated database: a handful of users behind a query span that carries the database
// semantic-convention attributes, with configurable latency and failure rate.
import { SpanKind, SpanStatusCode, type Tracer } from "@opentelemetry/api";
import {
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_NAMESPACE,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_QUERY_SUMMARY,
  ATTR_DB_QUERY_TEXT,
  ATTR_DB_SYSTEM_NAME,
  ATTR_ERROR_TYPE,
} from "@opentelemetry/semantic-conventions";

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

// Names of the incubating (not yet stable) conventions are copied, not imported, as the package's
// README recommends: that entry point may change them in a minor release.
const ATTR_DB_RESPONSE_RETURNED_ROWS = "db.response.returned_rows";
const DB_SYSTEM_NAME_VALUE_OTHER_SQL = "other_sql";

// Parameterised text only: query values never reach telemetry.
const queryAttributes = {
  [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_NAME_VALUE_OTHER_SQL,
  [ATTR_DB_NAMESPACE]: "sandbox",
  [ATTR_DB_COLLECTION_NAME]: "users",
  [ATTR_DB_OPERATION_NAME]: "SELECT",
  [ATTR_DB_QUERY_SUMMARY]: "SELECT users",
  [ATTR_DB_QUERY_TEXT]: "SELECT id, name, email FROM users WHERE id = ?",
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
            span.setAttribute(ATTR_DB_RESPONSE_RETURNED_ROWS, user ? 1 : 0);
            return user;
          } catch (error) {
            span.setAttribute(ATTR_ERROR_TYPE, (error as Error).name);
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
