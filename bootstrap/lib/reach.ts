// "Does anything answer there?": the first question of every command that talks to a service, so
// that a stopped cluster or a wrong port is named within seconds instead of after a long wait.

/**
 * True once `url` answers HTTP at all (any status: a 404 still proves a server listens); false when
 * nothing does within `windowMs` (refused, reset or silent). Retried in that window, because a
 * port-forward or a pod may just be starting.
 */
export async function answers(url: string, windowMs: number, retryMs = 500): Promise<boolean> {
  const deadline = performance.now() + windowMs;
  for (;;) {
    const left = deadline - performance.now();
    try {
      const response = await fetch(url, {
        signal: AbortSignal.timeout(Math.max(100, Math.min(3_000, left))),
        redirect: "manual",
      });
      await response.arrayBuffer();
      return true;
    } catch {
      if (performance.now() + retryMs >= deadline) return false;
      await Bun.sleep(retryMs);
    }
  }
}

/** The names of the targets where nothing answers, checked at the same time. */
export async function silent(
  targets: { name: string; url: string; path?: string }[],
  windowMs: number,
): Promise<string[]> {
  const answered = await Promise.all(
    targets.map((t) => answers(`${t.url}${t.path ?? ""}`, windowMs)),
  );
  return targets.filter((_, i) => !answered[i]).map((t) => `${t.url} (${t.name})`);
}
