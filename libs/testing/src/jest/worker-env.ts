/**
 * Runs in every test file before it loads: points this Jest worker at its own database (cloned
 * by global-setup) and its own Redis key prefix, so workers never share state.
 */
import { withDatabase } from '../test-database';

const run = process.env.CP_TEST_RUN;
const worker = process.env.JEST_WORKER_ID ?? '1';
if (run) {
  const base = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/controlplane';
  process.env.DATABASE_URL = withDatabase(base, `${run}_w${worker}`);
  process.env.REDIS_KEY_PREFIX = `cptest:${run.slice('cp_test_'.length)}:w${worker}`;
}
process.env.NODE_ENV = 'test';
process.env.API_KEY_ENVIRONMENT = 'test';
// The platform admin key every test app of this run bootstraps (see tenant-session.ts).
process.env.BOOTSTRAP_ADMIN_TOKEN = `cp_test_bootstrap_${run ?? 'local'}_0123456789abcdef0123456789`;
process.env.LOG_LEVEL = process.env.LOG_LEVEL || 'silent';
