/**
 * The container's health check: healthy when the supervisor answers `hearth status --json` (exit
 * code 0) and every service in it is `running`. Prints one line saying why otherwise. Runs the
 * CLI in this process (one Node start per check) through its public `runCli`.
 */
import { Writable } from 'node:stream';
import { COMMANDS, runCli } from '../packages/cli/dist/index.js';

let out = '';
let err = '';
const sink = (append) => new Writable({ write(chunk, _enc, done) { append(String(chunk)); done(); } });
const stdout = sink((s) => { out += s; });
const stderr = sink((s) => { err += s; });

const code = await runCli(['status', '--json'], { stdin: process.stdin, stdout, stderr, env: process.env, cwd: process.cwd() }, COMMANDS);
if (code !== 0) {
  console.log(`unhealthy: hearth status exited ${code}: ${err.trim()}`);
  process.exit(1);
}
let rows;
try {
  rows = JSON.parse(out);
} catch {
  console.log('unhealthy: hearth status --json printed no JSON');
  process.exit(1);
}
const down = rows.filter((r) => r.state !== 'running');
if (rows.length === 0 || down.length > 0) {
  console.log(`unhealthy: ${rows.length === 0 ? 'no services' : down.map((r) => `${r.name} ${r.state}${r.reason ? ` (${r.reason})` : ''}`).join(', ')}`);
  process.exit(1);
}
console.log(`healthy: ${rows.map((r) => r.name).join(', ')} running`);
process.exit(0);
