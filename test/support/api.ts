import { createTestApp, TestApp, TestAppOptions } from '@app/testing';
import { API_HTTP_OPTIONS, AppModule } from '../../apps/api/src/app.module';

/** The real api app (same module and HTTP setup as `main.ts`) on this worker's database. */
export function startApi(options: TestAppOptions = {}): Promise<TestApp> {
  return createTestApp(
    (config, moduleOptions) => AppModule.register(config, moduleOptions),
    API_HTTP_OPTIONS,
    options,
  );
}
