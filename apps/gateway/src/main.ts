import './instrument';
import {
  APP_DB_ROLE,
  checkAppLogin,
  ensureDatabase,
  installGracefulShutdown,
  loadConfigOrExit,
  stopTelemetry,
} from '@app/core';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { configureGatewayApp, GatewayModule } from './gateway.module';

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit();
  const preflight = async () => {
    await ensureDatabase(config.DATABASE_URL);
    if (config.DATABASE_APP_URL) await checkAppLogin(config.DATABASE_APP_URL, APP_DB_ROLE);
  };
  await preflight().catch((error: Error) => {
    process.stderr.write(`gateway cannot start: ${error.message}\n`);
    process.exit(1);
  });
  const app = await NestFactory.create<NestExpressApplication>(GatewayModule.register(config), {
    bodyParser: false,
    bufferLogs: true,
    abortOnError: false,
  });
  configureGatewayApp(app, config);
  installGracefulShutdown(app, config.SHUTDOWN_TIMEOUT_MS, stopTelemetry);
  await app.listen(config.GATEWAY_PORT, '0.0.0.0');
  process.stdout.write(
    `control-plane gateway listening: http://localhost:${config.GATEWAY_PORT}/v1\n`,
  );
}

void bootstrap().catch((error: Error) => {
  process.stderr.write(`gateway failed to start: ${error.message}\n`);
  process.exit(1);
});
