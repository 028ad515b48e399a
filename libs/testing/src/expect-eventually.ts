/**
 * Polls `check` until it stops throwing or `timeoutMs` passes, then rethrows its last error.
 * For asynchronous work (jobs, caches) instead of a bare sleep.
 */
export async function expectEventually<T>(
  check: () => Promise<T> | T,
  { timeoutMs = 10_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
