/**
 * The floor for the page timings: the same bytes as Hearth's sign-in page (its HTML and its
 * stylesheet, copied from the running service) served by a bare node:https server with the
 * suite's certificate, and by a bare node:http one. What Chromium spends on a tiny page over TLS
 * with a certificate it does not trust shows here, apart from what the admin service adds.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttp } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { join } from 'node:path';

/** Copies `/sign-in` and `/static/admin.css` from the admin service through the browser's request API. */
export async function copyPages(request, baseURL) {
  const page = await (await request.get(`${baseURL}/sign-in`)).body();
  const css = await (await request.get(`${baseURL}/static/admin.css`)).body();
  return { page, css };
}

function handler({ page, css }) {
  return (req, res) => {
    const [body, type] = req.url === '/static/admin.css' ? [css, 'text/css; charset=utf-8'] : req.url === '/sign-in' ? [page, 'text/html; charset=utf-8'] : [undefined, undefined];
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'cache-control': 'no-store' });
    res.end(body);
  };
}

async function listen(server) {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server.address().port;
}

/** Both floors on loopback; `close()` stops them. */
export async function startFloors(pages, dataDir) {
  const tls = join(dataDir, 'tls', 'self-signed');
  const https = createHttps({ cert: readFileSync(join(tls, 'cert.pem')), key: readFileSync(join(tls, 'key.pem')) }, handler(pages));
  const http = createHttp(handler(pages));
  return {
    httpsURL: `https://127.0.0.1:${await listen(https)}`,
    httpURL: `http://127.0.0.1:${await listen(http)}`,
    close: () => Promise.all([https, http].map((s) => new Promise((resolve) => s.close(resolve)))),
  };
}
