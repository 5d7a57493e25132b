#!/usr/bin/env node
/**
 * How fast the kernel copies a file from the page cache into a buffer, by where the buffer
 * starts: `pread` of a whole file (written with `dd bs=1M`, as run.mjs writes its 1 GiB file) in
 * 2 MiB reads into a buffer at 0, 16, 32 and 48 bytes past a page boundary (a resizable
 * ArrayBuffer, which V8 reserves as whole pages), and into one from `Buffer.allocUnsafeSlow`
 * (malloc's). Each figure is the median of `--runs` reads of the whole file, in ms per GiB, on the
 * last CPU. The file service reads large files into page-aligned buffers (`file-body.ts`).
 *
 *   node bench/files/alignment.mjs [--mib 1024] [--runs 5]
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { allowedCpus, median, onInterrupt, pinTree } from './peers.mjs';

const { values } = parseArgs({ options: { mib: { type: 'string', default: '1024' }, runs: { type: 'string', default: '5' } } });
const mib = Number(values.mib);
const runs = Number(values.runs);
if (!(Number.isInteger(mib) && mib >= 16 && mib <= 4096 && Number.isInteger(runs) && runs >= 1 && runs <= 50)) {
  console.error('usage: node bench/files/alignment.mjs [--mib 1024] [--runs 5]   (--mib 16-4096, --runs 1-50)');
  process.exit(2);
}
pinTree(process.pid, String(allowedCpus().at(-1)));

const CHUNK = 2 * 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'bench-alignment-'));
onInterrupt(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'big.bin');

try {
  execFileSync('dd', ['if=/dev/urandom', `of=${file}`, 'bs=1M', `count=${mib}`, 'status=none']);
  const fd = openSync(file, 'r');
  /** ms per GiB of one read of the whole file into `buf`. */
  const readWhole = (buf) => {
    const start = process.hrtime.bigint();
    let position = 0;
    let n;
    while ((n = readSync(fd, buf, 0, CHUNK, position)) > 0) position += n;
    if (position !== mib * 1024 * 1024) throw new Error(`read ${position} bytes of ${mib} MiB`);
    return (Number(process.hrtime.bigint() - start) / 1e6) * (1024 / mib);
  };
  const paged = Buffer.from(new ArrayBuffer(CHUNK + 4096, { maxByteLength: CHUNK + 4096 }));
  const cases = [
    ...[0, 16, 32, 48].map((offset) => [`${offset} bytes past a page`, paged.subarray(offset, offset + CHUNK)]),
    ['Buffer.allocUnsafeSlow', Buffer.allocUnsafeSlow(CHUNK)],
  ];
  readWhole(cases[0][1]);
  console.log(`pread of ${mib} MiB from the page cache in 2 MiB reads, the median of ${runs}:`);
  for (const [name, buf] of cases) {
    const times = Array.from({ length: runs }, () => readWhole(buf));
    console.log(`  ${name.padEnd(24)} ${median(times).toFixed(0)} ms per GiB [${Math.min(...times).toFixed(0)}..${Math.max(...times).toFixed(0)}]`);
  }
  closeSync(fd);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
