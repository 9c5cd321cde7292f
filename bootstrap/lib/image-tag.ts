// Content-derived image tags: the tag changes exactly when a service's build inputs change,
// so the tag in gitops/services/<svc>.yaml says which code runs (see the contract, "Image tags").
import { createHash } from "node:crypto";
import { join } from "node:path";
import { imageRepository, type Service } from "./names.ts";
import { BootstrapError, exec } from "./run.ts";

/**
 * The git-tracked inputs of a service's image, as git pathspecs relative to the repository
 * root: what its Dockerfile copies from the build context (see .dockerignore): the service,
 * the shared telemetry and service-kit packages, every workspace manifest (the frozen install checks them all),
 * the root manifest and the lockfile. Tests and benchmarks are not in the image, so they do not
 * change the tag.
 */
export const buildInputs = (service: Service) => [
  `apps/${service}`,
  "apps/telemetry",
  "apps/service-kit",
  "apps/*/package.json",
  "package.json",
  "bun.lock",
  ":(exclude,glob)**/*.test.ts",
  ":(exclude,glob)**/*.bench.ts",
  ":(exclude)apps/telemetry/testing",
];

/**
 * sha256 over the git-tracked build inputs (working-tree content), sorted by path: for each
 * file its path and content, nothing else (no modes, no timestamps). First 12 hex characters.
 */
export async function contentTag(root: string, service: Service): Promise<string> {
  const listed = await exec(
    { argv: ["git", "ls-files", "-z", "--", ...buildInputs(service)] },
    { cwd: root },
  );
  if (listed.code !== 0) {
    throw new BootstrapError(
      `cannot list the build inputs of ${service}: ${listed.stderr.trim()}`,
      "run this from a git clone of the repository",
    );
  }
  const paths = listed.stdout.split("\0").filter(Boolean).sort();
  const hash = createHash("sha256");
  let files = 0;
  for (const path of paths) {
    const file = Bun.file(join(root, path));
    if (!(await file.exists())) continue; // deleted in the working tree: not an input any more
    hash.update(`${path}\0`);
    hash.update(new Uint8Array(await file.arrayBuffer()));
    hash.update("\0");
    files++;
  }
  if (files === 0) {
    throw new BootstrapError(
      `no git-tracked files under apps/${service}`,
      `commit the service first: git add apps/${service}`,
    );
  }
  return hash.digest("hex").slice(0, 12);
}

export const valuesFile = (service: Service) => `gitops/services/${service}.yaml`;
export const imageRef = (service: Service, tag: string) => `${imageRepository(service)}:${tag}`;

/** The image.tag written in gitops/services/<svc>.yaml, or undefined when absent. */
export async function committedTag(root: string, service: Service): Promise<string | undefined> {
  const file = Bun.file(join(root, valuesFile(service)));
  if (!(await file.exists())) return undefined;
  const values = Bun.YAML.parse(await file.text()) as { image?: { tag?: unknown } } | null;
  const tag = values?.image?.tag;
  return tag === undefined || tag === null ? undefined : String(tag);
}

/**
 * Replaces image.tag in the values file's text, keeping comments and layout.
 * Throws when the file has no `image:` block with a `tag:` line.
 */
export function withTag(yaml: string, tag: string): string {
  const lines = yaml.split("\n");
  const imageAt = lines.findIndex((line) => /^image:\s*(#.*)?$/.test(line));
  if (imageAt >= 0) {
    for (let i = imageAt + 1; i < lines.length; i++) {
      const line = lines[i] ?? "";
      if (/^\S/.test(line)) break; // next top-level key: the image block ended
      const match = /^(\s+tag:\s*)(\S+)?(\s*#.*)?$/.exec(line);
      if (match) {
        lines[i] = `${match[1]}"${tag}"${match[3] ?? ""}`;
        return lines.join("\n");
      }
    }
  }
  throw new BootstrapError(
    "the values file has no image.tag to update",
    'add an `image:` block with `tag: "<tag>"` to it',
  );
}
