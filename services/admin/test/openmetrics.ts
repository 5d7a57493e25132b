/** OpenMetrics text parsed by a real Prometheus parser (Debian's python3-prometheus-client). */
import { fileURLToPath } from 'node:url';
import { runProgram } from '@hearth/testkit';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  readonly type: string;
  readonly help: string;
  readonly samples: readonly Sample[];
}

const SCRIPT = fileURLToPath(new URL('./openmetrics.py', import.meta.url));
/** Debian's interpreter, where python3-prometheus-client is installed (not a pyenv's). */
const PYTHON = '/usr/bin/python3';

/** The families of `text`; rejects with the parser's complaint. */
export async function parseOpenMetrics(text: string): Promise<Family[]> {
  const r = await runProgram(PYTHON, [SCRIPT], { input: text });
  if (r.code !== 0) throw new Error(`the OpenMetrics parser refused the text: ${r.stderr.trim().split('\n').pop() ?? `exit code ${r.code}`}`);
  return JSON.parse(r.stdout) as Family[];
}

/** The value of the sample `name` with exactly these labels; undefined if absent. */
export function sampleValue(families: readonly Family[], name: string, labels: Readonly<Record<string, string>>): number | undefined {
  for (const f of families) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      const keys = Object.keys(s.labels);
      if (keys.length === Object.keys(labels).length && keys.every((k) => s.labels[k] === labels[k])) return s.value;
    }
  }
  return undefined;
}
