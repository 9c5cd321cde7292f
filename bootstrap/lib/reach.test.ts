import { describe, expect, test } from "bun:test";
import { freePort } from "../../apps/telemetry/testing/process.ts";
import { answers, silent } from "./reach.ts";

// Each test waits on its own server or closed port: they run concurrently.
describe.concurrent("reach", () => {
  test("any HTTP answer counts, even a 404", async () => {
    using server = Bun.serve({ port: 0, fetch: () => new Response("no", { status: 404 }) });
    expect(await answers(server.url.href, 1_000)).toBe(true);
  });

  test("a closed port is reported within the window, by name", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const started = performance.now();
    expect(await silent([{ name: "Loki", url }], 600)).toEqual([`${url} (Loki)`]);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  test("a server that starts during the window is found", async () => {
    const port = await freePort();
    let server: ReturnType<typeof Bun.serve> | undefined;
    setTimeout(() => {
      server = Bun.serve({ port, fetch: () => new Response("ok") });
    }, 300);
    expect(await answers(`http://127.0.0.1:${port}`, 3_000, 100)).toBe(true);
    server?.stop(true);
  });
});
