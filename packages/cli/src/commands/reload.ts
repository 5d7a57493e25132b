import { ControlError, controlRequest, which } from '@hearth/supervisor/control';
import type { ReloadResult } from '@hearth/supervisor';
import type { CliCommand } from '../command.js';
import { COMMON_USAGE, parse, socketPathOf } from '../options.js';

export const reload: CliCommand = {
  name: 'reload',
  summary: 're-read the config and apply the difference (like SIGHUP to the supervisor)',
  usage: `Usage: hearth reload [--data DIR]

The supervisor reads its config file again and applies the difference: new services start,
removed ones stop, changed ones are restarted overlapped (changed listeners are bound anew),
a change only in a Hearth service's settings (or the suite's mail/tls settings, or new
contents of the configured certificate or key: a renewal) is applied in place when the
service can, unchanged services are not touched. A changed service that is stopped (hearth
stop, stopped with a service it requires, or not started because one failed) is not started:
it gets the new config at its next hearth start and stays stopped ("updated, still stopped:
NAME"). A running service whose new config requires a service that is stopped is not
restarted without it: it is stopped (and what is up and requires it, as by hearth stop), one
line each ("web: stopped (requires api, which is stopped)"), and gets the new config at its
next hearth start, which starts api first; a failed one is not restarted without it either,
nor without one it requires that is failed: it stays failed ("web: still failed (requires
api, which is failed)"), its status saying why, and gets the new config at its next hearth
start. Restarts and starts go in dependency order over the new config, as hearth up: a
service the reload adds or restarts runs (the reload waits through its backoff) before a
service that requires it is restarted; if it does not come up (a failed one that fails
again), that one is handled as above ("web: stopped (requires api, which is failed)",
"web: still failed (requires api, which is failed)"). A service held back because a service it
requires was not running is started once the reload brings that one up ("started, no
longer held back: NAME"); not one stopped with hearth stop since. A change of settings alone to a service
starting goes to it once it runs (the reload waits for its start to settle, within its
readyTimeout), in place or by a restart as for a running one; to one in backoff or exited it
takes effect at its next start ("updated, from its next start: NAME"). A failed service
whose config changed (its settings alone too) is started with it, its crash-loop count
cleared. A running service whose new instance does not become ready keeps its old instance
and old config (or the old mail/tls settings it refused in place): the same file reloaded
again tries it again. A new data: or log.level takes effect only at the next hearth up (the
supervisor logs a warning). An invalid config is refused with its error and nothing changes.
Exit code 1 if anything could not be applied, or a service started or restarted by the
reload is not running once its start attempt settled.

${COMMON_USAGE}`,
  async run(argv, io) {
    const { values } = parse(argv, {}, false);
    let r: ReloadResult;
    try {
      r = (await controlRequest(socketPathOf(values.data, io), { verb: 'reload' })) as ReloadResult;
    } catch (err) {
      if (!(err instanceof ControlError)) throw err;
      // Refused before anything was touched: an invalid config (every problem, one a line) or a
      // listener that cannot be bound.
      io.stderr.write(`hearth reload: refused, nothing changed:\n${err.message}\n`);
      return 1;
    }
    const parts = [
      ['added', r.added],
      ['removed', r.removed],
      ['restarted', r.restarted],
      ['reloaded in place', r.reloaded],
      // Older supervisors send none of the lists below.
      ['started, no longer held back', r.startedHeldBack ?? []],
      ['updated, from its next start', r.updatedNextStart ?? []],
      ['updated, still stopped', r.updatedStopped ?? []],
      ['unchanged', r.unchanged],
    ] as const;
    const summary = parts.filter(([, names]) => names.length > 0).map(([what, names]) => `${what}: ${names.join(', ')}`);
    // As hearth stop prints a service stopped because it requires another: one line each.
    const stopped = [
      ...(r.stoppedForRequirement ?? []).map((s) => `${s.name}: stopped (requires ${s.requires}, ${which(s.state)})\n`),
      ...(r.keptFailed ?? []).map((s) => `${s.name}: still failed (requires ${s.requires}, ${which(s.state)})\n`),
    ];
    if (summary.length > 0 || stopped.length === 0) io.stdout.write(`${summary.length > 0 ? summary.join('; ') : 'no services'}\n`);
    io.stdout.write(stopped.join(''));
    for (const f of r.failed) io.stderr.write(`hearth reload: ${f.error}\n`);
    return r.failed.length === 0 ? 0 : 1;
  },
};
