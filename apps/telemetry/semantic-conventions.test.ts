// Every attribute and metric name with a stable constant in @opentelemetry/semantic-conventions is
// written with that constant in the services' code, never as a string a typo could break.
import { expect, test } from "bun:test";
import * as stable from "@opentelemetry/semantic-conventions";

const root = `${import.meta.dir}/..`;
// The code that runs in the services; tests, benches and test helpers may spell names out.
const sources = [
  ...new Bun.Glob("{telemetry,service-kit}/*.ts").scanSync(root),
  ...new Bun.Glob("{api-gateway,user-service}/src/*.ts").scanSync(root),
].filter((file) => !/\.(test|bench)\.ts$/.test(file));

// The stable entry point's ATTR_* and METRIC_* names (ATTR_HTTP_REQUEST_HEADER and the like are
// functions building a name, not names).
const stableNames = new Set(
  Object.entries(stable)
    .filter(([key, value]) => /^(ATTR|METRIC)_/.test(key) && typeof value === "string")
    .map(([, value]) => value as string),
);

// The stable names written as a string (in any quotes) in the code, comments stripped by Bun's
// own transpiler.
const transpiler = new Bun.Transpiler({ loader: "ts" });
async function literalNames(file: string): Promise<string[]> {
  const code = transpiler.transformSync(await Bun.file(`${root}/${file}`).text());
  return [...stableNames].filter((name) =>
    ['"', "'", "`"].some((quote) => code.includes(`${quote}${name}${quote}`)),
  );
}

test("the scan sees the services' code and the stable names", () => {
  expect(sources).toContain("telemetry/http-server.ts");
  expect(sources).toContain("api-gateway/src/user-client.ts");
  expect(sources).toContain("user-service/src/users.ts");
  expect(stableNames).toContain("http.route");
  expect(stableNames).toContain("http.server.request.duration");
  expect(stableNames.has("db.response.returned_rows")).toBe(false); // incubating
});

test.each(sources)("%s names stable attributes and metrics by their constants", async (file) => {
  expect(await literalNames(file)).toEqual([]);
});
