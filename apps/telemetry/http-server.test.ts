import { expect, test } from "bun:test";
import { pathOf } from "./http-server.ts";

// Request URLs as Bun.serve hands them over (already normalized by Bun's URL parser).
test.each([
  "http://127.0.0.1:4000/user/123",
  "http://127.0.0.1:4000/user/123?api_key=secret&x=1",
  "http://127.0.0.1:4000/",
  "http://127.0.0.1:4000/healthz?probe",
  "http://127.0.0.1//foo",
  "http://127.0.0.1/x#frag",
  "http://127.0.0.1/user/1%0A",
  "http://127.0.0.1/user/%C3%BC?q=%2F/",
  "https://example.com:8443/a/b/c",
  "http://[::1]:4000/user/1",
])("pathOf(%p) is the URL's pathname", (url) => {
  expect(pathOf(url)).toBe(new URL(url).pathname);
});
