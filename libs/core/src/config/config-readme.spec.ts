import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configSchema } from './config.schema';

describe('configuration docs', () => {
  it('lists every environment variable in the README configuration table', () => {
    const readme = readFileSync(join(__dirname, '..', '..', '..', '..', 'README.md'), 'utf8');
    const table = readme.slice(
      readme.indexOf('## Configuration'),
      readme.indexOf('## Local services'),
    );
    const missing = Object.keys(configSchema.shape).filter(
      (name) => !table.includes(`| \`${name}\``),
    );
    expect(missing).toEqual([]);
  });
});
