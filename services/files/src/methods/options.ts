/** OPTIONS: the same answer for every path, with or without credentials (clients probe before they log in). */
import type { Reply } from '../replies.js';
import type { Handler } from './types.js';

export const ALLOW = 'OPTIONS, GET, HEAD, PUT, DELETE, MKCOL, COPY, MOVE, PROPFIND, PROPPATCH, LOCK, UNLOCK';

export const optionsReply: Reply = {
  status: 200,
  headers: { DAV: '1, 2', 'MS-Author-Via': 'DAV', Allow: ALLOW, 'Accept-Ranges': 'bytes', 'Content-Length': 0 },
};

export const options: Handler = async () => optionsReply;
