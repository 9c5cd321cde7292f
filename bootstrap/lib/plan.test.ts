import { describe, expect, test } from "bun:test";
import { gitServerInClusterUrl } from "./names.ts";
import { type Desired, plan, type State, type Step } from "./plan.ts";
import { show } from "./run.ts";

const API = "sandbox/api-gateway:aaaaaaaaaaaa";
const USER = "sandbox/user-service:bbbbbbbbbbbb";
const want: Desired = {
  clusterName: "observability-sandbox",
  context: "kind-observability-sandbox",
  kindConfig: "kind-config.yaml",
  images: [
    { service: "api-gateway", ref: API, dockerfile: "apps/api-gateway/Dockerfile" },
    { service: "user-service", ref: USER, dockerfile: "apps/user-service/Dockerfile" },
  ],
  delivery: {
    mode: "remote",
    repoURL: "https://github.com/u/r.git",
    revision: "main",
    why: "test",
  },
  branch: "main",
  head: "c".repeat(40),
  rootApp: { kind: "Application", spec: { source: { repoURL: "https://github.com/u/r.git" } } },
  grafanaPassword: "s3cret-password-value",
  pushTokenFile:
    "/home/you/.local/state/observability-sandbox/observability-sandbox/git-credentials",
  verify: false,
};

const fresh: State = {
  cluster: false,
  images: { [API]: { built: false, loaded: false }, [USER]: { built: false, loaded: false } },
  argocd: { deployed: false, valuesMatch: false },
  monitoringNamespace: false,
  grafanaSecret: false,
  gitServer: false,
  rootApp: "absent",
  appsReady: false,
};
const clusterOnly: State = { ...fresh, cluster: true };
const imagesLoaded: State = {
  ...clusterOnly,
  images: { [API]: { built: true, loaded: true }, [USER]: { built: true, loaded: true } },
};
const argoInstalled: State = {
  ...imagesLoaded,
  argocd: { deployed: true, chart: "argo-cd-10.1.1", valuesMatch: true },
};
const healthy: State = {
  ...argoInstalled,
  monitoringNamespace: true,
  grafanaSecret: true,
  projects: "matches",
  rootApp: "matches",
  appsReady: true,
};

const commands = (steps: Step[]) => steps.filter((s) => s.run).flatMap((s) => s.commands.map(show));
const running = (steps: Step[]) =>
  steps.filter((s) => s.run && s.kind === "change").map((s) => s.id);

