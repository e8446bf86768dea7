/**
 * ASP.NET-style route templates as the Functions host applies them to HTTP triggers:
 * `{param}`, optional `{param?}`, defaults `{param=value}`, constraints `{id:int}` (accepted and
 * ignored: only the shape of the path decides), catch-all `{*rest}`, and literal segments matched
 * case-insensitively. When several templates match, the more specific one wins (literal before
 * parameter before optional before catch-all), as ASP.NET routing orders them.
 */

interface ParamSpec {
  name: string;
  optional: boolean;
  catchAll: boolean;
  defaultValue?: string;
}

export interface CompiledRoute<T> {
  template: string;
  methods: string[];
  target: T;
  regex: RegExp;
  params: ParamSpec[];
  precedence: number[];
}

export interface RouteMatch<T> {
  target: T;
  params: Record<string, string>;
}

/** Per-segment specificity; lower is more specific. */
const RANK = { literal: 1, complex: 2, constrained: 3, param: 4, optional: 5, catchAll: 6 } as const;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `{*rest:alpha=x?}` → its parts. */
function parseParam(inner: string): ParamSpec & { constrained: boolean } {
  let body = inner.trim();
  const catchAll = body.startsWith('*');
  body = body.replace(/^\*+/, '');
  let optional = false;
  if (body.endsWith('?')) {
    optional = true;
    body = body.slice(0, -1);
  }
  let defaultValue: string | undefined;
  const eq = body.indexOf('=');
  if (eq >= 0) {
    defaultValue = body.slice(eq + 1);
    body = body.slice(0, eq);
  }
  const colon = body.indexOf(':');
  const name = (colon >= 0 ? body.slice(0, colon) : body).trim();
  if (!/^[A-Za-z_][\w.-]*$/.test(name)) throw new Error(`invalid route parameter "{${inner}}"`);
  return { name, optional: optional || defaultValue !== undefined, catchAll, defaultValue, constrained: colon >= 0 };
}

/** Splits a segment into literal text and `{…}` tokens. */
function tokens(segment: string): Array<{ literal: string } | { param: string }> {
  const out: Array<{ literal: string } | { param: string }> = [];
  let i = 0;
  while (i < segment.length) {
    const open = segment.indexOf('{', i);
    if (open < 0) {
      out.push({ literal: segment.slice(i) });
      break;
    }
    if (open > i) out.push({ literal: segment.slice(i, open) });
    const close = segment.indexOf('}', open);
    if (close < 0) throw new Error(`unclosed "{" in route segment "${segment}"`);
    out.push({ param: segment.slice(open + 1, close) });
    i = close + 1;
  }
  return out;
}

export function compileRoute<T>(template: string, methods: string[], target: T): CompiledRoute<T> {
  const clean = template.replace(/^\/+|\/+$/g, '');
  const segments = clean === '' ? [] : clean.split('/');
  const params: ParamSpec[] = [];
  const precedence: number[] = [];
  let re = '^';
  segments.forEach((segment, index) => {
    const toks = tokens(segment);
    const only = toks.length === 1 ? toks[0] : undefined;
    if (only && 'param' in only) {
      const p = parseParam(only.param);
      if (p.catchAll && index !== segments.length - 1) throw new Error(`catch-all parameter must be last in route "${template}"`);
      params.push(p);
      if (p.catchAll) {
        re += '(?:/(.*))?';
        precedence.push(RANK.catchAll);
      } else if (p.optional) {
        re += '(?:/([^/]+))?';
        precedence.push(RANK.optional);
      } else {
        re += '/([^/]+)';
        precedence.push(p.constrained ? RANK.constrained : RANK.param);
      }
      return;
    }
    re += '/';
    let hasParam = false;
    for (const t of toks) {
      if ('literal' in t) re += escapeRegExp(t.literal);
      else {
        const p = parseParam(t.param);
        params.push({ ...p, optional: false, catchAll: false });
        re += '([^/]+?)';
        hasParam = true;
      }
    }
    precedence.push(hasParam ? RANK.complex : RANK.literal);
  });
  re += '/?$';
  return { template: clean, methods: methods.map((m) => m.toUpperCase()), target, regex: new RegExp(re, 'i'), params, precedence };
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Most specific first; ties keep registration order (Array.prototype.sort is stable). */
export function byPrecedence<T>(a: CompiledRoute<T>, b: CompiledRoute<T>): number {
  const n = Math.max(a.precedence.length, b.precedence.length);
  for (let i = 0; i < n; i++) {
    const x = a.precedence[i];
    const y = b.precedence[i];
    if (x === undefined || y === undefined) return x === undefined ? 1 : -1;
    if (x !== y) return x - y;
  }
  return 0;
}

export class RouteTable<T> {
  private readonly routes: CompiledRoute<T>[] = [];

  add(template: string, methods: string[], target: T): void {
    this.routes.push(compileRoute(template, methods, target));
    this.routes.sort(byPrecedence);
  }

  get size(): number {
    return this.routes.length;
  }

  /** The route for `method` and the raw (still percent-encoded) `path`; none → undefined. */
  match(method: string, path: string): RouteMatch<T> | undefined {
    const m = method.toUpperCase();
    for (const route of this.routes) {
      if (route.methods.length > 0 && !route.methods.includes(m)) continue;
      const hit = route.regex.exec(path);
      if (!hit) continue;
      const params: Record<string, string> = {};
      route.params.forEach((p, i) => {
        const raw = hit[i + 1];
        if (raw !== undefined && raw !== '') params[p.name] = p.catchAll ? raw.split('/').map(decode).join('/') : decode(raw);
        else if (p.defaultValue !== undefined) params[p.name] = p.defaultValue;
      });
      return { target: route.target, params };
    }
    return undefined;
  }
}
