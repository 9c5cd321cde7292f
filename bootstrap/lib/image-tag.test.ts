import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { $ } from "bun";
import { makeFixture } from "../testing/fixture.ts";
import { buildInputs, committedTag, contentTag, valuesFile, withTag } from "./image-tag.ts";
import { SERVICES } from "./names.ts";

const root = resolve(import.meta.dir, "..", "..");

describe("content tags", () => {
  // About committed state (HEAD), so uncommitted edits keep it green; it fails when service code
  // was committed without its release, and the message says how to fix it.
  test("gitops/services/<svc>.yaml image.tag equals the content tag of the service's code", async () => {
    const mismatches: string[] = [];
    for (const service of SERVICES) {
      const [want, have] = await Promise.all([
        contentTag(root, service, "HEAD"),
        committedTag(root, service, "HEAD"),
      ]);
      if (have !== want) {
        mismatches.push(
          `${valuesFile(service)} has image.tag ${have ?? "(none)"} at HEAD, the committed code's content tag is ${want}: run \`bun bootstrap/release.ts ${service}\` (it writes and commits the tag; --no-build skips the image)`,
        );
      }
    }
    expect(mismatches).toEqual([]);
  });

  // The Dockerfiles belong to the services; this keeps the tag's inputs in step with them.
  test("every file a Dockerfile copies from the build context is a tag input", async () => {
    const listed = async (paths: string[]) =>
      (await $`git ls-files -z -- ${paths}`.cwd(root).quiet().text()).split("\0").filter(Boolean);
    for (const service of SERVICES) {
      const dockerfile = await Bun.file(join(root, "apps", service, "Dockerfile")).text();
      const sources = dockerfile
        .split("\n")
        .filter((line) => /^COPY\s/i.test(line) && !/--from=/.test(line))
        .flatMap((line) => line.trim().split(/\s+/).slice(1, -1));
      expect(sources.length).toBeGreaterThan(0);
      const inputs = new Set(await listed(buildInputs(service)));
      const copied = (await listed(sources)).filter(
        // What .dockerignore keeps out of the build context.
        (path) =>
          !path.endsWith(".test.ts") &&
          !path.endsWith(".bench.ts") &&
          !path.startsWith("apps/telemetry/testing/"),
      );
      expect(copied.filter((path) => !inputs.has(path))).toEqual([]);
    }
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

  test("the tag follows what goes into the image: code and manifests yes, tests no", async () => {
    const f = await makeFixture({ origin: null });
    try {
      const before = await contentTag(f.repo, "api-gateway");
      const commitFile = async (path: string, text: string) => {
        mkdirSync(dirname(join(f.repo, path)), { recursive: true });
        writeFileSync(join(f.repo, path), text);
        await f.git("add", path);
        await f.git("commit", "-qm", path);
        return contentTag(f.repo, "api-gateway");
      };
      expect(await commitFile("apps/api-gateway/app.test.ts", "test('x', () => {});\n")).toBe(
        before,
      );
      expect(await commitFile("apps/telemetry/testing/receiver.ts", "export {};\n")).toBe(before);
      expect(await commitFile("apps/telemetry/encoder.bench.ts", "export {};\n")).toBe(before);
      expect(await commitFile("README.md", "# docs\n")).toBe(before);
      const manifest = await commitFile(
        "apps/user-service/package.json",
        '{ "name": "user-service" }\n',
      );
      expect(manifest).not.toBe(before);
      expect(await commitFile("apps/telemetry/index.ts", "export const telemetry = 2;\n")).not.toBe(
        manifest,
      );
      // Content, not history: an uncommitted edit changes it too, and reverting restores it.
      const committed = await contentTag(f.repo, "api-gateway");
      writeFileSync(join(f.repo, "apps/api-gateway/index.ts"), "// edited\n");
      expect(await contentTag(f.repo, "api-gateway")).not.toBe(committed);
      // From HEAD: the edit does not count until it is committed.
      expect(await contentTag(f.repo, "api-gateway", "HEAD")).toBe(committed);
      await f.git("checkout", "--", "apps/api-gateway/index.ts");
      expect(await contentTag(f.repo, "api-gateway")).toBe(committed);
    } finally {
      f.cleanup();
    }
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
