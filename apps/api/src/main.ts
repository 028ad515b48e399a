import './instrument';
import {
  APP_DB_ROLE,
  checkAppLogin,
  configureHttpApp,
  ensureDatabase,
  installGracefulShutdown,
  loadConfigOrExit,
  stopTelemetry,
} from '@app/core';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { API_HTTP_OPTIONS, AppModule } from './app.module';

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit();
  // Pre-flight, before Nest logs anything: one clear line when PostgreSQL is not usable.
  const preflight = async () => {
    await ensureDatabase(config.DATABASE_URL);
    if (config.DATABASE_APP_URL) await checkAppLogin(config.DATABASE_APP_URL, APP_DB_ROLE);
  };
  await preflight().catch((error: Error) => {
    process.stderr.write(`api cannot start: ${error.message}\n`);
    process.exit(1);
  });
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(config), {
    bodyParser: false,
    bufferLogs: true,
    // Let start-up errors reach the catch below (one line) instead of Nest's abort.
    abortOnError: false,
  });
  configureHttpApp(app, config, API_HTTP_OPTIONS);
  installGracefulShutdown(app, config.SHUTDOWN_TIMEOUT_MS, stopTelemetry);
  await app.listen(config.PORT, '0.0.0.0');
  process.stdout.write(`control-plane api listening: http://localhost:${config.PORT}/docs\n`);
}

void bootstrap().catch((error: Error) => {
  process.stderr.write(`api failed to start: ${error.message}\n`);
  process.exit(1);
});
