import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { COMMUNITY_FILE, STATE_DIR } from '@hearth/snmp/state';
import { UsageError, type CliCommand } from '../command.js';
import { COMMON_USAGE, dataDirOf, parse } from '../options.js';

export const snmpCommand: CliCommand = {
  name: 'snmp',
  summary: 'SNMP agent: print the generated read-only community (snmp credentials)',
  usage: `Usage: hearth snmp credentials [--json] [--data DIR]

Prints the SNMPv2c read-only community the snmp service generated at its first start (kept in
DATA/snmp/community, mode 0600), for example:

  snmpwalk -v2c -c "$(hearth snmp credentials)" 127.0.0.1:2161 system

It exists only when the config names neither communities nor SNMPv3 users for the service.

${COMMON_USAGE}
  --json             print {"community": "..."}`,
  async run(argv, io) {
    const { values, positionals } = parse(argv, { json: { type: 'boolean' } });
    if (positionals.length !== 1 || positionals[0] !== 'credentials') throw new UsageError('expected: hearth snmp credentials');
    const path = join(dataDirOf(values.data, io), STATE_DIR, COMMUNITY_FILE);
    let community: string;
    try {
      community = (await readFile(path, 'utf8')).trim();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      io.stderr.write(`hearth snmp: no generated community in ${path}: the snmp service has not started yet, or the config names its communities or users\n`);
      return 1;
    }
    io.stdout.write(values.json ? `${JSON.stringify({ community })}\n` : `${community}\n`);
    return 0;
  },
};
