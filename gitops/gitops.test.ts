// Every YAML file under gitops/ (and kind-config.yaml) parses; every Kubernetes object in the
// tree, committed or rendered with real helm, validates against its schema (core kinds and the
// Argo CD / Prometheus Operator CRDs); the local charts pass `helm lint --strict`.
import { describe, expect, test } from "bun:test";
import { loadYaml } from "../model/yaml.ts";
import { lintChart, renderChart } from "./testing/helm.ts";
import { gitopsDir, isKubeObject, loadDocs, yamlFilesUnder } from "./testing/load.ts";
import { validateObject } from "./testing/models.ts";
import { appsChart, loadTree, rootFile } from "./testing/tree.ts";

const yamlFiles = [...yamlFilesUnder(gitopsDir), "kind-config.yaml"];
const serviceValueFiles = yamlFilesUnder(`${gitopsDir}/services`);

describe("YAML under gitops/", () => {
  test("the tree has the files the stack needs", () => {
    for (const file of [
      rootFile,
      "gitops/apps/Chart.yaml",
      "gitops/charts/service/Chart.yaml",
      "gitops/services/api-gateway.yaml",
      "gitops/services/user-service.yaml",
      "gitops/values/kube-prometheus-stack.yaml",
      "gitops/values/loki.yaml",
      "gitops/values/tempo.yaml",
      "gitops/values/otel-collector.yaml",
      "kind-config.yaml",
    ]) {
      expect(yamlFiles).toContain(file);
    }
  });

  test.each(yamlFiles)("%s parses", (file) => {
    const docs = loadDocs(file);
    expect(docs.length, `${file} holds no YAML document`).toBeGreaterThan(0);
  });

  test.each(
    yamlFiles.filter(
      (file) =>
        loadDocs(file).some((doc) => isKubeObject(doc.value)) && file !== "kind-config.yaml",
    ),
  )("%s: every Kubernetes object matches its schema", async (file) => {
    for (const { value } of loadDocs(file)) {
      if (!isKubeObject(value))
        throw new Error(`${file}: a manifest file mixes objects and non-objects`);
      await validateObject(value);
    }
  });
});

describe("kind-config.yaml", () => {
  type KindConfig = {
    kind: string;
    apiVersion: string;
    name: string;
    nodes: {
      role: string;
      image: string;
      extraPortMappings?: {
        containerPort: number;
        hostPort: number;
        listenAddress?: string;
        protocol?: string;
      }[];
    }[];
  };
  const config = loadYaml<KindConfig>("kind-config.yaml");

  test("is a kind v1alpha4 Cluster named observability-sandbox with one control-plane node", () => {
    expect(config.kind).toBe("Cluster");
    expect(config.apiVersion).toBe("kind.x-k8s.io/v1alpha4");
    expect(config.name).toBe("observability-sandbox");
    expect(config.nodes.map((node) => node.role)).toEqual(["control-plane"]);
  });

  test("port mappings are well-formed: NodePort range inside, unprivileged on the host", () => {
    const mappings = config.nodes.flatMap((node) => node.extraPortMappings ?? []);
    expect(mappings.length).toBeGreaterThan(0);
    for (const mapping of mappings) {
      expect(Number.isInteger(mapping.containerPort)).toBe(true);
      expect(mapping.containerPort).toBeGreaterThanOrEqual(30000);
      expect(mapping.containerPort).toBeLessThanOrEqual(32767);
      expect(mapping.hostPort).toBeGreaterThan(1024);
      expect(mapping.protocol ?? "TCP").toBe("TCP");
    }
    const hostPorts = mappings.map((mapping) => mapping.hostPort);
    expect(new Set(hostPorts).size, "a host port is mapped twice").toBe(hostPorts.length);
  });
});

describe("rendered with helm", () => {
  test("the app-of-apps renders only valid Applications", async () => {
    const { children } = await loadTree();
    expect(children.length).toBeGreaterThan(0);
    for (const { app } of children) await validateObject(app);
  });

  test("the app-of-apps refuses to render without repoURL and revision", async () => {
    await expect(renderChart(appsChart, { release: "root", namespace: "argocd" })).rejects.toThrow(
      /repoURL is required/,
    );
  });

  test("every object a child deploys from this repository is valid", async () => {
    const { children } = await loadTree();
    let count = 0;
    for (const { objects } of children) {
      for (const { object } of objects) {
        await validateObject(object);
        count++;
      }
    }
    expect(count).toBeGreaterThan(0);
  });

  test("helm lint --strict passes for the app-of-apps chart", async () => {
    const root = loadYaml<{ spec: { source: { helm: { valuesObject: Record<string, string> } } } }>(
      rootFile,
    );
    const report = await lintChart(appsChart, { set: root.spec.source.helm.valuesObject });
    expect(report).toContain("0 chart(s) failed");
  });

  test.each(serviceValueFiles)(
    "helm lint --strict passes for the service chart with %s",
    async (file) => {
      expect(await lintChart("gitops/charts/service", { valueFiles: [file] })).toContain(
        "0 chart(s) failed",
      );
    },
  );

  test.each(serviceValueFiles)(
    "the service chart renders a valid Deployment and Service for %s",
    async (file) => {
      const name = file.replace(/^.*\//, "").replace(/\.ya?ml$/, "");
      const rendered = await renderChart("gitops/charts/service", {
        release: name,
        namespace: "apps",
        valueFiles: [file],
      });
      expect(rendered.map(({ object }) => `${object.kind}/${object.metadata.name}`).sort()).toEqual(
        [`Deployment/${name}`, `Service/${name}`],
      );
      for (const { object } of rendered) await validateObject(object);
    },
  );
});
