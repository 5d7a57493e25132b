/** `hearth user list` tells a store it cannot read from a data dir with no store yet. */
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir, type TempDir } from '@hearth/testkit';
import { hearth } from '@hearth/testkit/hearth-up';

let dir: TempDir | undefined;
afterEach(async () => {
  await dir?.remove();
  dir = undefined;
});

describe('hearth user list', () => {
  it('says "no users yet" (exit 0) without a store, and reports a store it cannot read as an error (exit 1)', async () => {
    dir = await makeTempDir('user-list-');
    const empty = join(dir.path, 'empty');
    await mkdir(empty);
    const none = await hearth(['user', 'list', '--data', empty]);
    expect(none.code).toBe(0);
    expect(none.stderr).toMatch(/no users yet/);

    // DATA/mail is there but is no directory: the store cannot be read (ENOTDIR; EACCES alike).
    const broken = join(dir.path, 'broken');
    await mkdir(broken);
    await writeFile(join(broken, 'mail'), 'not a directory\n');
    const ran = await hearth(['user', 'list', '--data', broken]);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(/cannot read the mail store at .*broken\/mail \(ENOTDIR\)/);
    expect(ran.stderr).not.toMatch(/no users yet/);
  });
});
