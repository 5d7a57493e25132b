/**
 * The supervisor's V8 tuning takes effect when set at run time. Fails loudly if a Node/V8
 * upgrade drops or renames the flag (V8 then ignores it and the young generation grows again).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const TUNING = new URL('../dist/v8-tuning.js', import.meta.url).href;

/** Size of the young generation (MiB) after churning through short-lived objects in a fresh process. */
function newSpaceAfterChurn(tune: boolean): number {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    ${tune ? `(await import(${JSON.stringify(TUNING)})).tuneV8ForSupervisor();` : ''}
    let keep = [];
    for (let i = 0; i < 2e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 1000) keep = []; }
    const s = getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
    process.stdout.write(String(s.space_size / 1048576));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000, cwd: fileURLToPath(new URL('..', import.meta.url)) });
  expect(r.stderr).toBe('');
  return Number(r.stdout);
}

describe('tuneV8ForSupervisor', () => {
  it('keeps the young generation at its initial size under allocation churn', () => {
    expect(newSpaceAfterChurn(false)).toBeGreaterThan(8);
    expect(newSpaceAfterChurn(true)).toBeLessThanOrEqual(4);
  });
});
