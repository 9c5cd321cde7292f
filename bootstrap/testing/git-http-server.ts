// A stand-in for the in-cluster git server's HTTP side: git's own smart-HTTP CGI
// (git http-backend) behind Bun.serve, in front of which sit the access rules Soft Serve v0.12.2
// applies with the settings manifests.ts gives it (ANON_ACCESS=read-only, ALLOW_KEYLESS=true),
// as read in charmbracelet/soft-serve at v0.12.2:
// - withAccess (pkg/web/git.go): git-receive-pack (its info/refs advertisement and the POST)
//   needs read-write, else 401 with `WWW-Authenticate: Basic …`; the repository is created on
//   the first authorised push; git-upload-pack needs read-only, and answers 404 for a missing
//   repository and 403 for bad credentials.
// - parseUsernamePassword (pkg/web/auth.go): basic auth whose password (any username) is an
//   access token; the admin's token gives admin access (AccessLevelForUser, pkg/backend/user.go),
//   no credential gives ANON_ACCESS (read-only), a wrong one gives no user at all.
// What it cannot prove: that the real server behaves so. Only Soft Serve itself can.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";

const HTTP_BACKEND = "/usr/lib/git-core/git-http-backend";

export interface StandInGitServer {
  url: string;
  /** Bare repositories, one directory per repository path (`observability-sandbox.git`). */
  root: string;
  /** One line per request: method, path and query, and whether a credential came with it. */
  requests: string[];
  stop(): void;
}

/** `tokens()` is asked on every request: the tokens the server has minted so far. */
export function startGitServer(root: string, tokens: () => string[]): StandInGitServer {
  mkdirSync(root, { recursive: true });
  const requests: string[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      const credential = basicPassword(request.headers.get("authorization"));
      requests.push(
        `${request.method} ${url.pathname}${url.search} ${credential === undefined ? "anonymous" : "with credential"}`,
      );
      const repo = /^\/([\w.-]+\.git)\//.exec(url.pathname)?.[1];
      if (!repo) return new Response("not found\n", { status: 404 });
      const service = url.pathname.endsWith("/git-receive-pack")
        ? "git-receive-pack"
        : url.pathname.endsWith("/git-upload-pack")
          ? "git-upload-pack"
          : url.searchParams.get("service");
      const user = credential !== undefined && tokens().includes(credential) ? "admin" : undefined;
      const badCredential = credential !== undefined && !user;
      const dir = join(root, repo);
      if (service === "git-receive-pack") {
        if (!user) return unauthorized();
        if (!existsSync(dir)) Bun.spawnSync(["git", "init", "-q", "--bare", dir]);
      } else if (service === "git-upload-pack") {
        if (!existsSync(dir)) return new Response("not found\n", { status: 404 });
        if (badCredential) return new Response("forbidden\n", { status: 403 });
      } else {
        return new Response("forbidden\n", { status: 403 }); // dumb HTTP: Soft Serve has none
      }
      return cgi(request, url, root, user);
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    root,
    requests,
    stop: () => void server.stop(true),
  };
}

function unauthorized(): Response {
  return new Response("unauthorized\n", {
    status: 401,
    headers: { "WWW-Authenticate": 'Basic realm="Git" charset="UTF-8", Token, Bearer' },
  });
}

function basicPassword(header: string | null): string | undefined {
  const [scheme, value = ""] = header?.split(" ", 2) ?? [];
  if (scheme?.toLowerCase() !== "basic") return undefined;
  const decoded = Buffer.from(value, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon < 0 ? decoded : decoded.slice(colon + 1);
}

/** Runs git http-backend as a CGI program and turns its output into a Response. */
async function cgi(request: Request, url: URL, root: string, user?: string): Promise<Response> {
  const body = request.body ? new Uint8Array(await request.arrayBuffer()) : undefined;
  const child = Bun.spawn([HTTP_BACKEND], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: "1",
      REQUEST_METHOD: request.method,
      PATH_INFO: url.pathname,
      QUERY_STRING: url.search.slice(1),
      CONTENT_TYPE: request.headers.get("content-type") ?? "",
      HTTP_CONTENT_ENCODING: request.headers.get("content-encoding") ?? "",
      GIT_PROTOCOL: request.headers.get("git-protocol") ?? "",
      // http-backend serves receive-pack only to an authenticated user.
      ...(user ? { REMOTE_USER: user } : {}),
    },
    stdin: body ?? "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const output = new Uint8Array(await new Response(child.stdout).arrayBuffer());
  await child.exited;
  const split = indexOfBlankLine(output);
  const head = new TextDecoder().decode(output.subarray(0, split.at));
  const headers = new Headers();
  let status = 200;
  for (const line of head.split(/\r?\n/).filter(Boolean)) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === "status") status = Number.parseInt(value, 10);
    else headers.append(name, value);
  }
  return new Response(output.subarray(split.at + split.length), { status, headers });
}

function indexOfBlankLine(bytes: Uint8Array): { at: number; length: number } {
  for (let i = 0; i + 1 < bytes.length; i++) {
    if (bytes[i] === 10 && bytes[i + 1] === 10) return { at: i, length: 2 };
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10)
      return { at: i, length: 4 };
  }
  return { at: bytes.length, length: 0 };
}
