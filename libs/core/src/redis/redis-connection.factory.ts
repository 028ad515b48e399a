import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import Redis, { RedisOptions } from 'ioredis';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';

/** What a connection is for; BullMQ workers need blocking commands that never time out. */
export type RedisConnectionRole = 'queue' | 'worker' | 'client';

/**
 * The one place ioredis connections are made. Queues, workers and plain clients all come from
 * here, so every connection shares the URL, naming and shutdown, and none is leaked.
 */
@Injectable()
export class RedisConnectionFactory implements OnApplicationShutdown {
  private readonly logger = new Logger('Redis');
  private readonly connections = new Set<Redis>();

  constructor(@InjectConfig() private readonly config: AppConfig) {}

  /**
   * Opens a connection. `queue` and `client` connections fail commands fast while Redis is away
   * (no offline queue), so a request never hangs on a dead Redis; `worker` connections wait and
   * retry forever, as BullMQ requires (`maxRetriesPerRequest: null`).
   */
  create(role: RedisConnectionRole, name: string = role, overrides: RedisOptions = {}): Redis {
    const blocking = role === 'worker';
    const connection = new Redis(this.config.REDIS_URL, {
      connectionName: `cp:${name}`,
      maxRetriesPerRequest: blocking ? null : 1,
      enableOfflineQueue: blocking,
      connectTimeout: 5_000,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
      ...redisSentinelOptions(this.config),
      ...overrides,
    });
    let lastError = '';
    connection.on('error', (error: Error) => {
      // ioredis retries by itself; log each distinct error once instead of every retry.
      if (error.message !== lastError) this.logger.warn(`${name}: ${error.message}`);
      lastError = error.message;
    });
    connection.on('ready', () => (lastError = ''));
    this.connections.add(connection);
    connection.once('end', () => this.connections.delete(connection));
    return connection;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(
      [...this.connections].map((connection) =>
        connection.status === 'ready'
          ? connection.quit().catch(() => connection.disconnect())
          : connection.disconnect(),
      ),
    );
  }
}

/**
 * ioredis options that reach Redis through Sentinel when REDIS_SENTINELS is set (none
 * otherwise): the Sentinels name the current primary of REDIS_SENTINEL_NAME, and a connection
 * that loses it (a failover) asks them again. The Sentinels are sent REDIS_URL's credentials and,
 * for `rediss:`, spoken to over TLS like the primary.
 */
export function redisSentinelOptions(
  config: Pick<AppConfig, 'REDIS_URL' | 'REDIS_SENTINELS' | 'REDIS_SENTINEL_NAME'>,
): RedisOptions {
  if (!config.REDIS_SENTINELS) return {};
  const url = new URL(config.REDIS_URL);
  const tls = url.protocol === 'rediss:';
  return {
    sentinels: config.REDIS_SENTINELS,
    name: config.REDIS_SENTINEL_NAME,
    ...(url.username ? { sentinelUsername: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { sentinelPassword: decodeURIComponent(url.password) } : {}),
    ...(tls ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
  };
}
