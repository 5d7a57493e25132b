/** The POP3 command table: every verb, the states it is valid in, its argument count. */
import type { CommandTable } from '@hearth/line-protocol';
import type { Reply } from '../replies.js';
import type { StateName } from '../state.js';
import { apop } from './apop.js';
import { auth } from './auth.js';
import { capa } from './capa.js';
import type { CommandContext } from './context.js';
import { dele } from './dele.js';
import { list } from './list.js';
import { noop } from './noop.js';
import { pass } from './pass.js';
import { quit } from './quit.js';
import { retr } from './retr.js';
import { rset } from './rset.js';
import { stat } from './stat.js';
import { stls } from './stls.js';
import { top } from './top.js';
import { uidl } from './uidl.js';
import { user } from './user.js';
import { xidle } from './xidle.js';
import { xsend } from './xsend.js';

const AUTHORIZATION: readonly StateName[] = ['AUTHORIZATION'];
const TRANSACTION: readonly StateName[] = ['TRANSACTION'];
const BOTH: readonly StateName[] = ['AUTHORIZATION', 'TRANSACTION'];

export const commands: CommandTable<StateName, CommandContext, Reply> = {
  CAPA: { states: BOTH, args: { min: 0, max: 0 }, run: capa },
  USER: { states: AUTHORIZATION, args: { min: 1, max: 1 }, run: user },
  PASS: { states: AUTHORIZATION, args: { min: 1, max: 1, rest: true }, run: pass },
  APOP: { states: AUTHORIZATION, args: { min: 2, max: 2 }, run: apop },
  AUTH: { states: AUTHORIZATION, args: { min: 0, max: 2 }, run: auth },
  STLS: { states: AUTHORIZATION, args: { min: 0, max: 0 }, run: stls },
  STAT: { states: TRANSACTION, args: { min: 0, max: 0 }, run: stat },
  LIST: { states: TRANSACTION, args: { min: 0, max: 1 }, run: list },
  UIDL: { states: TRANSACTION, args: { min: 0, max: 1 }, run: uidl },
  RETR: { states: TRANSACTION, args: { min: 1, max: 1 }, run: retr },
  TOP: { states: TRANSACTION, args: { min: 2, max: 2 }, run: top },
  DELE: { states: TRANSACTION, args: { min: 1, max: 1 }, run: dele },
  RSET: { states: TRANSACTION, args: { min: 0, max: 0 }, run: rset },
  NOOP: { states: TRANSACTION, args: { min: 0, max: 0 }, run: noop },
  QUIT: { states: BOTH, args: { min: 0, max: 0 }, run: quit },
  // Hearth extensions (README: X-HEARTH-PUSH, X-HEARTH-SEND). DONE is read by the session itself.
  XIDLE: { states: TRANSACTION, args: { min: 0, max: 0 }, run: xidle },
  // XSEND splits its line itself: a quoted local part may hold spaces.
  XSEND: { states: TRANSACTION, args: { min: 1, max: 1, rest: true }, run: xsend },
};
