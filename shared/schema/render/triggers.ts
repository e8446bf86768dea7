/** Triggers and rules (post-data), with their enabled state (or disabled until completion: holdTriggers). */
import { quoteIdent } from '../../pg/ident';
import type { RuleRow, TriggerRow } from '../catalog/triggers';
import { makeObject } from '../model';
import { address, type PlanBuilder } from './builder';
import { ruleExists, triggerExists } from './checks';
import type { RelationNames } from './indexes';

const ENABLE: Record<string, string> = { D: 'DISABLE', R: 'ENABLE REPLICA', A: 'ENABLE ALWAYS' };

/** Replay writes tables only: triggers and rules of views keep their state from the start. */
const held = (b: PlanBuilder, relId: string) => b.options.holdTriggers === true && relId.startsWith('table:');

export function renderTriggers(b: PlanBuilder, rows: TriggerRow[], relations: RelationNames): void {
  for (const t of rows) {
    const rel = relations.get(t.relid);
    if (!rel) continue;
    const name = quoteIdent(t.name);
    const sql = [t.def];
    const state = held(b, rel.id) ? 'DISABLE' : ENABLE[t.enabled];
    if (state) sql.push(`ALTER TABLE ${rel.qualified} ${state} TRIGGER ${name}`);
    sql.push(...b.comment('pg_trigger', t.oid, `TRIGGER ${name} ON ${rel.qualified}`));
    b.add(
      makeObject({
        id: `trigger:${t.oid}`,
        kind: 'trigger',
        name: `trigger ${name} on ${rel.qualified}`,
        phase: 'post-data',
        sql,
        check: triggerExists(rel.qualified, t.name),
        deps: [rel.id],
        table: rel.id,
      }),
      address('pg_trigger', t.oid),
    );
  }
}

export function renderRules(b: PlanBuilder, rows: RuleRow[], relations: RelationNames): void {
  for (const r of rows) {
    const rel = relations.get(r.relid);
    if (!rel) continue;
    const name = quoteIdent(r.name);
    const sql = [r.def.trim().replace(/;$/, '')];
    const state = held(b, rel.id) ? 'DISABLE' : ENABLE[r.enabled];
    if (state) sql.push(`ALTER TABLE ${rel.qualified} ${state} RULE ${name}`);
    sql.push(...b.comment('pg_rewrite', r.oid, `RULE ${name} ON ${rel.qualified}`));
    b.add(
      makeObject({
        id: `rule:${r.oid}`,
        kind: 'rule',
        name: `rule ${name} on ${rel.qualified}`,
        phase: 'post-data',
        sql,
        check: ruleExists(rel.qualified, r.name),
        deps: [rel.id],
        table: rel.id,
      }),
      address('pg_rewrite', r.oid),
    );
  }
}
