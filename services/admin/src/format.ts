/** Numbers as the pages show them. */

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

const SIZE_UNITS: readonly (readonly [string, number])[] = [
  ['TiB', 1024 ** 4],
  ['TB', 1000 ** 4],
  ['GiB', 1024 ** 3],
  ['GB', 1000 ** 3],
  ['MiB', 1024 ** 2],
  ['MB', 1000 ** 2],
  ['KiB', 1024],
  ['KB', 1000],
];

/**
 * A byte count as a config value writes it, exactly: in the unit that divides it with the smallest
 * number (10000000 is `10MB`, 10485760 `10MiB`), else in bytes (`1500B`).
 */
export function formatSize(n: number): string {
  let best = `${n}B`;
  let smallest = n;
  for (const [unit, size] of SIZE_UNITS) {
    if (n > 0 && n % size === 0 && n / size < smallest) {
      smallest = n / size;
      best = `${smallest}${unit}`;
    }
  }
  return best;
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}
