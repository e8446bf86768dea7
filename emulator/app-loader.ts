/**
 * Loads the function app the way the Node worker does: every file that package.json `main`
 * names (a path or a glob such as `dist/functions/*.js`), required in sorted order, with the
 * core shim already in place so each `app.*` call registers with this host.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

const GLOB_CHARS = /[*?{[]/;

/** A glob as a RegExp over '/'-separated relative paths: `**`, `*`, `?`, `{a,b}`. */
export function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${globSource(glob)}$`);
}

function globSource(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      out += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '{') {
      const end = glob.indexOf('}', i);
      if (end < 0) throw new Error(`unclosed "{" in ${glob}`);
      out += `(?:${glob.slice(i + 1, end).split(',').map(globSource).join('|')})`;
      i = end;
    } else out += escapeRegExp(c);
  }
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.+^${}()|[\]\\*?]/g, '\\$&');
}

function walk(dir: string, into: string[]): void {
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    if (d.name === 'node_modules' || d.name.startsWith('.')) continue;
    const p = join(dir, d.name);
    if (d.isDirectory()) walk(p, into);
    else if (d.isFile()) into.push(p);
  }
}

/** The files one entry pattern names, sorted; throws when none exist (as the worker does). */
export function expandEntry(appDir: string, pattern: string): string[] {
  const posix = pattern.replace(/\\/g, '/').replace(/^\.\//, '');
  if (!GLOB_CHARS.test(posix)) {
    const file = resolve(appDir, posix);
    if (!existsSync(file)) throw new Error(`entry point ${file} does not exist (package.json "main")`);
    return [file];
  }
  const segments = posix.split('/');
  const firstGlob = segments.findIndex((s) => GLOB_CHARS.test(s));
  const base = resolve(appDir, ...segments.slice(0, firstGlob));
  const files: string[] = [];
  if (existsSync(base)) walk(base, files);
  const re = globToRegExp(posix);
  const matches = files.filter((f) => re.test(relative(appDir, f).split(sep).join('/'))).sort();
  if (matches.length === 0) throw new Error(`found zero files matching "${pattern}" in ${appDir} (package.json "main"): build the app first?`);
  return matches;
}

function isEsm(file: string, appDir: string): boolean {
  if (file.endsWith('.mjs')) return true;
  if (file.endsWith('.cjs')) return false;
  const pkg = join(appDir, 'package.json');
  if (!existsSync(pkg)) return false;
  try {
    return (JSON.parse(readFileSync(pkg, 'utf8')) as { type?: unknown }).type === 'module';
  } catch {
    return false;
  }
}

/** Requires (or imports, for ES modules) every entry file; returns the files loaded. */
export async function loadApp(appDir: string, entries: string[]): Promise<string[]> {
  const files = [...new Set(entries.flatMap((e) => expandEntry(appDir, e)))];
  for (const file of files) {
    if (isEsm(file, appDir)) await import(pathToFileURL(file).href);
    else createRequire(file)(file);
  }
  return files;
}
