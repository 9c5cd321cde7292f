// .github/workflows/e2e-cluster.yaml cannot run here (no Docker): check what can be checked
// offline: pinned actions and images, kind's local-registry wiring, and that the commands it runs
// accept its flags and meet each other (the context it creates, the ports verify.ts reads).
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { parseUpArgs } from "./lib/up-args.ts";
import { TARGETS } from "./open.ts";
import { parseOptions as parseVerifyOptions, defaults as verifyDefaults } from "./verify.ts";

interface Step {
  uses?: string;
  run?: string;
  if?: string;
}
const root = join(import.meta.dir, "..");
const text = await Bun.file(join(root, ".github/workflows/e2e-cluster.yaml")).text();
const workflow = Bun.YAML.parse(text) as {
  env: Record<string, string>;
  jobs: Record<string, { steps: Step[] }>;
};
const steps = Object.values(workflow.jobs).flatMap((job) => job.steps);
const kindConfig = Bun.YAML.parse(
  await Bun.file(join(root, ".github/kind-with-registry.yaml")).text(),
) as { name: string; containerdConfigPatches: string[]; nodes: { role: string; image: string }[] };
const laptopKind = Bun.YAML.parse(await Bun.file(join(root, "kind-config.yaml")).text()) as {
  nodes: { image: string }[];
};

const github: Record<string, string> = {
  "github.repository": "someone/observability-sandbox",
  "github.sha": "0f3c2a9d5e7b8c1d4f6a0b2c3d4e5f60718293a4",
};
/** The arguments of the `bun bootstrap/<script>.ts …` call, GitHub expressions filled in. */
function argsOf(script: string): string[] {
  const run = steps.find((s) => s.run?.includes(`bun bootstrap/${script}`))?.run ?? "";
  const line = (run.split(`bun bootstrap/${script}`)[1] ?? "").split(/[>&\n]/)[0] ?? "";
  const filled = line.replace(
    /\$\{\{\s*([^}\s]*)\s*\}\}/g,
    (_, name: string) => github[name] ?? "x",
  );
  return [...filled.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => (m[1] ?? m[2]) as string);
}
const runs = steps.map((s) => s.run ?? "");
const indexOf = (needle: string) => runs.findIndex((r) => r.includes(needle));

describe("e2e-cluster workflow", () => {
  test("actions are pinned to commit SHAs, images to exact tags or digests", () => {
    const uses = [...text.matchAll(/uses: (\S+)@(\S+)(.*)$/gm)];
    expect(uses.length).toBe(3);
    for (const [, action, ref, comment] of uses) {
      expect(ref, action).toMatch(/^[0-9a-f]{40}$/);
      expect(comment, action).toMatch(/# v\d+\.\d+\.\d+$/);
    }
    expect(text).toContain("registry:2.8.3");
    for (const node of kindConfig.nodes)
      expect(node.image).toBe(laptopKind.nodes[0]?.image as string);
  });

  test("kind's local-registry setup: registry on localhost:5001, containerd reads certs.d, hosts.toml per node", () => {
    expect(text).toMatch(/-p "127\.0\.0\.1:5001:5000".*--name kind-registry registry:/);
    expect(kindConfig.containerdConfigPatches.join("\n")).toContain(
      'config_path = "/etc/containerd/certs.d"',
    );
    expect(text).toContain("/etc/containerd/certs.d/localhost:5001/hosts.toml");
    expect(text).toContain('[host."http://kind-registry:5000"]');
    expect(text).toContain("docker network connect kind kind-registry");
    expect(kindConfig.nodes.filter((n) => n.role === "worker").length).toBeGreaterThanOrEqual(2);
  });

  test("up.ts targets the cluster the job creates and the local registry", () => {
    const options = parseUpArgs(argsOf("up.ts"), {});
    expect(options.context).toBe(`kind-${kindConfig.name}`);
    expect(workflow.env.CONTEXT).toBe(options.context as string);
    expect(options.registry).toBe("localhost:5001");
    expect(options.repo).toBe("https://github.com/someone/observability-sandbox.git");
    expect(options.revision).toBe(github["github.sha"] as string);
  });

  test("open.ts forwards the UIs verify.ts reads, on the ports it reads them; verify forwards Loki and Tempo on the same cluster", () => {
    const args = argsOf("open.ts");
    expect(args.slice(args.indexOf("--context") + 1)[0]).toBe(`kind-${kindConfig.name}`);
    const names = args.slice(0, args.indexOf("--context"));
    const verify = parseVerifyOptions(argsOf("verify.ts"));
    expect(verify.timeoutMs).toBe(300_000);
    expect(verify.context).toBe(`kind-${kindConfig.name}`);
    expect(verify.loki).toBeUndefined();
    expect(verify.tempo).toBeUndefined();
    for (const [api, name] of [
      ["gateway", "gateway"],
      ["prometheus", "prometheus"],
      ["grafana", "grafana"],
    ] as const) {
      expect(names).toContain(name);
      expect(new URL(verifyDefaults[api]).port).toBe(String(TARGETS[name]?.localPort));
    }
  });

  test("in order: cluster, up.ts, port-forwards, verify.ts, down.ts; diagnostics on failure", () => {
    const order = [
      "kind create cluster",
      "bun bootstrap/up.ts",
      "bun bootstrap/open.ts",
      "bun bootstrap/verify.ts",
      "bun bootstrap/down.ts",
    ].map(indexOf);
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    const diagnose = steps.find((s) => s.if === "failure()")?.run ?? "";
    expect(diagnose).toContain("get applications.argoproj.io");
    expect(diagnose).toContain('--context "$CONTEXT"');
  });
});
