// Counts items in an OTLP protobuf export request without decoding it: spans sit at
// resource_spans(1) → scope_spans(2) → spans(2), log records at resource_logs(1) → scope_logs(2)
// → log_records(2). Skipping by length keeps the bench's sink cheap next to the services.

function readVarint(bytes: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = at; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, i + 1];
    scale *= 128;
  }
  throw new Error("truncated varint");
}

/** How many length-delimited fields lie at `path` (field numbers, outermost first). */
export function countAtPath(bytes: Uint8Array, path: readonly number[]): number {
  const [field, ...rest] = path;
  let count = 0;
  let at = 0;
  while (at < bytes.length) {
    const [key, afterKey] = readVarint(bytes, at);
    const wireType = key & 7;
    const number = Math.floor(key / 8);
    at = afterKey;
    if (wireType === 0) at = readVarint(bytes, at)[1];
    else if (wireType === 1) at += 8;
    else if (wireType === 5) at += 4;
    else if (wireType === 2) {
      const [length, start] = readVarint(bytes, at);
      at = start + length;
      if (at > bytes.length) throw new Error("truncated field");
      if (number === field) count += rest.length ? countAtPath(bytes.subarray(start, at), rest) : 1;
    } else throw new Error(`unsupported wire type ${wireType}`);
  }
  return count;
}

/** Spans in an ExportTraceServiceRequest, or log records in an ExportLogsServiceRequest. */
export const countItems = (bytes: Uint8Array) => countAtPath(bytes, [1, 2, 2]);
