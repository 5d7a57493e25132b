/** What a method handler is: it gets the request's context and returns a reply (never writes). */
import type { RequestContext } from '../context.js';
import type { Reply } from '../replies.js';

export type Handler = (ctx: RequestContext) => Promise<Reply>;
