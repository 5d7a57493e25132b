/**
 * White-box tests of home folders and deleted users: `Shares` makes a home folder again for an
 * account made after the one it was made for (the folder removed with the old one), and tells the
 * server so (its cache forgets the old files); `removeHome` removes the folder with its dead
 * properties, locks and quota count, and creates no database the service has not made.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '@hearth/log';
import { HandlerTable } from '@hearth/runtime';
import { definition } from '../../dist/index.js';
import { DeadProps } from '../../dist/dead-props.js';
import { homeFolder, homeHoldsFiles, removeHome } from '../../dist/homes.js';
import { LockTable } from '../../dist/locks.js';
import { Quotas } from '../../dist/quota.js';
import { Shares } from '../../dist/shares.js';

const dataDir = mkdtempSync(join(tmpdir(), 'files-homes-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('home folders of deleted users', () => {
  it('are made again for an account made later under the name, and the server told', async () => {
    let made = 0;
    const shares = new Shares(new HandlerTable(), dataDir, createLogger({ svc: 'files-test', level: 'silent', pretty: false }), () => made++);
    shares.apply(definition.settings.parse({}));
    const oldTom = { name: 'tom', groups: [], createdAt: 1000 };
    const home = homeFolder(dataDir, 'tom');
    (await shares.acquire('home', oldTom)).release();
    expect([existsSync(home), made]).toEqual([true, 1]);
    (await shares.acquire('home', oldTom)).release();
    expect(made).toBe(1);
    expect(shares.readable('home', oldTom)?.root).toBe(home);

    await removeHome(dataDir, 'tom');
    const newTom = { ...oldTom, createdAt: 2000 };
    expect(shares.readable('home', newTom)).toBeUndefined();
    (await shares.acquire('home', newTom)).release();
    expect([existsSync(home), made]).toEqual([true, 2]);
  });

  it('go with their properties, locks and quota count; a database not made is not created', async () => {
    const home = homeFolder(dataDir, 'ann');
    expect(await homeHoldsFiles(dataDir, 'ann')).toBe(false);
    await removeHome(dataDir, 'ann');
    expect(existsSync(join(dataDir, 'files', 'props.db'))).toBe(false);

    mkdirSync(join(home, 'docs'), { recursive: true });
    writeFileSync(join(home, 'docs', 'a.txt'), 'a');
    const files = join(dataDir, 'files');
    const props = new DeadProps(join(files, 'props.db'));
    const locks = new LockTable(join(files, 'locks.db'));
    const quotas = new Quotas(join(files, 'quota.db'));
    const other = homeFolder(dataDir, 'anna');
    for (const path of [join(home, 'docs', 'a.txt'), other]) props.apply(path, [{ op: 'set', prop: { ns: 'urn:test', name: 'color', value: 'blue' } }]);
    for (const path of [join(home, 'docs'), other]) locks.create({ path, href: '/x', scope: 'exclusive', depth: 'infinity', owner: '', user: 'ann', timeoutMs: 60_000 });
    expect(await quotas.used(home)).toBe(1);
    expect(await homeHoldsFiles(dataDir, 'ann')).toBe(true);

    await removeHome(dataDir, 'ann');
    expect(existsSync(home)).toBe(false);
    expect(await homeHoldsFiles(dataDir, 'ann')).toBe(false);
    expect(props.get(join(home, 'docs', 'a.txt'))).toEqual([]);
    expect(locks.covering(join(home, 'docs', 'a.txt'))).toEqual([]);
    // Only that folder's: a name that begins the same keeps its own.
    expect(props.get(other)).toHaveLength(1);
    expect(locks.at(other)).toHaveLength(1);
    mkdirSync(home);
    writeFileSync(join(home, 'b.txt'), 'bb');
    expect(await quotas.used(home)).toBe(2);
    props.close();
    locks.close();
    quotas.close();
  });
});
