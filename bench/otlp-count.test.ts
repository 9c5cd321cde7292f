import { expect, test } from "bun:test";
import generatedRoot from "otlp-decoders/build/src/generated/root.js";
import { countItems } from "./otlp-count.ts";

interface MessageType {
  fromObject(object: object): unknown;
  encode(message: unknown): { finish(): Uint8Array };
}
const collector = (
  generatedRoot as unknown as {
    opentelemetry: { proto: { collector: Record<string, { v1: Record<string, MessageType> }> } };
  }
).opentelemetry.proto.collector;
const encode = (type: MessageType | undefined, object: object) => {
  if (!type) throw new Error("otlp-decoders: message type missing");
  return type.encode(type.fromObject(object)).finish();
};

const span = (name: string) => ({
  traceId: "AAAAAAAAAAAAAAAAAAAAAQ==",
  spanId: "AAAAAAAAAAE=",
  name,
  kind: 2,
  startTimeUnixNano: "1700000000000000000",
  endTimeUnixNano: "1700000000001000000",
  attributes: [{ key: "http.route", value: { stringValue: "/user/:id" } }],
});

test("counts spans across resources and scopes", () => {
  const bytes = encode(collector.trace?.v1.ExportTraceServiceRequest, {
    resourceSpans: [
      {
        resource: { attributes: [{ key: "service.name", value: { stringValue: "a" } }] },
        scopeSpans: [
          { scope: { name: "x" }, spans: [span("1"), span("2")] },
          { scope: { name: "y" }, spans: [span("3")] },
        ],
      },
      { scopeSpans: [{ spans: [span("4")] }] },
    ],
  });
  expect(countItems(bytes)).toBe(4);
});

test("counts log records", () => {
  const bytes = encode(collector.logs?.v1.ExportLogsServiceRequest, {
    resourceLogs: [
      {
        scopeLogs: [
          {
            logRecords: [
              { timeUnixNano: "1", severityNumber: 9, body: { stringValue: "user found" } },
              { timeUnixNano: "2", severityNumber: 17, body: { stringValue: "failed" } },
            ],
          },
        ],
      },
    ],
  });
  expect(countItems(bytes)).toBe(2);
});

test("an empty request has no items; a truncated one is an error", () => {
  expect(countItems(new Uint8Array())).toBe(0);
  const bytes = encode(collector.trace?.v1.ExportTraceServiceRequest, {
    resourceSpans: [{ scopeSpans: [{ spans: [span("1")] }] }],
  });
  expect(() => countItems(bytes.subarray(0, bytes.length - 3))).toThrow("truncated");
});
