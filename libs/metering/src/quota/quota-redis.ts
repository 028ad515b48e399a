import { AppConfig, InjectConfig, RedisConnectionFactory } from '@app/core';
import { Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import {
  ADD_USAGE_SCRIPT,
  COMMIT_MANY_SCRIPT,
  LOAD_SCRIPT,
  RESERVE_SCRIPT,
  SETTLE_SCRIPT,
} from './quota-scripts';

/**
 * Reservations settled per script run: each costs Redis some tens of µs (more on a busy
 * machine), so a run stays around a millisecond.
 */
const COMMIT_SCRIPT_ITEMS = 32;

type ScriptCall = (numberOfKeys: number, ...keysThenArgs: string[]) => Promise<unknown>;
interface QuotaCommands {
  cpQuotaReserve: ScriptCall;
  cpQuotaSettle: ScriptCall;
  cpQuotaCommitMany: ScriptCall;
  cpQuotaLoad: ScriptCall;
  cpQuotaAddUsage: ScriptCall;
}

/**
 * The metering library's Redis connection, with the quota scripts registered (ioredis sends
 * EVALSHA and falls back to EVAL when Redis does not know a script yet, e.g. after a restart).
 * Keys live under `<REDIS_KEY_PREFIX>:`. Commands fail fast while Redis is away (no offline
 * queue), so callers can fail closed or open at once instead of hanging.
 */
@Injectable()
export class QuotaRedis {
  readonly client: Redis & QuotaCommands;

  constructor(factory: RedisConnectionFactory, @InjectConfig() config: AppConfig) {
    const client = factory.create('client', 'quota', {
      keyPrefix: `${config.REDIS_KEY_PREFIX}:`,
      // Commands issued in one event-loop tick leave in one write: concurrent reservations
      // share syscalls instead of paying one each.
      enableAutoPipelining: true,
    });
    client.defineCommand('cpQuotaReserve', { lua: RESERVE_SCRIPT });
    client.defineCommand('cpQuotaSettle', { lua: SETTLE_SCRIPT });
    client.defineCommand('cpQuotaCommitMany', { lua: COMMIT_MANY_SCRIPT });
    client.defineCommand('cpQuotaLoad', { lua: LOAD_SCRIPT });
    client.defineCommand('cpQuotaAddUsage', { lua: ADD_USAGE_SCRIPT });
    this.client = client as Redis & QuotaCommands;
  }

  reserve(keys: string[], args: string[]): Promise<(string | number)[]> {
    return this.client.cpQuotaReserve(keys.length, ...keys, ...args) as Promise<
      (string | number)[]
    >;
  }

  settle(expiries: string, args: [string, string, string, string]): Promise<(string | number)[]> {
    return this.client.cpQuotaSettle(1, expiries, ...args) as Promise<(string | number)[]>;
  }

  /**
   * Commits several reservations of one tenant (COMMIT_MANY_SCRIPT), in script runs of at most
   * {@link COMMIT_SCRIPT_ITEMS}: each item is settled atomically on its own, and Redis runs one
   * script at a time, so a long run would hold every other client's reservations (the data
   * plane's next requests) for its whole length.
   *
   * @param items per reservation its member and actual quantity (decimal)
   * @returns per item SETTLE_SCRIPT's answer (`['unknown']` when Redis holds no trace of it)
   */
  async commitMany(
    expiries: string,
    now: number,
    items: readonly { member: string; actual: string }[],
  ): Promise<(string | number)[][]> {
    const replies: (string | number)[][] = [];
    for (let start = 0; start < items.length; start += COMMIT_SCRIPT_ITEMS) {
      const run = items.slice(start, start + COMMIT_SCRIPT_ITEMS);
      const flat = (await this.client.cpQuotaCommitMany(
        1,
        expiries,
        String(now),
        ...run.flatMap((item) => [item.actual, item.member]),
      )) as (string | number)[];
      run.forEach((_, i) =>
        replies.push(flat[3 * i] === 'unknown' ? ['unknown'] : flat.slice(3 * i, 3 * i + 3)),
      );
    }
    return replies;
  }

  load(keys: string[], args: string[]): Promise<number> {
    return this.client.cpQuotaLoad(keys.length, ...keys, ...args) as Promise<number>;
  }

  /** @returns per key 1 when it was raised, 0 when it was not loaded */
  addUsage(keys: string[], quantities: string[]): Promise<number[]> {
    return this.client.cpQuotaAddUsage(keys.length, ...keys, ...quantities) as Promise<number[]>;
  }
}
