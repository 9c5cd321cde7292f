// The Dockerfiles cannot be built here (no Docker engine): check statically what can be.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

const root = join(import.meta.dir, "..");
const services = ["api-gateway", "user-service"];

interface Instruction {
  keyword: string;
  args: string;
}

function instructions(dockerfile: string): Instruction[] {
  return dockerfile
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => {
      const [keyword = "", ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(" ") };
    });
}

describe.each(services)("apps/%s/Dockerfile", (service) => {
  const steps = instructions(readFileSync(join(root, "apps", service, "Dockerfile"), "utf8"));
  const of = (keyword: string) => steps.filter((step) => step.keyword === keyword);

  test("multi-stage, every stage on the pinned oven/bun release the tests run on", () => {
    const bases = of("FROM").map((step) => step.args.split(/\s+/)[0]);
    expect(bases.length).toBeGreaterThanOrEqual(2);
    for (const base of bases) expect(base).toMatch(/^oven\/bun:\d+\.\d+\.\d+-(slim|alpine)$/);
    expect(bases.every((base) => base === `oven/bun:${Bun.version}-slim`)).toBe(true);
  });

  test("installs production dependencies only, from the frozen lockfile", () => {
    const install = of("RUN").find((step) => step.args.includes("bun install"));
    expect(install?.args).toContain("--production");
    expect(install?.args).toContain("--frozen-lockfile");
  });

  test("runs as a non-root user", () => {
    const lastFrom = steps.findLastIndex((step) => step.keyword === "FROM");
    const user = steps.slice(lastFrom).findLast((step) => step.keyword === "USER");
    expect(user?.args).toBeDefined();
    expect(user?.args).not.toMatch(/^(root|0)(:|$)/);
  });

  test("the entry command exists, matches `bun run start`, and is in the build context", async () => {
    const cmd = JSON.parse(of("CMD").at(-1)?.args ?? "null") as string[];
    expect(cmd[0]).toBe("bun");
    const entry = cmd[1] as string;
    expect(existsSync(join(root, entry))).toBe(true);
    const { scripts } = await Bun.file(join(root, "apps", service, "package.json")).json();
    expect(`bun ${relative(join("apps", service), entry)}`).toBe(scripts.start);

    const copied = of("COPY")
      .filter((step) => !step.args.startsWith("--from"))
      .flatMap((step) => step.args.split(/\s+/).slice(0, -1));
    expect(copied.some((source) => entry.startsWith(source))).toBe(true);
    for (const source of copied) expect(existsSync(join(root, source))).toBe(true);
    const dockerignore = await Bun.file(join(root, ".dockerignore")).text();
    for (const dir of [`apps/${service}/`, "apps/telemetry/", "apps/service-kit/"])
      expect(dockerignore).toContain(`!${dir}`);
  });
});

describe("production code needs only production dependencies", () => {
  const transpiler = new Bun.Transpiler({ loader: "ts" });
  const sources = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory())
        return ["node_modules", "testing"].includes(entry.name) ? [] : sources(path);
      return entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") ? [path] : [];
    });

  test.each([...services, "telemetry", "service-kit"])(
    "apps/%s imports declared dependencies only",
    async (app) => {
      const dir = join(root, "apps", app);
      const { dependencies } = await Bun.file(join(dir, "package.json")).json();
      const allowed = new Set(Object.keys(dependencies ?? {}));
      const undeclared: string[] = [];
      for (const file of sources(dir)) {
        for (const { path } of transpiler.scanImports(await Bun.file(file).text())) {
          if (path.startsWith(".") || path.startsWith("node:") || path === "bun") continue;
          const name = path.startsWith("@")
            ? path.split("/").slice(0, 2).join("/")
            : path.split("/")[0];
          if (!allowed.has(name as string) || path.includes("/testing"))
            undeclared.push(`${relative(root, file)}: ${path}`);
        }
      }
      expect(undeclared).toEqual([]);
    },
  );
});
