import { createTestApp, TestApp, TestAppOptions } from '@app/testing';
import { GATEWAY_HTTP_OPTIONS, GatewayModule } from '../../apps/gateway/src/gateway.module';

/** The real gateway app (same module as `apps/gateway/src/main.ts`) on this worker's database. */
export function startGateway(options: TestAppOptions = {}): Promise<TestApp> {
  return createTestApp(
    (config, moduleOptions) => GatewayModule.register(config, moduleOptions),
    GATEWAY_HTTP_OPTIONS,
    options,
  );
}
