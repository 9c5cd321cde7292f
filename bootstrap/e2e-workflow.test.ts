// .github/workflows/e2e.yaml cannot run here (no Docker); check what can be checked offline:
// pinned actions, that the commands it runs accept the flags it passes, and that the stack job
// asks otel-lgtm for what `bun run dev --stack` (apps/dev-stack.ts) sets up.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { CONTAINER, OTEL_LGTM, PORTS, stackFiles, stateDir } from "../apps/dev-stack.ts";
import { chooseDelivery, findRevision, parseLsRemote } from "./lib/git.ts";
import { parseUpArgs } from "./lib/up-args.ts";
import { parseOptions as parseVerifyOptions } from "./verify.ts";

interface Step {
  uses?: string;
  run?: string;
  if?: string;
  name?: string;
}
const workflow = Bun.YAML.parse(
  await Bun.file(join(import.meta.dir, "../.github/workflows/e2e.yaml")).text(),
) as { jobs: Record<string, { steps: Step[] }> };
const steps = workflow.jobs.kind?.steps ?? [];
const stackSteps = workflow.jobs.stack?.steps ?? [];
const text = await Bun.file(join(import.meta.dir, "../.github/workflows/e2e.yaml")).text();

// What GitHub fills in on a push to a fork's main.
const SHA = "0f3c2a9d5e7b8c1d4f6a0b2c3d4e5f60718293a4";
const github: Record<string, string> = {
  "github.repository": "someone/observability-sandbox",
  "github.sha": SHA,
};

// The arguments of a `bun bootstrap/<script>.ts …` step, with GitHub expressions filled in.
function argsOf(script: string, job = steps): string[] {
  const run = job.find((s) => s.run?.includes(`bun bootstrap/${script}`))?.run ?? "";
  const after = (run.split(`bun bootstrap/${script}`)[1] ?? "").replace(
    /\$\{\{\s*([^}\s]*)\s*\}\}/g,
    (_, name: string) => github[name] ?? "x",
  );
  return [...after.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => (m[1] ?? m[2]) as string);
}

describe("e2e workflow", () => {
  test("every action is pinned to a commit SHA with its version beside it", () => {
    const uses = [...text.matchAll(/uses: (\S+)@(\S+)(.*)$/gm)];
    expect(uses.length).toBeGreaterThanOrEqual(3);
    for (const [, action, ref, comment] of uses) {
      expect(ref, action).toMatch(/^[0-9a-f]{40}$/);
      expect(comment, action).toMatch(/# v\d+\.\d+\.\d+$/);
    }
  });

  test("brings the cluster up with up.ts, then runs verify.ts, with flags they accept", () => {
    const up = argsOf("up.ts");
    const options = parseUpArgs(up, {});
    expect(options.skipVerify).toBe(true); // verify runs as its own step
    expect(options.repo).toBe("https://github.com/someone/observability-sandbox.git");
    const verify = parseVerifyOptions(argsOf("verify.ts"));
    expect(verify.timeoutMs).toBe(300_000);
    const order = steps.map((s) => s.run ?? "");
    expect(order.findIndex((r) => r.includes("bootstrap/up.ts"))).toBeLessThan(
      order.findIndex((r) => r.includes("bootstrap/verify.ts")),
    );
  });

  test("its --repo and --revision pass up.ts's delivery decision on the runner's checkout", () => {
    const options = parseUpArgs(argsOf("up.ts"), {});
    expect(options.revision).toBe(SHA);
    // actions/checkout leaves HEAD detached at the pushed commit, the tip of main on the fork.
    const decision = chooseDelivery({
      facts: {
        isRepo: true,
        head: SHA,
        dirty: [],
        remoteName: "origin",
        remoteUrl: "https://github.com/someone/observability-sandbox",
      },
      flags: options,
      probe: {
        readable: true,
        pushable: false,
        revision: findRevision(parseLsRemote(`${SHA}\tHEAD\n${SHA}\trefs/heads/main\n`), SHA),
      },
    });
    expect(decision.problems).toEqual([]);
    expect(decision.warnings).toEqual([]);
    expect(decision.delivery).toMatchObject({
      mode: "remote",
      repoURL: "https://github.com/someone/observability-sandbox.git",
      revision: SHA,
    });
  });

  test("on failure prints Argo CD Application statuses and unhealthy pods' logs", () => {
    const diagnose = steps.find((s) => s.if === "failure()")?.run ?? "";
    expect(diagnose).toContain("get applications.argoproj.io");
    expect(diagnose).toContain("logs");
  });

  describe("the stack job", () => {
    const run = (name: string) => stackSteps.find((s) => s.name?.startsWith(name))?.run ?? "";
    const defaultUrl = (name: keyof typeof PORTS) => `http://localhost:${PORTS[name].container}`;

    test("runs bun run dev --stack in a process group of its own and waits until it is up", () => {
      const start = run("bun run dev --stack");
      expect(start).toContain("setsid bun run dev --stack > dev-stack.log 2>&1 &");
      expect(start).toContain("grep -q '^stack: up\\.' dev-stack.log");
      expect(start).toContain("curl -sf http://localhost:4000/readyz");
    });

    test("proves one request's trace, metric and log with verify.ts on otel-lgtm's published ports", () => {
      const verify = parseVerifyOptions(argsOf("verify.ts", stackSteps));
      expect(verify).toMatchObject({
        requests: 1,
        timeoutMs: 180_000,
        gateway: "http://localhost:4000", // bun run dev's default API_GATEWAY_PORT
        prometheus: defaultUrl("prometheus"),
        loki: defaultUrl("loki"),
        tempo: defaultUrl("tempo"),
        grafana: defaultUrl("grafana"),
      });
      const order = stackSteps.map((s) => s.run ?? "");
      expect(order.findIndex((r) => r.includes("bun run dev --stack"))).toBeLessThan(
        order.findIndex((r) => r.includes("bootstrap/verify.ts")),
      );
    });

    test("asks Prometheus and Grafana for the names the dashboards use, with the login dev --stack wrote", async () => {
      const names = run("The cluster's names");
      expect(names).toContain('job="api-gateway"');
      expect(names).toContain("traces_spanmetrics_latency_bucket{service=");
      expect(names).toContain("traces_service_graph_request_total{");
      const loginFile = join(stateDir({ HOME: "~" }), "grafana-login.env");
      expect(names).toContain(`s/^GF_SECURITY_ADMIN_PASSWORD=//p' ${loginFile}`);
      const files = await stackFiles();
      const uids = Object.keys(files)
        .filter((f) => f.startsWith("dashboards/"))
        .map((f) => JSON.parse(files[f] ?? "").uid as string);
      expect(names).toContain(`for uid in ${uids.join(" ")}; do`);
      const provisioned = Bun.YAML.parse(files["grafana-datasources.yaml"] ?? "") as {
        datasources: { uid: string }[];
      };
      expect(names).toContain(
        `for uid in ${provisioned.datasources.map((d) => d.uid).join(" ")}; do`,
      );
    });

    test("sends Ctrl-C to the whole group and checks the container is gone, the image kept", () => {
      const stop = run("Ctrl-C");
      expect(stop).toContain('kill -INT -- "-$group"');
      expect(stop).toContain(`grep -q '^stack: removed container ${CONTAINER}$' dev-stack.log`);
      expect(stop).toContain(`--filter name=${CONTAINER})`);
      expect(stop).toContain(`docker image inspect ${OTEL_LGTM.image}`);
      const diagnose = stackSteps.find((s) => s.if === "failure()")?.run ?? "";
      expect(diagnose).toContain(`docker logs ${CONTAINER}`);
    });
  });
});
