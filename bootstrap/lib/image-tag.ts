// Content-derived image tags: the tag changes exactly when a service's build inputs change,
// so the tag in gitops/services/<svc>.yaml says which code runs (see the contract, "Image tags").
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CliError } from "../../cli/errors.ts";
import { imageRepository, type Service } from "./names.ts";
import { exec } from "./run.ts";

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

/** Where a tag's inputs are read from: the files on disk, or the last commit. */
export type Source = "worktree" | "HEAD";

/**
 * sha256 over the git-tracked build inputs, sorted by path: for each file its path and content,
 * nothing else (no modes, no timestamps). First 12 hex characters. From the working tree
 * (what `docker build` copies) or from HEAD (what is committed: the tag check and CI use that,
 * so uncommitted edits never turn the tests red).
 */
export async function contentTag(
  root: string,
  service: Service,
  from: Source = "worktree",
): Promise<string> {
  const files =
    from === "HEAD" ? await committedFiles(root, service) : await workingFiles(root, service);
  const hash = createHash("sha256");
  for (const [path, content] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    hash.update(`${path}\0`);
    hash.update(content);
    hash.update("\0");
  }
  if (files.size === 0) {
    throw new CliError(
      `no git-tracked files under apps/${service}`,
      `commit the service first: git add apps/${service}`,
    );
  }
  return hash.digest("hex").slice(0, 12);
}

async function listInputs(root: string, service: Service, env?: Record<string, string>) {
  const listed = await exec(
    { argv: ["git", "ls-files", "-z", "--", ...buildInputs(service)] },
    { cwd: root, env },
  );
  if (listed.code !== 0) {
    throw new CliError(
      `cannot list the build inputs of ${service}: ${listed.stderr.trim()}`,
      "run this from a git clone of the repository",
    );
  }
  return listed.stdout.split("\0").filter(Boolean);
}

async function workingFiles(root: string, service: Service): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for (const path of await listInputs(root, service)) {
    const file = Bun.file(join(root, path));
    if (!(await file.exists())) continue; // deleted in the working tree: not an input any more
    files.set(path, new Uint8Array(await file.arrayBuffer()));
  }
  return files;
}

/** The build inputs as HEAD has them: listed through a throw-away index, read with cat-file. */
async function committedFiles(root: string, service: Service): Promise<Map<string, Uint8Array>> {
  const dir = mkdtempSync(join(tmpdir(), "content-tag-"));
  try {
    const env = { GIT_INDEX_FILE: join(dir, "index") };
    const read = await exec({ argv: ["git", "read-tree", "HEAD"] }, { cwd: root, env });
    if (read.code !== 0) {
      throw new CliError(
        `cannot read the last commit: ${read.stderr.trim()}`,
        "commit something first (git commit)",
      );
    }
    const paths = await listInputs(root, service, env);
    const files = new Map<string, Uint8Array>();
    if (paths.length === 0) return files;
    const cat = Bun.spawn(["git", "cat-file", "--batch"], {
      cwd: root,
      stdin: new TextEncoder().encode(paths.map((p) => `HEAD:${p}\n`).join("")),
      stdout: "pipe",
      stderr: "ignore",
    });
    const out = new Uint8Array(await new Response(cat.stdout).arrayBuffer());
    await cat.exited;
    // Each answer: "<sha> blob <size>\n<content>\n".
    let at = 0;
    for (const path of paths) {
      const eol = out.indexOf(10, at);
      const header = new TextDecoder().decode(out.subarray(at, eol)).split(" ");
      const size = Number(header[2]);
      files.set(path, out.subarray(eol + 1, eol + 1 + size));
      at = eol + 1 + size + 1;
    }
    return files;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const valuesFile = (service: Service) => `gitops/services/${service}.yaml`;
export const imageRef = (service: Service, tag: string) => `${imageRepository(service)}:${tag}`;

/** The image.tag written in gitops/services/<svc>.yaml (on disk or at HEAD), or undefined. */
export async function committedTag(
  root: string,
  service: Service,
  from: Source = "worktree",
): Promise<string | undefined> {
  let text: string;
  if (from === "HEAD") {
    const shown = await exec(
      { argv: ["git", "show", `HEAD:${valuesFile(service)}`] },
      { cwd: root },
    );
    if (shown.code !== 0) return undefined;
    text = shown.stdout;
  } else {
    const file = Bun.file(join(root, valuesFile(service)));
    if (!(await file.exists())) return undefined;
    text = await file.text();
  }
  const values = Bun.YAML.parse(text) as { image?: { tag?: unknown } } | null;
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
  throw new CliError(
    "the values file has no image.tag to update",
    'add an `image:` block with `tag: "<tag>"` to it',
  );
}
