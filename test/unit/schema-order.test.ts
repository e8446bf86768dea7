import { describe, expect, it } from 'vitest';
import { makeObject, orderObjects, type ObjectKind, type Phase, type SchemaObject } from '../../shared/schema';

function obj(id: string, deps: string[] = [], phase: Phase = 'pre-data', kind: ObjectKind = 'table'): SchemaObject {
  return makeObject({ id, kind, name: `${kind} ${id}`, phase, sql: [`-- ${id}`], deps });
}

const ids = (objects: SchemaObject[]) => objects.map((o) => o.id);

describe('orderObjects', () => {
  it('puts every object after its dependencies, otherwise in the order given', () => {
    const { objects, warnings } = orderObjects([obj('view', ['fn', 'table']), obj('table', ['type']), obj('fn', ['type']), obj('type'), obj('other')]);
    // Of the objects ready at each step, the one given first goes first.
    expect(ids(objects)).toEqual(['type', 'table', 'fn', 'view', 'other']);
    expect(warnings).toEqual([]);
  });

  it('orders phases pre-data, keys, post-data, each in dependency order', () => {
    const { objects } = orderObjects([
      obj('idx', ['t'], 'post-data', 'index'),
      obj('pk', ['t'], 'keys', 'primary-key'),
      obj('t'),
      obj('fk', ['pk', 't'], 'post-data', 'foreign-key'),
    ]);
    expect(objects.map((o) => `${o.phase}:${o.id}`)).toEqual(['pre-data:t', 'keys:pk', 'post-data:idx', 'post-data:fk']);
  });

  it('moves an object to the latest phase among its dependencies, with a warning', () => {
    const { objects, warnings } = orderObjects([obj('t'), obj('pk', ['t'], 'keys', 'primary-key'), obj('v', ['pk'], 'pre-data', 'view'), obj('v2', ['v'], 'pre-data', 'view')]);
    expect(objects.find((o) => o.id === 'v')).toMatchObject({ phase: 'keys', readiness: 'table-loaded' });
    expect(objects.find((o) => o.id === 'v2')?.phase).toBe('keys');
    expect(warnings.map((w) => w.code)).toEqual(['phase-promoted', 'phase-promoted']);
  });

  it('drops dependencies on objects that are not in the plan, and self-dependencies', () => {
    const { objects } = orderObjects([obj('a', ['missing', 'a', 'b', 'b']), obj('b')]);
    expect(objects.find((o) => o.id === 'a')?.deps).toEqual(['b']);
    expect(ids(objects)).toEqual(['b', 'a']);
  });

  it('breaks a cycle at a function (bodies are not checked on the target) and reports it', () => {
    const { objects, warnings } = orderObjects([
      obj('t', ['f']),
      obj('f', ['t'], 'pre-data', 'function'),
      obj('after', ['t']),
    ]);
    expect(ids(objects)).toEqual(['f', 't', 'after']);
    expect(warnings).toEqual([expect.objectContaining({ code: 'dependency-cycle', object: 'function f', message: expect.stringContaining('table t') })]);
    expect(objects.find((o) => o.id === 'f')?.deps).toEqual([]);
  });

  it('breaks a cycle without functions at the earliest object', () => {
    const { objects, warnings } = orderObjects([obj('x', ['y']), obj('y', ['x'])]);
    expect(ids(objects)).toEqual(['x', 'y']);
    expect(warnings).toHaveLength(1);
  });

  it('sorts 50,000 objects in a chain quickly', () => {
    const chain = Array.from({ length: 50_000 }, (_, i) => obj(`o${i}`, i ? [`o${i - 1}`] : []));
    const started = Date.now();
    const { objects } = orderObjects(chain.reverse());
    expect(objects[0]?.id).toBe('o0');
    expect(objects[49_999]?.id).toBe('o49999');
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
