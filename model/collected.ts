// Received OTLP records as the Collector's processors see them: attribute values as strings.
// capture.ts and `bun run dev` (apps/dev-view.ts) both feed these to the backend translations.
import type {
  ReceivedDataPoint,
  ReceivedLog,
  ReceivedSpan,
} from "../apps/telemetry/testing/otlp-receiver.ts";

export type Attributes = Record<string, string>;

export interface Resource {
  attributes: Attributes;
}

type Collected<T> = Omit<T, "resource" | "attributes"> & {
  resource: Resource;
  attributes: Attributes;
};
export type MetricPoint = Collected<ReceivedDataPoint>;
export type LogRecord = Collected<ReceivedLog>;
export type Span = Collected<ReceivedSpan>;

// Attribute values as strings, the way the Collector's pcommon.Value.AsString() renders them
// (arrays and maps as JSON).
const asString = (value: unknown): string =>
  typeof value === "object" ? JSON.stringify(value) : String(value ?? "");
const strings = (attributes: Record<string, unknown>): Attributes =>
  Object.fromEntries(Object.entries(attributes).map(([key, value]) => [key, asString(value)]));

/** A received record with its resource and attribute values as the Collector holds them. */
export const collected = <T extends ReceivedDataPoint | ReceivedLog | ReceivedSpan>(
  item: T,
): Collected<T> => ({
  ...item,
  resource: { attributes: strings(item.resource) },
  attributes: strings(item.attributes),
});
