/**
 * Orders objects by their dependencies: Kahn's topological sort, ties kept in the order objects
 * were rendered (family by family), then phases: an object that depends on one of a later phase
 * moves to that phase (a view that groups by a primary key waits for the key).
 *
 * Dependency cycles cannot come from pg_depend's normal edges alone, but they can appear once
 * sub-objects are folded into their owners. The model splits the usual culprits out beforehand
 * (column defaults and CHECKs that call user functions); any cycle left is broken at a function
 * when there is one — the target session runs with check_function_bodies off — and reported.
 */
import { phaseRank, PHASES, type PlanWarning, type SchemaObject } from './model';

export interface Ordered {
  objects: SchemaObject[];
  warnings: PlanWarning[];
}

/** Kinds whose dependencies may be dropped to break a cycle, best first. */
const BREAKABLE: readonly string[] = ['function', 'aggregate', 'view', 'materialized-view'];

export function orderObjects(input: readonly SchemaObject[]): Ordered {
  const warnings: PlanWarning[] = [];
  const index = new Map(input.map((o, i) => [o.id, i]));
  // Unknown dependencies (objects not migrated, owners of missing roles) and self-edges go.
  for (const o of input) o.deps = [...new Set(o.deps)].filter((d) => d !== o.id && index.has(d));

  const pending = input.map((o) => o.deps.length);
  const dependents: number[][] = input.map(() => []);
  input.forEach((o, i) => o.deps.forEach((d) => dependents[index.get(d) as number]?.push(i)));

  const heap = new MinHeap();
  pending.forEach((n, i) => n === 0 && heap.push(i));
  const done = new Array<boolean>(input.length).fill(false);
  const order: SchemaObject[] = [];
  while (order.length < input.length) {
    let i = heap.pop();
    if (i === undefined) {
      i = breakCycle(input, done, pending);
      const o = input[i] as SchemaObject;
      const dropped = o.deps.filter((d) => !done[index.get(d) as number]);
      o.deps = o.deps.filter((d) => done[index.get(d) as number]);
      warnings.push({
        code: 'dependency-cycle',
        object: o.name,
        message: `dependency cycle: ${o.name} is created before ${dropped.map((d) => input[index.get(d) as number]?.name).join(', ')}`,
      });
      // Its remaining in-edges no longer count; the dependents' counters are fixed below.
      for (const d of dropped) {
        const di = index.get(d) as number;
        dependents[di] = (dependents[di] ?? []).filter((x) => x !== i);
      }
      pending[i] = 0;
    }
    if (done[i]) continue;
    done[i] = true;
    const o = input[i] as SchemaObject;
    order.push(o);
    for (const j of dependents[i] ?? []) {
      pending[j] = (pending[j] ?? 0) - 1;
      if (pending[j] === 0 && !done[j]) heap.push(j);
    }
  }
  return { objects: assignPhases(order, warnings), warnings };
}

/** Picks the object to create despite unmet dependencies: a function first, then the earliest. */
function breakCycle(input: readonly SchemaObject[], done: boolean[], pending: number[]): number {
  let best = -1;
  let bestRank = Infinity;
  input.forEach((o, i) => {
    if (done[i] || (pending[i] ?? 0) === 0) return;
    const rank = BREAKABLE.includes(o.kind) ? BREAKABLE.indexOf(o.kind) : BREAKABLE.length;
    if (rank < bestRank) {
      best = i;
      bestRank = rank;
    }
  });
  return best;
}

/** Moves objects to the latest phase among their dependencies, keeping dependency order. */
function assignPhases(order: SchemaObject[], warnings: PlanWarning[]): SchemaObject[] {
  const byId = new Map(order.map((o) => [o.id, o]));
  for (const o of order) {
    let rank = phaseRank(o.phase);
    for (const d of o.deps) rank = Math.max(rank, phaseRank(byId.get(d)?.phase ?? o.phase));
    const phase = PHASES[rank] ?? o.phase;
    if (phase !== o.phase) {
      if (o.kind !== 'owner' && o.kind !== 'acl') {
        warnings.push({ code: 'phase-promoted', object: o.name, message: `${o.name} moves from ${o.phase} to ${phase}: it depends on an object created there` });
      }
      o.phase = phase;
      if (o.readiness === 'schema') o.readiness = phase === 'keys' ? 'table-loaded' : 'consistent';
    }
  }
  return PHASES.flatMap((p) => order.filter((o) => o.phase === p));
}

/** A binary min-heap of indexes: ready objects come out in rendering order. */
class MinHeap {
  private items: number[] = [];

  push(v: number): void {
    const a = this.items;
    a.push(v);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((a[p] as number) <= v) break;
      a[i] = a[p] as number;
      i = p;
    }
    a[i] = v;
  }

  pop(): number | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        let mv = last;
        if (l < a.length && (a[l] as number) < mv) {
          m = l;
          mv = a[l] as number;
        }
        if (r < a.length && (a[r] as number) < mv) m = r;
        if (m === i) break;
        a[i] = a[m] as number;
        i = m;
      }
      a[i] = last;
    }
    return top;
  }
}
