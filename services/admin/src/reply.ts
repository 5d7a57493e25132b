/**
 * What a route answers, and the one writer that puts it on the wire with the security headers
 * every response carries: a CSP with no inline script or style and `frame-ancestors 'none'`,
 * nosniff, no referrer, HSTS, no caching of pages.
 */
import type { ServerResponse } from 'node:http';
import type { Html } from './html.js';

export type Reply =
  /** A whole page (or a fragment), text/html. */
  | { readonly kind: 'page'; readonly status: number; readonly body: Html }
  /** Any other text body (`/metrics`, plain errors). */
  | { readonly kind: 'text'; readonly status: number; readonly contentType: string; readonly body: string; readonly headers?: Readonly<Record<string, string>> }
  /** 303 See Other: after a form, the browser GETs `location`. */
  | { readonly kind: 'redirect'; readonly location: string }
  /** text/event-stream: `run` writes events until `signal` aborts (the client went away) and resolves. */
  | { readonly kind: 'events'; readonly run: (send: (event: string, data: string) => boolean, signal: AbortSignal) => Promise<void> };

export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CSP,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Strict-Transport-Security': 'max-age=31536000',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=()',
};

export const page = (body: Html, status = 200): Reply => ({ kind: 'page', status, body });
export const redirect = (location: string): Reply => ({ kind: 'redirect', location });
export const text = (status: number, body: string): Reply => ({ kind: 'text', status, contentType: 'text/plain; charset=utf-8', body });

/** Writes `reply` (the security headers are already set on `res`). */
export async function sendReply(res: ServerResponse, reply: Reply, head: boolean): Promise<void> {
  switch (reply.kind) {
    case 'page':
    case 'text': {
      const body = Buffer.from(reply.kind === 'page' ? reply.body.toString() : reply.body);
      res.writeHead(reply.status, {
        ...(reply.kind === 'text' ? reply.headers : {}),
        'Content-Type': reply.kind === 'page' ? 'text/html; charset=utf-8' : reply.contentType,
        'Content-Length': body.length,
        'Cache-Control': 'no-store',
      });
      res.end(head ? undefined : body);
      return;
    }
    case 'redirect':
      res.writeHead(303, { Location: reply.location, 'Content-Length': 0, 'Cache-Control': 'no-store' });
      res.end();
      return;
    case 'events': {
      res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
      res.flushHeaders();
      const abort = new AbortController();
      res.once('close', () => abort.abort());
      const send = (event: string, data: string): boolean => {
        if (res.destroyed) return false;
        // A slow reader is dropped rather than buffered without bound.
        if (res.writableLength > 1024 * 1024) {
          res.destroy();
          return false;
        }
        return res.write(`event: ${event}\n${data.split('\n').map((l) => `data: ${l}\n`).join('')}\n`);
      };
      try {
        await reply.run(send, abort.signal);
      } finally {
        res.end();
      }
      return;
    }
  }
}
