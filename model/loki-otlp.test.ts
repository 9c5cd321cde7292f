// Loki's OTLP ingestion against cases from upstream's own tests (grafana/loki v3.7.6):
// pkg/loghttp/push/otlp_test.go `TestOTLPToLokiPushRequest` and `TestOTLPLogToPushEntry`, and
// pkg/distributor/field_detection_test.go (`Test_detectLogLevelFromLogEntry`,
// `Test_DetectLogLevels`).
import { describe, expect, test } from "bun:test";
import type { LogRecord } from "./collected.ts";
import { detectedLevel, severityNumber, translateLogs } from "./loki-otlp.ts";

const record = (overrides: Partial<LogRecord> = {}): LogRecord => ({
  severityText: "",
  severityNumber: "SEVERITY_NUMBER_UNSPECIFIED",
  body: "log body",
  attributes: {},
  traceId: "",
  spanId: "",
  resource: { attributes: { "service.name": "service-1" } },
  scope: { name: "", version: "" },
  ...overrides,
});

describe("stream labels and structured metadata (otlp.go)", () => {
  // "resource attributes and scope attributes stored as structured metadata" (the scope's own
  // attributes are not in the model's records).
  test("resource attributes beyond the index labels, and the scope's name, are metadata", () => {
    const [entry] = translateLogs([
      record({
        severityNumber: "SEVERITY_NUMBER_INFO",
        resource: { attributes: { "service.name": "service-1", "service.image": "loki" } },
        scope: { name: "fizz", version: "" },
      }),
    ]);
    expect(entry?.labels).toEqual({ service_name: "service-1" });
    expect(entry?.metadata).toMatchObject({ service_image: "loki", scope_name: "fizz" });
    expect(entry?.metadata).not.toHaveProperty("scope_version");
  });

  test("the scope's version is scope_version", () => {
    const [entry] = translateLogs([
      record({ severityNumber: "SEVERITY_NUMBER_INFO", scope: { name: "fizz", version: "1.2.0" } }),
    ]);
    expect(entry?.metadata.scope_version).toBe("1.2.0");
  });

  // TestOTLPLogToPushEntry "all the values set" (observed timestamp, dropped count and flags are
  // not in the model's records).
  test("a record's severity number, severity text, trace and span ids are metadata", () => {
    const [entry] = translateLogs([
      record({
        severityNumber: "SEVERITY_NUMBER_DEBUG",
        severityText: "debug",
        traceId: "12345678123456781234567812345678",
        spanId: "1223ad1223ad1223",
        attributes: { foo: "bar" },
      }),
    ]);
    expect(entry?.metadata).toEqual({
      foo: "bar",
      severity_number: "5",
      severity_text: "debug",
      trace_id: "12345678123456781234567812345678",
      span_id: "1223ad1223ad1223",
      detected_level: "debug",
    });
  });

  test("an UNSPECIFIED severity number is left out", () => {
    const [entry] = translateLogs([record({ severityText: "warn" })]);
    expect(entry?.metadata).not.toHaveProperty("severity_number");
    expect(entry?.metadata.detected_level).toBe("warn");
  });

  test("Loki's label namer collapses runs of _ and keeps a leading _ (LabelNamer{})", () => {
    const [entry] = translateLogs([
      record({ severityNumber: "SEVERITY_NUMBER_INFO", attributes: { a__b: "1", _c: "2" } }),
    ]);
    expect(entry?.metadata).toMatchObject({ a_b: "1", _c: "2" });
  });
});

describe("detected_level (field_detection.go)", () => {
  test("the OTLP severity number enum names are the proto's numbers", () => {
    expect(severityNumber("SEVERITY_NUMBER_TRACE")).toBe(1);
    expect(severityNumber("SEVERITY_NUMBER_DEBUG3")).toBe(7);
    expect(severityNumber("SEVERITY_NUMBER_INFO")).toBe(9);
    expect(severityNumber("SEVERITY_NUMBER_FATAL4")).toBe(24);
    expect(() => severityNumber("LOUD")).toThrow("LOUD");
  });

  // Test_detectLogLevelFromLogEntry "use severity number from otlp logs" (Debug3) and "invalid
  // severity number should not cause any issues" (info); ranges from the OTLP data model.
  test.each([
    ["7", "debug"],
    ["foo", "info"],
    ["0", "unknown"],
    ["4", "trace"],
    ["12", "info"],
    ["13", "warn"],
    ["20", "error"],
    ["21", "fatal"],
  ])("severity_number %s → %s", (number, level) => {
    expect(detectedLevel({}, { severity_number: number })).toBe(level);
  });

  // Test_DetectLogLevels "indexed OTEL severity takes precedence over structured metadata or log
  // line": a level field among the stream labels first, then among the metadata, normalised.
  test("a level field wins over the severity number: labels first, then metadata", () => {
    expect(detectedLevel({ SeverityText: "debug" }, { severity_number: "13" })).toBe("debug");
    expect(detectedLevel({}, { severity_text: "INFO", severity_number: "13" })).toBe("info");
    expect(detectedLevel({}, { severity_text: "WARNING" })).toBe("warn");
    expect(detectedLevel({}, { severity_text: "notice" })).toBe("notice");
  });

  // "detected_level structured metadata takes precedence over other level detection methods".
  test("a detected_level already in the metadata is kept", () => {
    expect(detectedLevel({}, { detected_level: "trace", severity_number: "13" })).toBeUndefined();
  });
});
