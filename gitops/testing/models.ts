// Schema validation of Kubernetes objects with kubernetes-models (core kinds) and the CRD models
// of Argo CD and the Prometheus Operator. An object of a kind without a model is an error, so a
// new kind in the tree cannot slip through unvalidated.

type Validatable = { validate(): void };
type ModelClass = new (data: unknown) => Validatable;

/** apiVersion → module prefix that holds one module per kind. */
const modulePrefixes: Record<string, string> = {
  "argoproj.io/v1alpha1": "@kubernetes-models/argo-cd/argoproj.io/v1alpha1",
  "monitoring.coreos.com/v1": "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1",
  "monitoring.coreos.com/v1alpha1":
    "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1alpha1",
};

function modulePath(apiVersion: string, kind: string): string {
  const prefix = modulePrefixes[apiVersion];
  if (prefix) return `${prefix}/${kind}`;
  if (!/^[a-z0-9.]*\/?v\d+((alpha|beta)\d+)?$/.test(apiVersion)) {
    throw new Error(`unknown apiVersion ${apiVersion}`);
  }
  // Core group objects ("v1") live in kubernetes-models/v1, others under their group folder.
  return `kubernetes-models/${apiVersion}/${kind}`;
}

async function modelFor(apiVersion: string, kind: string): Promise<ModelClass> {
  const path = modulePath(apiVersion, kind);
  let module: Record<string, unknown>;
  try {
    module = await import(path);
  } catch {
    throw new Error(`no schema model for ${apiVersion} ${kind} (looked for ${path})`);
  }
  const model = module[kind];
  if (typeof model !== "function") throw new Error(`${path} does not export ${kind}`);
  return model as ModelClass;
}

/** Validates one object; throws with the object's identity and the schema errors. */
export async function validateObject(object: {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string };
}): Promise<void> {
  const Model = await modelFor(object.apiVersion, object.kind);
  try {
    new Model(object).validate();
  } catch (error) {
    const name = object.metadata?.name ?? "(unnamed)";
    throw new Error(
      `${object.apiVersion} ${object.kind} ${name} is invalid: ${(error as Error).message}`,
    );
  }
}
