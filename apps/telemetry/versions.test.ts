import { expect, test } from "bun:test";

// One OpenTelemetry release line across the tree: two copies of `core` or `resources` would
// mean two global registries and two resource types that do not merge.
const lock = Bun.JSONC.parse(await Bun.file(new URL("../../bun.lock", import.meta.url)).text()) as {
  packages: Record<string, [string, ...unknown[]]>;
};

// otlp-decoders is the test-only alias of otlp-transformer 0.200.0, kept for its decoders.
const installed = Object.entries(lock.packages)
  .filter(([key]) => key !== "otlp-decoders")
  .map(([, [spec]]) => spec)
  .filter((spec) => spec.startsWith("@opentelemetry/"));

const versionsOf = new Map<string, Set<string>>();
for (const spec of installed) {
  const at = spec.lastIndexOf("@");
  const name = spec.slice(0, at);
  const versions = versionsOf.get(name) ?? new Set();
  versions.add(spec.slice(at + 1));
  versionsOf.set(name, versions);
}

test("the lockfile holds one version of each OpenTelemetry package", () => {
  const repeated = [...versionsOf].filter(([, v]) => v.size > 1).map(([n, v]) => `${n}: ${[...v]}`);
  expect(repeated).toEqual([]);
});

test("every OpenTelemetry package is on the 2.x line: api 1.9, stable 2.12.1, experimental 0.223", () => {
  // exporter-metrics-otlp-{proto,http} have no 0.223.1; everything they pin is overridden.
  const onlyPatchZero = new Set([
    "@opentelemetry/exporter-metrics-otlp-proto",
    "@opentelemetry/exporter-metrics-otlp-http",
  ]);
  const off = [...versionsOf].flatMap(([name, versions]) =>
    [...versions]
      .filter((version) => {
        if (name === "@opentelemetry/api") return version !== "1.9.1";
        if (name === "@opentelemetry/semantic-conventions") return !version.startsWith("1.");
        if (version.startsWith("0."))
          return version !== (onlyPatchZero.has(name) ? "0.223.0" : "0.223.1");
        return version !== "2.12.1";
      })
      .map((version) => `${name}@${version}`),
  );
  expect(off).toEqual([]);
  expect(versionsOf.get("@opentelemetry/resources")).toEqual(new Set(["2.12.1"]));
});
