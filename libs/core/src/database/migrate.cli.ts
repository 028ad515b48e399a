/* Migration CLI: `npm run migration:run | migration:revert [-- --all] | migration:show`.
 * Uses the same DataSource options as the apps, as the login role (the tables' owner). */
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfigOrExit } from '../config/config.schema';
import { dataSourceOptions } from './data-source-options';
import { ensureDatabase } from './ensure-database';
import {
  migrationNames,
  pendingMigrations,
  revertAllMigrations,
  runMigrationsLocked,
} from './migrations';

const USAGE = 'usage: migration:run | migration:revert [--all] | migration:show';
const FLAGS: Record<string, string[]> = { run: [], revert: ['--all'], show: [] };

async function main(command: string | undefined, flags: string[]): Promise<void> {
  const allowed = command ? FLAGS[command] : undefined;
  const unknown = flags.filter((flag) => !allowed?.includes(flag));
  if (!allowed || unknown.length) {
    console.error(
      unknown.length && allowed ? `unknown option ${unknown.join(' ')}; ${USAGE}` : USAGE,
    );
    process.exitCode = 2;
    return;
  }
  const config = loadConfigOrExit();
  await ensureDatabase(config.DATABASE_URL);
  const dataSource = await new DataSource(dataSourceOptions(config, 'migration-cli')).initialize();
  try {
    if (command === 'run') {
      const applied = await runMigrationsLocked(dataSource);
      console.log(
        applied.length ? `applied: ${applied.map((m) => m.name).join(', ')}` : 'nothing to apply',
      );
    } else if (command === 'revert') {
      const before = await pendingMigrations(dataSource);
      const reverted = flags.includes('--all')
        ? await revertAllMigrations(dataSource)
        : await revertLast(dataSource);
      const after = await pendingMigrations(dataSource);
      const names = after.filter((name) => !before.includes(name));
      console.log(reverted ? `reverted: ${names.reverse().join(', ')}` : 'nothing to revert');
    } else {
      const pending = await pendingMigrations(dataSource);
      const all = migrationNames(dataSource);
      for (const name of all) console.log(`${pending.includes(name) ? '[ ]' : '[x]'} ${name}`);
      console.log(pending.length ? `${pending.length} pending` : 'no pending migrations');
      process.exitCode = pending.length ? 1 : 0;
    }
  } finally {
    await dataSource.destroy();
  }
}

async function revertLast(dataSource: DataSource): Promise<number> {
  const before = (await pendingMigrations(dataSource)).length;
  await dataSource.undoLastMigration({ transaction: 'each' });
  return (await pendingMigrations(dataSource)).length - before;
}

main(process.argv[2], process.argv.slice(3)).catch((error: Error) => {
  console.error(`migration failed: ${error.message}`);
  process.exit(1);
});
