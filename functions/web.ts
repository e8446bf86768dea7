/**
 * GET /api/portal/{*path} — the portal page (web/): static files only, read from disk. It is
 * anonymous because a browser cannot send a function key for the page itself; the page sends the
 * key (x-functions-key) on every API call, and those routes keep their own auth level.
 *
 * The compiled module runs from dist/functions/, so web/ is found by walking up to the folder
 * that holds package.json (the app root, in dist/'s parent both locally and in a deployed zip).
 */
import { appSettings } from '../shared/model/settings';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';

/** What each served extension is; anything else is a 404, so no stray file type leaks out. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.png': 'image/png',
};

/** Same-origin only: the page may talk to this app and nothing else (no CDN, no fonts). */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Plain names only: no dot-files, no `..`, no backslashes or encoded separators. */
const SAFE_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

export function findAppRoot(from: string = __dirname): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}: cannot locate web/`);
    dir = up;
  }
}

let webRoot: string | undefined;
function webDir(): string {
  const configured = appSettings().webDir;
  webRoot ??= configured ? resolve(configured) : join(findAppRoot(), 'web');
  return webRoot;
}

/** The file under web/ that `path` names, or undefined when it is not a servable file. */
export function resolveAsset(root: string, path: string): string | undefined {
  const rel = path === '' ? 'index.html' : path;
  const segments = rel.split('/');
  if (!segments.every((s) => SAFE_SEGMENT.test(s))) return undefined;
  if (CONTENT_TYPES[extname(rel).toLowerCase()] === undefined) return undefined;
  const file = resolve(root, ...segments);
  if (!file.startsWith(root + sep)) return undefined;
  try {
    return statSync(file).isFile() ? file : undefined;
  } catch {
    return undefined;
  }
}

function notFound(): HttpResponseInit {
  return { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'Not found' };
}

export async function portalAsset(req: HttpRequest): Promise<HttpResponseInit> {
  const path = req.params.path ?? '';
  const url = new URL(req.url);
  // Relative links in index.html resolve against the folder, so the page must end with "/".
  if (path === '' && !url.pathname.endsWith('/')) {
    return { status: 308, headers: { location: `${url.pathname}/${url.search}` } };
  }
  const file = resolveAsset(webDir(), path);
  if (file === undefined) return notFound();
  const type = CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
  const headers: Record<string, string> = {
    'content-type': type,
    // Small files, changed with each deploy: revalidate every time rather than serve a stale page.
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
  if (type.startsWith('text/html')) {
    headers['content-security-policy'] = CSP;
    headers['x-frame-options'] = 'DENY';
  }
  const body = readFileSync(file);
  return { status: 200, headers, body: req.method === 'HEAD' ? '' : body };
}

app.http('portal', { route: 'portal/{*path}', methods: ['GET', 'HEAD'], authLevel: 'anonymous', handler: portalAsset });
