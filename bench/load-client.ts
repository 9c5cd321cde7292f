// A cheap HTTP/1.1 load generator on raw keep-alive sockets, run in its own process so its CPU
// is not charged to the services (fetch costs several times more per request).
//   open loop:   bun bench/load-client.ts open <url> <rate/s> <seconds> [connections]
//     sends on a fixed schedule whatever the answers do and measures each latency from the
//     request's intended send time, as wrk2 does: a stall counts against every request it
//     delays (no coordinated omission).
//   closed loop: bun bench/load-client.ts closed <url> <connections> <seconds>
//     each connection sends its next request when the previous answer is complete (the
//     fallback when wrk is not installed).
// Prints one JSON line: a LoadResult. Understands only Content-Length-framed answers, which is
// what Bun.serve sends for the services' JSON.
import type { Socket } from "bun";
import { summarize } from "./stats.ts";

const [mode, urlArg, amountArg, secondsArg, connectionsArg] = process.argv.slice(2);
const amount = Number(amountArg);
const seconds = Number(secondsArg);
if (!urlArg || !(amount > 0) || !(seconds > 0) || (mode !== "open" && mode !== "closed")) {
  console.error(
    "usage: load-client.ts open|closed <url> <rate|connections> <seconds> [connections]",
  );
  process.exit(2);
}
const url = new URL(urlArg);
const request = Buffer.from(
  `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nAccept: application/json\r\n\r\n`,
);
const connections = mode === "closed" ? amount : Number(connectionsArg ?? 32);

const latencies: number[] = [];
let errors = 0;
/** Intended send times of requests waiting for a free connection (open loop). */
const queue: number[] = [];
let queueHead = 0;
const idle: Socket<Connection>[] = [];
let stopped = false;

interface Connection {
  intended: number;
  pending: Buffer | undefined;
}

function send(socket: Socket<Connection>, intended: number) {
  socket.data.intended = intended;
  socket.write(request);
}

function next(socket: Socket<Connection>) {
  if (stopped) return;
  if (mode === "closed") return send(socket, performance.now());
  if (queueHead < queue.length) return send(socket, queue[queueHead++] as number);
  idle.push(socket);
}

/** Length of the first complete response in `bytes`, 0 while incomplete. */
function completeLength(bytes: Buffer): number {
  const headerEnd = bytes.indexOf("\r\n\r\n");
  if (headerEnd < 0) return 0;
  const head = bytes.toString("latin1", 0, headerEnd);
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (!length) throw new Error(`response without Content-Length: ${head.split("\r\n")[0]}`);
  const total = headerEnd + 4 + Number(length[1]);
  return bytes.length >= total ? total : 0;
}

async function connect(): Promise<Socket<Connection>> {
  return Bun.connect<Connection>({
    hostname: url.hostname,
    port: Number(url.port || 80),
    data: { intended: 0, pending: undefined },
    socket: {
      data(socket, chunk) {
        let bytes = socket.data.pending ? Buffer.concat([socket.data.pending, chunk]) : chunk;
        for (;;) {
          const total = completeLength(bytes);
          if (!total) break;
          // "HTTP/1.1 200": the status code starts at byte 9.
          if (bytes[9] !== 0x32) errors++;
          latencies.push(performance.now() - socket.data.intended);
          bytes = bytes.subarray(total);
          next(socket);
        }
        socket.data.pending = bytes.length ? Buffer.from(bytes) : undefined;
      },
      close() {
        if (!stopped) errors++;
      },
      error() {
        errors++;
      },
    },
  });
}

const sockets = await Promise.all(Array.from({ length: connections }, connect));
const started = performance.now();
const end = started + seconds * 1000;
if (mode === "closed") {
  for (const socket of sockets) next(socket);
  await Bun.sleep(seconds * 1000);
  stopped = true;
} else {
  idle.push(...sockets);
  const interval = 1000 / amount;
  const total = Math.floor(amount * seconds);
  let scheduled = 0;
  while (scheduled < total) {
    const due = Math.min(total, Math.floor((performance.now() - started) / interval) + 1);
    for (; scheduled < due; scheduled++) {
      const intended = started + scheduled * interval;
      const socket = idle.pop();
      if (socket) send(socket, intended);
      else queue.push(intended);
    }
    await Bun.sleep(Math.max(0, started + scheduled * interval - performance.now()));
  }
  // Let the last answers arrive (bounded, in case a service stalls).
  while (latencies.length + errors < total && performance.now() < end + 5000) await Bun.sleep(5);
  stopped = true;
}
const elapsed = (performance.now() - started) / 1000;
for (const socket of sockets) socket.end();
console.log(
  JSON.stringify({ ...summarize(latencies, mode === "closed" ? seconds : elapsed), errors }),
);
process.exit(0);
