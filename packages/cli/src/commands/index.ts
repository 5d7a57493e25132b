/** Every verb of `hearth`, in the order `hearth --help` lists them. */
import type { CliCommand } from '../command.js';
import { adminCommand as admin } from './admin.js';
import { check } from './check.js';
import { down } from './down.js';
import { filesCommand as files } from './files.js';
import { logs } from './logs.js';
import { mailCommand as mail } from './mail.js';
import { reload } from './reload.js';
import { restart } from './restart.js';
import { run } from './run.js';
import { snmpCommand as snmp } from './snmp.js';
import { start } from './start.js';
import { status } from './status.js';
import { stop } from './stop.js';
import { up } from './up.js';
import { userCommand as user } from './user.js';

export const COMMANDS: readonly CliCommand[] = [up, down, status, start, stop, restart, reload, check, logs, run, user, mail, snmp, files, admin];
