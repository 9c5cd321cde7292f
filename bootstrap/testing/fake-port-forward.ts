// A stand-in for `kubectl port-forward svc/<name> :<port>` that really forwards: it listens on a
// free 127.0.0.1 port, prints kubectl's "Forwarding from" lines, and passes each HTTP request on
// to the address in FAKE_FORWARD_<NAME> (the Service name upper-cased, dashes as underscores),
// logging "Handling connection for <port>" as kubectl does. A Service without an address is not
// found, with kubectl's message and exit code. Every call is appended to FAKE_KUBECTL_LOG.
// Run through a `kubectl` wrapper on PATH: exec bun fake-port-forward.ts "$@".
import { appendFileSync } from "node:fs";

const args = Bun.argv.slice(2);
const log = (line: string) => {
  if (process.env.FAKE_KUBECTL_LOG) appendFileSync(process.env.FAKE_KUBECTL_LOG, `${line}\n`);
};
log(args.join(" "));

const service = args.find((a) => a.startsWith("svc/"))?.slice(4);
const remotePort = args.find((a) => /^\d*:\d+$/.test(a))?.split(":")[1];
if (!args.includes("port-forward") || !service || !remotePort) {
  console.error(
    `fake kubectl: only port-forward svc/<name> [local]:<port> is modelled, got ${args.join(" ")}`,
  );
  process.exit(1);
}
const target = process.env[`FAKE_FORWARD_${service.toUpperCase().replaceAll("-", "_")}`];
if (!target) {
  console.error(`Error from server (NotFound): services "${service}" not found`);
  process.exit(1);
}
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(request) {
    console.log(`Handling connection for ${server.port}`);
    const url = new URL(request.url);
    const upstream = await fetch(`${target}${url.pathname}${url.search}`, {
      method: request.method,
      headers: request.headers,
      body: request.body,
    });
    return new Response(upstream.body, { status: upstream.status, headers: upstream.headers });
  },
});
console.log(`Forwarding from 127.0.0.1:${server.port} -> ${remotePort}`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    log(`stopped svc/${service}`);
    process.exit(0);
  });
}
