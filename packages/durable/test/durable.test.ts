/**
 * Files replaced whole and files made new, on a real folder and on a small tmpfs mounted for this
 * test (the tests run as root) that a full disk makes refuse the write: a replaced file stays as it
 * was with no temporary left beside it, either way, and a new one is not left half written. A
 * folder procfs cannot sync stands for file systems that refuse to sync folders.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mountSmallDisk, type SmallDisk } from '@hearth/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileWriteError, createFile, replaceFile, replaceFileSync, syncFolder, syncFolderSync } from '../src/index.js';

let dir: string;
let disk: SmallDisk;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'durable-'));
  disk = mountSmallDisk('1m', 'durable-full-');
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  disk.unmount();
});

/** What `promise` was rejected with (undefined when it was not). */
function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (err: unknown) => err,
  );
}

/** `error` is a `FileWriteError` naming `path`, with the file system's `code`. */
function expectWriteError(error: unknown, path: string, code: string): void {
  expect(error).toBeInstanceOf(FileWriteError);
  expect(error).toMatchObject({ path, code });
  expect((error as FileWriteError).message).toContain(path);
}

const variants = [
  ['replaceFile', (path: string, data: string, mode: number) => replaceFile(path, data, mode)],
  ['replaceFileSync', (path: string, data: string, mode: number) => Promise.resolve().then(() => replaceFileSync(path, data, mode))],
] as const;

describe.each(variants)('%s', (name, replace) => {
  it('makes a new file and replaces an existing one whole, with the mode asked for whatever the umask, leaving no temporary', async () => {
    const folder = mkdtempSync(join(dir, `${name}-`));
    const path = join(folder, 'state.json');
    await replace(path, 'first\n', 0o600);
    expect(readFileSync(path, 'utf8')).toBe('first\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    // 0666 is narrowed by any umask that takes write from group or others (the usual 022).
    await replace(path, 'second, longer than the first\n', 0o666);
    expect(readFileSync(path, 'utf8')).toBe('second, longer than the first\n');
    expect(statSync(path).mode & 0o777).toBe(0o666);
    expect(readdirSync(folder)).toEqual(['state.json']);
  });

  it('on a full disk leaves the old file as it was, removes its temporary and names the file', async () => {
    const folder = mkdtempSync(join(disk.path, `${name}-`));
    const path = join(folder, 'state.json');
    writeFileSync(path, 'old\n');
    disk.fill(join(folder, 'filler'));
    try {
      expectWriteError(await failureOf(replace(path, 'x'.repeat(64 * 1024), 0o600)), path, 'ENOSPC');
      expect(readFileSync(path, 'utf8')).toBe('old\n');
      expect(readdirSync(folder).sort()).toEqual(['filler', 'state.json']);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('createFile', () => {
  it('makes a new file with the mode asked for whatever the umask, and leaves one already there as it is', async () => {
    const folder = mkdtempSync(join(dir, 'create-'));
    const path = join(folder, 'cert.pem');
    await createFile(path, 'new\n', 0o666);
    expect(readFileSync(path, 'utf8')).toBe('new\n');
    expect(statSync(path).mode & 0o777).toBe(0o666);
    expectWriteError(await failureOf(createFile(path, 'other\n', 0o600)), path, 'EEXIST');
    expect(readFileSync(path, 'utf8')).toBe('new\n');
    expect(statSync(path).mode & 0o777).toBe(0o666);
  });

  it('on a full disk removes what it wrote of the new file and names it', async () => {
    const folder = mkdtempSync(join(disk.path, 'create-'));
    const path = join(folder, 'key.pem');
    disk.fill(join(folder, 'filler'));
    try {
      expectWriteError(await failureOf(createFile(path, 'x'.repeat(64 * 1024), 0o600)), path, 'ENOSPC');
      expect(readdirSync(folder)).toEqual(['filler']);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('syncFolder', () => {
  it('takes a file system that cannot sync a folder (EINVAL, as procfs answers) as done', async () => {
    await expect(syncFolder('/proc/self')).resolves.toBeUndefined();
    expect(() => syncFolderSync('/proc/self')).not.toThrow();
  });

  it('syncs a folder, and names one that does not exist', async () => {
    await expect(syncFolder(dir)).resolves.toBeUndefined();
    expect(() => syncFolderSync(dir)).not.toThrow();
    await expect(syncFolder(join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(() => syncFolderSync(join(dir, 'missing'))).toThrow(/ENOENT/);
  });
});
