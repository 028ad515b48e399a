/* The gateway's Node flags (its young-generation size, see the README's Gateway section) are
 * written in four places that must agree: helm, the Dockerfile, `npm start` and the bench that
 * measures the gateway as deployed. Read statically (start.mjs runs when imported). */
import { read, readChart } from './deployment-files';

/** The `--flags` of a `node … dist/apps/gateway/src/main.js` command written as `text`. */
function flagsIn(text: RegExpExecArray | null): string[] {
  expect(text).not.toBeNull();
  return [...text![1].matchAll(/--[a-z0-9-]+(?:=[^"',\s\]]+)?/g)].map((m) => m[0]);
}

describe('the gateway runs with the same Node flags everywhere', () => {
  const helm = flagsIn(
    /command: \["node", ((?:"--[^"]+", )*)"dist\/apps\/gateway\/src\/main\.js"\]/.exec(
      readChart('templates', 'deployment-gateway.yaml'),
    ),
  );

  it('in helm, with a larger young generation', () => {
    expect(helm).toContain('--max-semi-space-size=64');
  });

  it('in the Dockerfile, npm start and the gateway bench as in helm', () => {
    const dockerfile = flagsIn(
      /node ((?:--\S+ )*)dist\/apps\/gateway\/src\/main\.js/.exec(read('Dockerfile')),
    );
    const start = flagsIn(/gateway: \[([^\]]*)\]/.exec(read('scripts', 'start.mjs')));
    const bench = flagsIn(
      /const GATEWAY_V8_FLAGS = \[([^\]]*)\]/.exec(read('bench', 'gateway.bench.ts')),
    );
    expect({ dockerfile, start, bench }).toEqual({ dockerfile: helm, start: helm, bench: helm });
  });
});