describe("plan", () => {
  test("a fresh machine: every step, in order, with the exact commands", () => {
    const steps = plan(want, fresh);
    expect(running(steps)).toEqual([
      "cluster",
      "image-api-gateway",
      "image-user-service",
      "argocd",
      "grafana-secret",
      "projects",
      "root-app",
    ]);
    expect(commands(steps)).toEqual([
      "kind create cluster --name observability-sandbox --config kind-config.yaml --wait 120s",
      `docker build --tag ${API} --file apps/api-gateway/Dockerfile .`,
      `kind load docker-image ${API} --name observability-sandbox`,
      `docker build --tag ${USER} --file apps/user-service/Dockerfile .`,
      `kind load docker-image ${USER} --name observability-sandbox`,
      "helm upgrade --install argocd argo-cd --repo https://argoproj.github.io/argo-helm --version 10.1.1 --namespace argocd --create-namespace --values bootstrap/argocd-values.yaml --kube-context kind-observability-sandbox --wait --timeout 10m",
      "kubectl --context kind-observability-sandbox create namespace monitoring",
      "kubectl --context kind-observability-sandbox create -f -   # Secret monitoring/grafana-admin, random password",
      "kubectl --context kind-observability-sandbox apply -f -   # AppProjects default (nothing allowed), sandbox-root, observability",
      "kubectl --context kind-observability-sandbox apply -f -   # gitops/root.yaml with repoURL=https://github.com/u/r.git revision=main",
      "kubectl --context kind-observability-sandbox get applications.argoproj.io -n argocd -o json",
    ]);
  });

  test("the password goes to kubectl's stdin and never into a printed command", () => {
    const secret = plan(want, fresh).find((s) => s.id === "grafana-secret");
    const create = secret?.commands.at(-1);
    expect(JSON.parse(create?.stdin ?? "{}").stringData["admin-password"]).toBe(
      want.grafanaPassword,
    );
    expect(secret?.commands.map(show).join("\n")).not.toContain(want.grafanaPassword);
  });

  test("the cluster exists: no create, everything else still to do", () => {
    const steps = plan(want, clusterOnly);
    expect(running(steps)).not.toContain("cluster");
    expect(running(steps)).toContain("image-api-gateway");
    expect(steps.find((s) => s.id === "cluster")?.reason).toBe("exists");
  });

  test("a stopped node is started and a lost kubectl context exported, nothing recreated", () => {
    const node = "observability-sandbox-control-plane";
    const steps = plan(want, { ...healthy, stoppedNodes: [node], kubeContext: false });
    expect(running(steps)).toEqual(["cluster"]);
    expect(steps[0]?.reason).toBe(
      `node ${node} stopped: start it; kubectl has no context kind-observability-sandbox: export it`,
    );
    expect(steps[0]?.commands.map(show)).toEqual([
      `docker start ${node}`,
      "kind export kubeconfig --name observability-sandbox",
    ]);
  });

  test("images built but not loaded: load only; loaded: neither build nor load", () => {
    const builtOnly: State = {
      ...clusterOnly,
      images: { [API]: { built: true, loaded: false }, [USER]: { built: true, loaded: true } },
    };
    expect(commands(plan(want, builtOnly)).filter((c) => c.includes("sandbox/"))).toEqual([
      `kind load docker-image ${API} --name observability-sandbox`,
    ]);
    const steps = plan(want, imagesLoaded);
    expect(running(steps)).toEqual(["argocd", "grafana-secret", "projects", "root-app"]);
  });

  test("Argo CD installed with the same chart and values: no helm; other chart or values: upgrade", () => {
    expect(running(plan(want, argoInstalled))).toEqual(["grafana-secret", "projects", "root-app"]);
    const old: State = {
      ...argoInstalled,
      argocd: { deployed: true, chart: "argo-cd-9.0.0", valuesMatch: true },
    };
    expect(plan(want, old).find((s) => s.id === "argocd")?.reason).toContain("argo-cd-9.0.0");
    const edited: State = {
      ...argoInstalled,
      argocd: { deployed: true, chart: "argo-cd-10.1.1", valuesMatch: false },
    };
    expect(running(plan(want, edited))).toContain("argocd");
  });

  test("the monitoring namespace exists but not the Secret: only the Secret is created", () => {
    const steps = plan(want, { ...argoInstalled, monitoringNamespace: true });
    expect(steps.find((s) => s.id === "grafana-secret")?.commands.map(show)).toEqual([
      "kubectl --context kind-observability-sandbox create -f -   # Secret monitoring/grafana-admin, random password",
    ]);
  });

  test("everything healthy: no actions at all, only the read-only wait", () => {
    const steps = plan(want, healthy);
    expect(running(steps)).toEqual([]);
    expect(commands(steps)).toEqual([
      "kubectl --context kind-observability-sandbox get applications.argoproj.io -n argocd -o json",
    ]);
  });

  test("unknown state (Docker not reachable) plans every change and says why", () => {
    const steps = plan(want, { images: {} });
    expect(running(steps)).toHaveLength(7);
    expect(steps[0]?.reason).toContain("Docker not reachable");
  });

  test("local delivery: git server, push token, remote with its helper, push, and the root points in-cluster", () => {
    const local: Desired = {
      ...want,
      delivery: { mode: "local", repoURL: gitServerInClusterUrl(), revision: "main", why: "test" },
    };
    const steps = plan(local, { ...healthy, rootApp: "differs" });
    expect(running(steps)).toEqual([
      "git-server",
      "git-credential",
      "git-remote",
      "git-push",
      "root-app",
    ]);
    const url = "http://localhost:8300/observability-sandbox.git";
    expect(commands(steps)).toContain(`git remote add cluster ${url}`);
    // The helper is scoped to the remote's URL: "" drops your own helpers for it, then git's
    // store reads the token file.
    expect(commands(steps)).toContain(
      `git config --local --replace-all credential.${url}.helper ''`,
    );
    expect(commands(steps)).toContain(
      `git config --local --add credential.${url}.helper 'store --file '\\''${want.pushTokenFile}'\\'''`,
    );
    const push = steps.find((step) => step.id === "git-push")?.commands[0];
    expect(push?.argv.join(" ")).toBe("git push cluster HEAD:refs/heads/main");
    expect(push?.env).toEqual({ GIT_TERMINAL_PROMPT: "0" });
    // The mint prints no token: its display says where the token goes.
    const mint = steps.find((step) => step.id === "git-credential");
    expect(mint?.commands.map(show)).toEqual([
      "kubectl --context kind-observability-sandbox exec deployment/git-server --namespace argocd -- ssh … token create bootstrap-push   # the token goes to a 0600 file, not to the screen",
    ]);
    const done: State = {
      ...healthy,
      gitServer: true,
      gitServerSpec: "matches",
      pushTokenStored: true,
      clusterRemoteUrl: url,
      clusterRemoteHelpers: ["", `store --file '${want.pushTokenFile}'`],
      gitServerCommit: want.head,
    };
    expect(running(plan(local, done))).toEqual([]);
    // Keep or renew: a token is minted when none is stored, or when the server is new (its
    // database never saw the stored one); the remote is fixed when only its helper is missing.
    const reasonOf = (state: State, id: string) =>
      plan(local, state).find((step) => step.id === id);
    expect(reasonOf({ ...done, pushTokenStored: false }, "git-credential")).toMatchObject({
      run: true,
      reason: "none stored: mint one in the git server",
    });
    expect(reasonOf({ ...done, gitServerSpec: undefined }, "git-credential")).toMatchObject({
      run: true,
      reason: "the git server is new: mint a new one",
    });
    expect(reasonOf({ ...done, gitServerSpec: "differs" }, "git-credential")?.run).toBe(false);
    const helperOnly = reasonOf({ ...done, clusterRemoteHelpers: undefined }, "git-remote");
    expect(helperOnly?.reason).toBe("added; point its credential helper at the push token");
    expect(helperOnly?.commands.map((c) => c.argv.slice(0, 3).join(" "))).toEqual([
      "git config --local",
      "git config --local",
    ]);
    // A changed spec is applied in place.
    const gitServerCommands = (state: State) =>
      plan(local, state)
        .find((step) => step.id === "git-server")
        ?.commands.map((c) => c.argv.slice(3, 5).join(" "));
    expect(gitServerCommands({ ...done, gitServer: false, gitServerSpec: "differs" })).toEqual([
      "apply -f",
      "rollout status",
    ]);
  });

  test("the AppProjects are applied before the root, for its repository and profile", () => {
    type Project = { metadata: { name: string }; spec: Record<string, unknown[]> };
    const projectsOf = (w: Desired, state: State) => {
      const steps = plan(w, state);
      const ids = steps.map((s) => s.id);
      expect(ids.indexOf("projects")).toBe(ids.indexOf("root-app") - 1);
      const step = steps.find((s) => s.id === "projects");
      return step?.run ? (JSON.parse(step.commands[0]?.stdin ?? "{}").items as Project[]) : [];
    };
    expect(projectsOf(want, healthy)).toEqual([]);
    const laptop = projectsOf(want, { ...healthy, projects: "differs" });
    expect(laptop.map((p) => p.metadata.name)).toEqual([
      "default",
      "sandbox-root",
      "observability",
    ]);
    const [locked, root, stack] = laptop;
    expect(locked?.spec).toMatchObject({
      sourceRepos: [],
      destinations: [],
      clusterResourceWhitelist: [],
    });
    expect(root?.spec.sourceRepos).toEqual([want.delivery.repoURL]);
    expect(stack?.spec.sourceRepos?.[0]).toBe(want.delivery.repoURL);
    expect(stack?.spec.sourceRepos).not.toContain("https://seaweedfs.github.io/seaweedfs/helm");
    // The cluster profile (up.ts --context --registry) renders the bundled SeaweedFS.
    const onCluster: Desired = {
      ...want,
      target: {
        registry: "registry.test/team",
        platforms: ["linux/amd64"],
        objectStorageKeys: { accessKeyId: "k", secretAccessKey: "s" },
      },
    };
    const clusterStack = projectsOf(onCluster, { ...healthy, projects: "differs" })[2];
    expect(clusterStack?.spec.sourceRepos).toContain("https://seaweedfs.github.io/seaweedfs/helm");
  });

  test("verify runs last after a change or on a stack that was not ready; skipped otherwise", () => {
    const verifyStep = (state: State) => plan({ ...want, verify: true }, state).at(-1);
    expect(verifyStep(fresh)).toMatchObject({ id: "verify", run: true });
    // Its port-forwards reach the cluster up.ts just made, not kubectl's current context.
    expect(verifyStep(fresh)?.commands.map(show)).toEqual([
      `bun bootstrap/verify.ts --context ${want.context}`,
    ]);
    // Only the Secret is missing: a change, so verify runs.
    expect(verifyStep({ ...healthy, grafanaSecret: false })?.run).toBe(true);
    // Nothing to change, but the Applications were still syncing: verify runs.
    expect(verifyStep({ ...healthy, appsReady: false })?.run).toBe(true);
    const rerun = verifyStep(healthy);
    expect(rerun).toMatchObject({ id: "verify", run: false, commands: [] });
    expect(rerun?.reason).toContain("nothing changed");
  });
});
