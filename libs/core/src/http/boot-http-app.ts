import { DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { AppConfig, loadConfigOrExit } from '../config/config.schema';
import { APP_DB_ROLE } from '../database/data-source-options';
import { checkAppLogin, ensureDatabase } from '../database/ensure-database';
import { stopTelemetry } from '../telemetry/telemetry';
import { configureHttpApp, HttpAppOptions, installGracefulShutdown } from './configure-http-app';

export interface BootOptions {
  /** `api`, `worker`, `gateway`: names the process in its start-up lines. */
  name: string;
  module: (config: AppConfig) => DynamicModule;
  http: HttpAppOptions;
  port: (config: AppConfig) => number;
  /** The line printed once listening. */
  banner: (config: AppConfig) => string;
  /** Checks after PostgreSQL's and before Nest starts (the worker's Redis eviction policy). */
  preflight?: (config: AppConfig) => Promise<void>;
}

/**
 * Starts one of the HTTP apps the way `main.ts` must: configuration validated (one line and exit
 * when bad), PostgreSQL checked before Nest logs anything, the app's HTTP set-up, graceful
 * shutdown, listen on all interfaces. Any start-up failure is one line on stderr and exit 1.
 */
export function bootHttpApp(options: BootOptions): void {
  const fail = (what: string) => (error: Error) => {
    process.stderr.write(`${options.name} ${what}: ${error.message}\n`);
    process.exit(1);
  };
  const boot = async () => {
    const config = loadConfigOrExit();
    await (async () => {
      await ensureDatabase(config.DATABASE_URL);
      if (config.DATABASE_APP_URL) await checkAppLogin(config.DATABASE_APP_URL, APP_DB_ROLE);
    })().catch(fail('cannot start'));
    await options.preflight?.(config);
    const app = await NestFactory.create<NestExpressApplication>(options.module(config), {
      bodyParser: false,
      bufferLogs: true,
      // Let start-up errors reach the catch below (one line) instead of Nest's abort.
      abortOnError: false,
    });
    if (options.http.configure) options.http.configure(app, config);
    else configureHttpApp(app, config, options.http);
    installGracefulShutdown(app, config.SHUTDOWN_TIMEOUT_MS, stopTelemetry);
    await app.listen(options.port(config), '0.0.0.0');
    process.stdout.write(`${options.banner(config)}\n`);
  };
  void boot().catch(fail('failed to start'));
}
