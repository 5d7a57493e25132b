/** `hearth admin metrics-token`: prints the token the admin service keeps in the data dir. */
import { describe, expect, it } from 'vitest';
import { metricsToken, metricsTokenPath } from '@hearth/admin';
import { makeTempDir } from '@hearth/testkit';
import { hearth } from '@hearth/testkit/hearth-up';

describe('hearth admin metrics-token', () => {
  it('prints the saved token, as text and as JSON, and says when there is none', async () => {
    const dir = await makeTempDir('hearth-cli-');
    try {
      const none = await hearth(['admin', 'metrics-token', '--data', dir.path]);
      expect(none.code).toBe(1);
      expect(none.stderr).toMatch(/no metrics token in .*admin\/metrics-token: the admin service has not started yet/);
      const token = metricsToken(dir.path);
      expect(await hearth(['admin', 'metrics-token', '--data', dir.path])).toEqual({ code: 0, stdout: `${token}\n`, stderr: '' });
      const json = await hearth(['admin', 'metrics-token', '--json', '--data', dir.path]);
      expect(JSON.parse(json.stdout)).toEqual({ token, file: metricsTokenPath(dir.path) });
      expect((await hearth(['admin', 'token', '--data', dir.path])).code).toBe(64);
    } finally {
      await dir.remove();
    }
  });
});
