/**
 * The house rules of the engine's layout (STYLE.md, issue 13), checked on the source itself: no
 * file in shared/ over 300 lines, no import circle anywhere in the app's code, and the orchestrators
 * reaching shared/ only through the activity contract. Imports are read by TypeScript's own
 * pre-processor (static and type-only imports, re-exports, dynamic import()).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '..', '..');
const APP = ['shared', 'functions', 'orchestrators'].map((d) => join(ROOT, d));

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return tsFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

/** Relative imports of a file, resolved to files of the app. */
function importsOf(file: string, known: Set<string>): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles
    .filter((r) => r.fileName.startsWith('.'))
    .map((r) => resolve(dirname(file), r.fileName))
    .map((base) => [`${base}.ts`, join(base, 'index.ts')].find((c) => known.has(c)))
    .filter((f): f is string => f !== undefined);
}

/** Strongly connected components with more than one file (or a file importing itself). */
export function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    for (let w = stack.pop(); w !== undefined; w = w === v ? undefined : stack.pop()) {
      onStack.delete(w);
      component.push(w);
    }
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component);
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('layout', () => {
  const files = APP.flatMap(tsFiles);
  const known = new Set(files);
  const graph = new Map(files.map((f) => [f, importsOf(f, known)]));
  const rel = (f: string) => relative(ROOT, f);

  it('no source file in shared/ is over 300 lines', () => {
    const long = files.filter((f) => rel(f).startsWith('shared/')).map((f) => [rel(f), readFileSync(f, 'utf8').split('\n').length - 1] as const).filter(([, n]) => n > 300);
    expect(long).toEqual([]);
  });

  it('no import circle in shared/, functions/ or orchestrators/', () => {
    expect(cycles(graph).map((c) => c.map(rel).sort())).toEqual([]);
  });

  it('the cycle finder finds a circle', () => {
    expect(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]])).map((c) => c.sort())).toEqual([['a', 'b', 'c']]);
    expect(cycles(new Map([['a', ['a']]]))).toEqual([['a']]);
    expect(cycles(new Map([['a', ['b']], ['b', []]]))).toEqual([]);
  });

  it('orchestrators reach shared/ only through the activity contract', () => {
    const reached = files.filter((f) => rel(f).startsWith('orchestrators/')).flatMap((f) => (graph.get(f) ?? []).map(rel)).filter((t) => t.startsWith('shared/'));
    expect([...new Set(reached)]).toEqual(['shared/steps/contracts.ts']);
  });
});
