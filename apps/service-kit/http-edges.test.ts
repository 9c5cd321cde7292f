// What a client gets at the HTTP edges, over a raw socket against a real Bun.serve: what the app
// answers (always JSON) and what Bun's HTTP parser answers itself before the app sees anything.
import { afterAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { startTelemetry } from "@sandbox/telemetry";
import { serve, serviceApp } from "./index.ts";

const telemetry = startTelemetry({ name: "test", version: "0" }, { OTEL_SDK_DISABLED: "true" });
const lifecycle = { ready: true };
const app = serviceApp(telemetry, lifecycle).get("/users/:id", ({ params }) => ({ id: params.id }));
const server = serve(app, telemetry, lifecycle, { service: "test", port: 0 });
afterAll(() => server.stop(true));

/** Sends bytes as they are (no client library fixes them up) and reads until the server closes. */
function exchange(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port as number, "127.0.0.1");
    let answer = "";
    socket.on("data", (chunk) => {
      answer += chunk.toString("latin1");
    });
    socket.on("close", () => resolve(answer));
    socket.on("error", reject);
    socket.setTimeout(5_000, () => socket.destroy(new Error("no answer in 5 s")));
    socket.write(request);
  });
}

const get = (target: string, headers: string[] = [], method = "GET", version = "HTTP/1.1") =>
  exchange(
    `${method} ${target} ${version}\r\n${["Host: localhost", ...headers, "Connection: close"].join("\r\n")}\r\n\r\n`,
  );

const split = (answer: string) => {
  const [head = "", body = ""] = answer.split("\r\n\r\n");
  const [statusLine = "", ...fields] = head.split("\r\n");
  const headers = Object.fromEntries(
    fields.map((f) => [
      f.slice(0, f.indexOf(":")).toLowerCase(),
      f.slice(f.indexOf(":") + 1).trim(),
    ]),
  );
  return { statusLine, headers, body };
};

describe("what the app answers: JSON, always", () => {
  test("a known path with another method: 405, Allow, and a JSON body", async () => {
    for (const method of ["POST", "DELETE", "PUT", "PROPFIND"]) {
      const { statusLine, headers, body } = split(await get("/users/1", [], method));
      expect({ method, statusLine }).toEqual({
        method,
        statusLine: "HTTP/1.1 405 Method Not Allowed",
      });
      expect(headers.allow).toBe("GET, HEAD");
      expect(headers["content-type"]).toStartWith("application/json");
      expect(JSON.parse(body)).toEqual({ error: "method not allowed", allow: ["GET", "HEAD"] });
    }
  });

  test("HEAD of a GET route answers its headers; an unknown path is a JSON 404", async () => {
    expect(split(await get("/users/7", [], "HEAD")).statusLine).toBe("HTTP/1.1 200 OK");
    const missing = split(await get("/nope", [], "POST"));
    expect(missing.statusLine).toBe("HTTP/1.1 404 Not Found");
    expect(JSON.parse(missing.body)).toEqual({ error: "not found" });
    const encoded = split(await get("/users/%zz"));
    expect(encoded.headers["content-type"]).toStartWith("application/json");
  });
});

// Measured on Bun 1.4.5. These never reach the app, so no JSON body can be given; docs/services.md
// tells users exactly this.
describe("what Bun's HTTP parser answers before the app sees the request", () => {
  test("a method outside Bun's list (BREW, lower-case get): the connection closes with no reply", async () => {
    expect(await get("/users/1", [], "BREW")).toBe("");
    expect(await get("/users/1", [], "get")).toBe("");
  });

  const bare = (status: string) => `HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`;

  test("a request head over 16 KB (one big header, or a long URL) or about 200 header fields: bare 431", async () => {
    const tooLarge = bare("431 Request Header Fields Too Large");
    expect(await get("/users/1", [`X-Big: ${"a".repeat(16_400)}`])).toBe(tooLarge);
    expect(await get(`/users/1?${"q".repeat(16_400)}`)).toBe(tooLarge);
    const many = Array.from({ length: 200 }, (_, i) => `X-Field-${i}: v`);
    expect(await get("/users/1", many)).toBe(tooLarge);
    // Just under the limits, the app answers.
    expect(split(await get("/users/1", [`X-Big: ${"a".repeat(16_000)}`])).statusLine).toBe(
      "HTTP/1.1 200 OK",
    );
    expect(split(await get("/users/1", many.slice(0, 150))).statusLine).toBe("HTTP/1.1 200 OK");
  });

  test("an unknown HTTP version: bare 505; no Host header or a malformed Content-Length: bare 400", async () => {
    expect(await get("/users/1", [], "GET", "HTTP/9.9")).toBe(
      bare("505 HTTP Version Not Supported"),
    );
    expect(await exchange("GET /users/1 HTTP/1.1\r\nConnection: close\r\n\r\n")).toBe(
      bare("400 Bad Request"),
    );
    expect(await get("/users/1", ["Content-Length: abc"], "POST")).toBe(bare("400 Bad Request"));
  });
});
