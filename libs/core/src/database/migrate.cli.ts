/* Migration CLI: `npm run migration:run | migration:revert | migration:show`.
 * Uses the same DataSource options as the apps. */
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfigOrExit } from '../config/config.schema';
import { dataSourceOptions } from './data-source-options';
import { ensureDatabase } from './ensure-database';
import { revertAllMigrations, runMigrationsLocked } from './migrations';

async function main(command: string | undefined, flags: string[]): Promise<void> {
  const config = loadConfigOrExit();
  await ensureDatabase(config.DATABASE_URL);
  const dataSource = await new DataSource(dataSourceOptions(config, 'migration-cli')).initialize();
  try {
    switch (command) {
      case 'run': {
        const applied = await runMigrationsLocked(dataSource);
        console.log(
          applied.length ? `applied: ${applied.map((m) => m.name).join(', ')}` : 'nothing to apply',
        );
        break;
      }
      case 'revert': {
        if (flags.includes('--all'))
          console.log(`reverted ${await revertAllMigrations(dataSource)} migrations`);
        else await dataSource.undoLastMigration({ transaction: 'each' });
        break;
      }
      case 'show': {
        const pending = await dataSource.showMigrations();
        console.log(pending ? 'pending migrations exist' : 'no pending migrations');
        process.exitCode = pending ? 1 : 0;
        break;
      }
      default:
        console.error('usage: migrate.cli run | revert [--all] | show');
        process.exitCode = 2;
    }
  } finally {
    await dataSource.destroy();
  }
}

main(process.argv[2], process.argv.slice(3)).catch((error: Error) => {
  console.error(`migration failed: ${error.message}`);
  process.exit(1);
});
