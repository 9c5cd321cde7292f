// The optional in-cluster traffic generator: rendered with real helm, delivered by the `traffic`
// child Application, off by default; its shell loop is run here against a stand-in gateway.
import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { $ } from "bun";
import { ensureTools } from "../../../scripts/tools.ts";

// The paths one cycle of the default mix visits (found ×7, not found ×2, invalid ×1).
const defaultMixPaths = ["1", "42", "123", "777", "1", "42", "123", "404", "999999", "abc"];

const chart = import.meta.dir;
const gitops = join(chart, "../..");
const { helm } = await ensureTools();

interface Container {
  command: string[];
  env: { name: string; value: string }[];
}
interface Manifest {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec: Record<string, unknown> & { replicas?: number };
}

async function render(...sets: string[]): Promise<Manifest[]> {
  const args = sets.flatMap((s) => ["--set", s]);
  const out = await $`${helm} template traffic ${chart} ${args}`.quiet().text();
  return out
    .split(/^---$/m)
    .map((doc) => Bun.YAML.parse(doc) as Manifest | null)
    .filter((doc): doc is Manifest => Boolean(doc?.kind));
}

const container = (deployment: Manifest) =>
  (deployment.spec.template as { spec: { containers: Container[] } }).spec
    .containers[0] as Container;
const env = (c: Container) => Object.fromEntries(c.env.map((e) => [e.name, e.value]));

const servers: ReturnType<typeof Bun.serve>[] = [];
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.stop(true);
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe("in-cluster traffic generator", () => {
  test("is off by default: the traffic Application deploys 0 replicas, after api-gateway", async () => {
    const [deployment] = await render();
    expect(deployment?.kind).toBe("Deployment");
    expect(deployment?.spec.replicas).toBe(0);

    const apps = (
      await $`${helm} template root ${join(gitops, "apps")} --set repoURL=https://x.test/r.git --set revision=main`
        .quiet()
        .text()
    )
      .split(/^---$/m)
      .map((doc) => Bun.YAML.parse(doc) as Manifest | null);
    const byName = (name: string) => apps.find((a) => a?.metadata.name === name);
    const traffic = byName("traffic");
    expect(traffic?.spec.source).toMatchObject({
      path: "gitops/charts/traffic",
      repoURL: "https://x.test/r.git",
    });
    expect(traffic?.spec.destination).toMatchObject({ namespace: "apps" });
    const wave = (m?: Manifest | null) =>
      Number(m?.metadata.annotations?.["argocd.argoproj.io/sync-wave"]);
    expect(wave(traffic)).toBeGreaterThan(wave(byName("api-gateway")));
  });

  test("enabled: one replica with the mix and rate from its values", async () => {
    const [deployment] = await render("enabled=true", "ratePerSecond=4");
    expect(deployment?.spec.replicas).toBe(1);
    const vars = env(container(deployment as Manifest));
    expect(vars.INTERVAL_SECONDS).toBe("0.250");
    expect(vars.GATEWAY).toBe("http://api-gateway.apps.svc:8080");
    expect(vars.PATHS?.split(" ")).toEqual(defaultMixPaths);
  });

  test("refuses a mix with no weight", async () => {
    const failed =
      await $`${helm} template traffic ${chart} --set mix.found=0 --set mix.notFound=0 --set mix.invalid=0`
        .quiet()
        .nothrow();
    expect(failed.exitCode).not.toBe(0);
    expect(failed.stderr.toString()).toContain("mix: at least one weight must be above 0");
  });

  test("its loop sends the mix steadily and stops on SIGTERM", async () => {
    const seen: string[] = [];
    const server = Bun.serve({
      port: 0,
      fetch(request) {
        const id = new URL(request.url).pathname.replace("/user/", "");
        seen.push(id);
        return new Response(null, {
          status: /^[1-9]\d*$/.test(id) ? (id === "404" ? 404 : 200) : 400,
        });
      },
    });
    servers.push(server);
    const [deployment] = await render(
      "enabled=true",
      "ratePerSecond=50",
      `gateway=http://127.0.0.1:${server.port}`,
    );
    const c = container(deployment as Manifest);
    // busybox's httpd serves the probes in the pod; here a stub stands in for it.
    const dir = mkdtempSync(join(tmpdir(), "traffic-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    await Bun.write(join(dir, "bin/httpd"), "#!/bin/sh\nexit 0\n");
    chmodSync(join(dir, "bin/httpd"), 0o755);
    const loop = Bun.spawn(c.command, {
      env: { ...env(c), WWW: join(dir, "www"), PATH: `${join(dir, "bin")}:${process.env.PATH}` },
      stdout: "pipe",
    });
    await Bun.sleep(700);
    loop.kill("SIGTERM");
    expect(await loop.exited).toBe(0);
    expect(await new Response(loop.stdout).text()).toStartWith("traffic: 1 42 123 777");
    // ~50/s at most, minus each request's own time.
    expect(seen.length).toBeGreaterThanOrEqual(10);
    expect(seen.length).toBeLessThanOrEqual(40);
    expect(seen.slice(0, 10)).toEqual(defaultMixPaths);
    // The probe files httpd serves are written before the loop starts.
    expect(await Bun.file(join(dir, "www/readyz")).text()).toBe("ok\n");
    expect(await Bun.file(join(dir, "www/healthz")).text()).toBe("ok\n");
  });
});
