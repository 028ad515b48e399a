/**
 * Multiples of the base delay (WEBHOOK_RETRY_BASE_MS) before each retry: with the default 10 s,
 * 10 s, 30 s, 2 min, 10 min, 1 h, 2 h, then every 4 h. Close to the schedules of Svix and Stripe;
 * the later steps let a receiver that is down for hours still get the event.
 */
export const RETRY_MULTIPLIERS = [1, 3, 12, 60, 360, 720, 1440] as const;

/** Jitter, as a fraction of the delay either way, so retries of many deliveries do not align. */
export const RETRY_JITTER = 0.2;

/**
 * The delay before the next attempt after `failedAttempts` attempts have failed (1 for the
 * first), in milliseconds, with ±20 % jitter.
 *
 * @param random a number in [0, 1), `Math.random` unless given
 */
export function retryDelayMs(
  failedAttempts: number,
  baseMs: number,
  random: () => number = Math.random,
): number {
  const step = Math.min(Math.max(failedAttempts, 1), RETRY_MULTIPLIERS.length) - 1;
  const delay = baseMs * RETRY_MULTIPLIERS[step];
  return Math.round(delay * (1 - RETRY_JITTER + 2 * RETRY_JITTER * random()));
}
