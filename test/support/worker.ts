import { createTestApp, TestApp, TestAppOptions } from '@app/testing';
import { WORKER_HTTP_OPTIONS, WorkerModule } from '../../apps/worker/src/worker.module';

/** The real worker app (same module as `apps/worker/src/main.ts`) on this worker's database. */
export function startWorker(options: TestAppOptions = {}): Promise<TestApp> {
  return createTestApp(
    (config, moduleOptions) => WorkerModule.register(config, moduleOptions),
    WORKER_HTTP_OPTIONS,
    options,
  );
}
