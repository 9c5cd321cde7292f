import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { committedTag, contentTag, valuesFile, withTag } from "./image-tag.ts";
import { SERVICES } from "./names.ts";

const root = resolve(import.meta.dir, "..", "..");

describe("content tags", () => {
  // Fails whenever service code changed after the last release: the message says how to fix it.
  test("gitops/services/<svc>.yaml image.tag equals the content tag of the service's code", async () => {
    const mismatches: string[] = [];
    for (const service of SERVICES) {
      const [want, have] = await Promise.all([
        contentTag(root, service),
        committedTag(root, service),
      ]);
      if (have !== want) {
        mismatches.push(
          `${valuesFile(service)} has image.tag ${have ?? "(none)"}, the code's content tag is ${want}: run \`bun bootstrap/release.ts ${service}\` (or \`--no-build\` to only write the tag)`,
        );
      }
    }
    expect(mismatches).toEqual([]);
  });

  test("a tag is 12 hex characters and stable for the same content", async () => {
    const [a, b] = await Promise.all([
      contentTag(root, "api-gateway"),
      contentTag(root, "api-gateway"),
    ]);
    expect(a).toMatch(/^[0-9a-f]{12}$/);
    expect(a).toBe(b);
    expect(await contentTag(root, "user-service")).not.toBe(a);
  });

  test("withTag rewrites only image.tag, keeping comments and other keys", () => {
    const yaml = [
      "# values for api-gateway",
      "image:",
      "  repository: sandbox/api-gateway",
      '  tag: "0123456789ab" # written by release.ts',
      "  pullPolicy: IfNotPresent",
      "otel:",
      "  tag: keep-me",
      "",
    ].join("\n");
    expect(withTag(yaml, "fedcba987654")).toBe(yaml.replace('"0123456789ab"', '"fedcba987654"'));
    expect(() => withTag("replicas: 1\n", "x")).toThrow("no image.tag");
  });
});
