import { TenantDb } from '@app/authz';
import type { TestApp } from './test-app';

/**
 * Marks every endpoint of this jest worker's database deleted. Test files share a database and a
 * Redis prefix per jest worker, and a worker app's reconciler sweep provisions every endpoint
 * that is not deleted: without this, a later file's worker would start model servers for the
 * endpoints an earlier file left. Call it in `afterAll` after closing the file's worker apps
 * (their shutdown stops the processes they run).
 */
export async function retireEndpoints(t: TestApp): Promise<void> {
  await t.app.get(TenantDb).asPlatform('tests: retire the endpoints this file created', (manager) =>
    manager.query(
      `UPDATE endpoints SET status = 'deleted', desired_state = 'deleted', deleted_at = now()
          WHERE status <> 'deleted'`,
    ),
  );
}
