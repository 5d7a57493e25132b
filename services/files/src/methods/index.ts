/** The method table: every HTTP method the service answers, and its handler. */
import { copy, move } from './copy-move.js';
import { del } from './delete.js';
import { get } from './get.js';
import { lock, unlock } from './lock.js';
import { mkcol } from './mkcol.js';
import { options } from './options.js';
import { propfind } from './propfind.js';
import { proppatch } from './proppatch.js';
import { put } from './put.js';
import type { Handler } from './types.js';

export type Method = 'OPTIONS' | 'GET' | 'HEAD' | 'PUT' | 'DELETE' | 'MKCOL' | 'COPY' | 'MOVE' | 'PROPFIND' | 'PROPPATCH' | 'LOCK' | 'UNLOCK';

export const methods: Readonly<Record<Method, Handler>> = {
  OPTIONS: options,
  GET: get,
  HEAD: get,
  PUT: put,
  DELETE: del,
  MKCOL: mkcol,
  COPY: copy,
  MOVE: move,
  PROPFIND: propfind,
  PROPPATCH: proppatch,
  LOCK: lock,
  UNLOCK: unlock,
};

export function isMethod(name: string): name is Method {
  return Object.hasOwn(methods, name);
}

export { ALLOW, optionsReply } from './options.js';
export type { Handler } from './types.js';
