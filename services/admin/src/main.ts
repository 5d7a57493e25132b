/** The admin service's process entry: run under the supervisor and exit with the code it gives. */
import { runService } from '@hearth/runtime';
import { definition } from './index.js';

process.exit(await runService(definition, { env: process.env }));
