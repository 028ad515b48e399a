import Redis from 'ioredis';
import { loadConfig } from '../config/config.schema';
import { evictionPolicyProblem, readEvictionPolicy } from './eviction-policy';

describe('Redis eviction policy check', () => {
  it('reads the policy of the real Redis', async () => {
    const redis = new Redis(loadConfig(process.env).REDIS_URL);
    try {
      const policy = await readEvictionPolicy(redis);
      expect(policy).toEqual(
        await redis.config('GET', 'maxmemory-policy').then((r) => (r as string[])[1]),
      );
    } finally {
      redis.disconnect();
    }
  });

  it('accepts noeviction', () => {
    expect(evictionPolicyProblem('noeviction', false)).toBeUndefined();
  });

  it('refuses an evicting policy and says why and how to override', () => {
    const problem = evictionPolicyProblem('allkeys-lru', false);
    expect(problem).toContain('"allkeys-lru"');
    expect(problem).toContain('REDIS_ALLOW_EVICTION=true');
    expect(problem).not.toContain('\n');
  });

  it('refuses an unreadable policy', () => {
    expect(evictionPolicyProblem(undefined, false)).toContain('could not be read');
  });

  it('allows any policy when told to', () => {
    expect(evictionPolicyProblem('allkeys-lru', true)).toBeUndefined();
  });
});
