/**
 * Writes a service module for tests: the testkit fixture, except that `start` fails while the
 * file FLAG exists (a new instance that never becomes ready) and `reload` is refused while
 * REFUSE exists (falls back to a restart).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURE_SERVICE_PATH } from '@hearth/testkit';

export function writeFlakyModule(dir: string): { module: string; flag: string; refuse: string } {
  const module = join(dir, 'flaky.mjs');
  const flag = join(dir, 'fail-start');
  const refuse = join(dir, 'refuse-reload');
  writeFileSync(
    module,
    `import { existsSync } from 'node:fs';
import { definition as fixture } from ${JSON.stringify(FIXTURE_SERVICE_PATH)};
export const definition = {
  ...fixture,
  kind: 'flaky',
  async start(ctx) {
    if (existsSync(${JSON.stringify(flag)})) throw new Error('flaky: fail-start flag is set');
    const running = await fixture.start(ctx);
    return {
      ...running,
      async reload(next, suite) {
        if (existsSync(${JSON.stringify(refuse)})) throw new Error('flaky: reload refused');
        return running.reload(next, suite);
      },
    };
  },
};
`,
  );
  return { module, flag, refuse };
}
