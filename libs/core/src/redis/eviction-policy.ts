import type Redis from 'ioredis';

/**
 * BullMQ keeps jobs as ordinary keys: a Redis that evicts keys under memory pressure silently
 * loses jobs. See BullMQ's "Going to production" guide (maxmemory-policy must be noeviction).
 */
export const REQUIRED_EVICTION_POLICY = 'noeviction';

/** Reads `maxmemory_policy` from `INFO memory` (works where managed Redis disables `CONFIG`). */
export async function readEvictionPolicy(redis: Redis): Promise<string | undefined> {
  const info = await redis.info('memory');
  return /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
}

/**
 * Decides whether a worker may run against a Redis with this eviction policy.
 *
 * @returns `undefined` when it may, else the one-line reason it may not.
 */
export function evictionPolicyProblem(
  policy: string | undefined,
  allowEviction: boolean,
): string | undefined {
  if (policy === REQUIRED_EVICTION_POLICY || allowEviction) return undefined;
  const seen = policy ? `is "${policy}"` : 'could not be read';
  return (
    `Redis maxmemory-policy ${seen}; BullMQ needs "${REQUIRED_EVICTION_POLICY}" or queued jobs can be evicted and lost. ` +
    `Run "CONFIG SET maxmemory-policy noeviction" or set REDIS_ALLOW_EVICTION=true to start anyway.`
  );
}
