/**
 * Names on disk as clients get them: a backslash, a tab, a line break are ordinary characters of a
 * POSIX name, listed and served alike (curl, rclone), as Apache mod_dav and nginx serve them; a
 * name with a control character XML cannot carry (a listing could not name it) is left out of
 * every listing and refused alike. Whatever a listing names can be fetched, and a backslash in a
 * request never separates names: it reaches nothing outside the share.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProgram } from '@hearth/testkit';
import { curl, hrefsIn, startServer, type Harness } from './helpers.js';

let h: Harness;
let outside: string;
const work = mkdtempSync(join(tmpdir(), 'files-names-'));

/** Names a listing gives and the service serves, each with its content. */
const SERVED: ReadonlyArray<readonly [string, string]> = [
  ['back\\slash.txt', 'a backslash'],
  ['..\\..\\outside\\secret.txt', 'a name of dots and backslashes, inside the share'],
  ['tab\tname.txt', 'a tab'],
  ['line\nbreak.txt', 'a line break'],
  ['carriage\rreturn.txt', 'a carriage return'],
];
/** A name XML 1.0 cannot carry (BEL): in no listing, and refused. */
const BELL = 'bell\u0007.txt';

beforeAll(async () => {
  h = await startServer();
  outside = join(h.dataDir, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.txt'), 'TOP SECRET');
  mkdirSync(join(h.shareDir, 'names'));
  for (const [name, content] of SERVED) writeFileSync(join(h.shareDir, 'names', name), content);
  mkdirSync(join(h.shareDir, 'names', 'folder\\with\tcontrols'));
  writeFileSync(join(h.shareDir, 'names', 'folder\\with\tcontrols', 'inner.txt'), 'inner');
  writeFileSync(join(h.shareDir, 'names', BELL), 'a bell');
  writeFileSync(join(h.shareDir, 'names', 'plain.txt'), 'plain');
});
afterAll(async () => {
  await h.close();
  rmSync(work, { recursive: true, force: true });
});

const A = ['-u', 'alice:secret'];
const u = (path: string): string => `${h.url}${path}`;

describe('names with a backslash or a control character', () => {
  it('are listed by PROPFIND exactly when they can be fetched: every href answers GET with its file', async () => {
    const list = await curl([...A, '-X', 'PROPFIND', '-H', 'Depth: 1', u('/files/names/')]);
    expect(list.status).toBe(207);
    const hrefs = hrefsIn(list.body);
    const names = hrefs.slice(1).map((href) => decodeURIComponent(href.slice('/files/names/'.length)));
    expect(names.sort()).toEqual([...SERVED.map(([name]) => name), 'folder\\with\tcontrols/', 'plain.txt'].sort());
    expect(list.body).not.toContain('bell');
    for (const [name, content] of SERVED) {
      const href = hrefs.find((x) => decodeURIComponent(x) === `/files/names/${name}`)!;
      // The href as given: a backslash percent-encoded, as the control characters.
      expect(href).not.toMatch(/[\\\t\n\r]/);
      const got = await curl([...A, u(href)]);
      expect(got.status, name).toBe(200);
      expect(got.body).toBe(content);
    }
    const folder = await curl([...A, '-X', 'PROPFIND', '-H', 'Depth: 1', u(hrefs.find((x) => x.endsWith('controls/'))!)]);
    expect(folder.status).toBe(207);
    const inner = hrefsIn(folder.body)[1]!;
    expect(inner).toBe('/files/names/folder%5Cwith%09controls/inner.txt');
    expect((await curl([...A, u(inner)])).body).toBe('inner');
  });

  it('are linked by the HTML listing exactly when they can be fetched', async () => {
    const page = await curl([...A, u('/files/names/')]);
    expect(page.status).toBe(200);
    // The members' links, not the parent's.
    const links = [...page.body.matchAll(/<a href="(\/files\/names\/[^"]+)">/g)].map((m) => m[1]!.replaceAll('&amp;', '&'));
    expect(links.map((link) => decodeURIComponent(link.slice('/files/names/'.length))).sort()).toEqual(
      [...SERVED.map(([name]) => name), 'folder\\with\tcontrols/', 'plain.txt'].sort(),
    );
    expect(page.body).not.toContain('bell');
    for (const link of links) {
      const got = await curl([...A, u(link)]);
      expect(got.status, link).toBe(200);
    }
  });

  it('refuse a name XML cannot carry as a listing leaves it out, whatever the method', async () => {
    for (const method of ['GET', 'PROPFIND', 'PUT', 'DELETE']) {
      const r = await curl([...A, '-X', method, '-H', 'Depth: 0', u('/files/names/bell%07.txt')]);
      expect(r.status, method).toBe(400);
      expect(r.body).toContain('a path segment holds a control character');
    }
    // Nothing was changed on disk.
    expect(readFileSync(join(h.shareDir, 'names', BELL), 'utf8')).toBe('a bell');
  });

  it('stores, moves and deletes a name with a backslash as one name in its folder, never a path', async () => {
    const put = await curl([...A, '-T', '-', u('/files/names/up%5Cloaded.txt')], 'uploaded');
    expect(put.status).toBe(201);
    expect(readFileSync(join(h.shareDir, 'names', 'up\\loaded.txt'), 'utf8')).toBe('uploaded');
    // Dots and backslashes climb nowhere: a name of its own, in the share.
    const climb = await curl([...A, '-T', '-', u('/files/..%5C..%5Coutside%5Cplanted.txt')], 'planted');
    expect(climb.status).toBe(201);
    expect(readFileSync(join(h.shareDir, '..\\..\\outside\\planted.txt'), 'utf8')).toBe('planted');
    expect(readdirSync(outside)).toEqual(['secret.txt']);
    expect((await curl([...A, u('/files/..%5Coutside%5Csecret.txt')])).status).toBe(404);
    const move = await curl([...A, '-X', 'MOVE', '-H', `Destination: ${u('/files/names/moved%5Cback%09slash.txt')}`, u('/files/names/up%5Cloaded.txt')]);
    expect(move.status).toBe(201);
    expect(readFileSync(join(h.shareDir, 'names', 'moved\\back\tslash.txt'), 'utf8')).toBe('uploaded');
    expect((await curl([...A, '-X', 'DELETE', u('/files/names/moved%5Cback%09slash.txt')])).status).toBe(204);
    expect(existsSync(join(h.shareDir, 'names', 'moved\\back\tslash.txt'))).toBe(false);
    expect((await curl([...A, '-X', 'DELETE', u('/files/..%5C..%5Coutside%5Cplanted.txt')])).status).toBe(204);
  });

  it('are copied down by rclone with their bytes, and the name it cannot fetch is not listed to it', async () => {
    const env = {
      ...process.env,
      RCLONE_CONFIG: join(work, 'no-rclone.conf'),
      RCLONE_CONFIG_DAV_TYPE: 'webdav',
      RCLONE_CONFIG_DAV_URL: `${h.url}/files/`,
      RCLONE_CONFIG_DAV_VENDOR: 'owncloud',
      RCLONE_CONFIG_DAV_USER: 'alice',
      RCLONE_CONFIG_DAV_PASS: (await runProgram('rclone', ['obscure', 'secret'])).stdout.trim(),
    };
    const back = join(work, 'back');
    const r = await runProgram('rclone', ['copy', 'dav:names', back], { env, timeoutMs: 60_000 });
    expect(r.stderr).not.toMatch(/ERROR/);
    expect(r.code).toBe(0);
    // The same names on the local disk, each with its bytes.
    expect(readdirSync(back).sort()).toEqual([...SERVED.map(([name]) => name), 'folder\\with\tcontrols', 'plain.txt'].sort());
    for (const [name, content] of SERVED) expect(readFileSync(join(back, name), 'utf8'), name).toBe(content);
    expect(readFileSync(join(back, 'folder\\with\tcontrols', 'inner.txt'), 'utf8')).toBe('inner');
  });
});
