/**
 * User triggers (not the internal ones behind FKs; not the clones a partitioned table's trigger
 * puts on its partitions — tgparentid, 13+) and rules other than views' _RETURN rules.
 */
import { notExtensionMember, rows, userSchema, type CatalogContext } from './filters';

export interface TriggerRow {
  oid: number;
  relid: number;
  name: string;
  /** pg_get_triggerdef: `CREATE [CONSTRAINT] TRIGGER …`. */
  def: string;
  /** O origin (default), D disabled, R replica, A always. */
  enabled: string;
}

const userRelation = `${userSchema('n')} AND ${notExtensionMember('pg_class', 'c.oid')}`;

export async function readTriggers(ctx: CatalogContext): Promise<TriggerRow[]> {
  const notClone = ctx.versionNum >= 130000 ? 'AND t.tgparentid = 0' : '';
  return rows<TriggerRow>(ctx, `
    SELECT t.oid, t.tgrelid AS relid, t.tgname AS name, pg_catalog.pg_get_triggerdef(t.oid) AS def, t.tgenabled::text AS enabled
      FROM pg_catalog.pg_trigger t
      JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE NOT t.tgisinternal ${notClone} AND ${userRelation}
     ORDER BY t.tgrelid, t.tgname`);
}

export interface RuleRow {
  oid: number;
  relid: number;
  name: string;
  /** pg_get_ruledef: `CREATE RULE … ;`. */
  def: string;
  /** O origin (default), D disabled, R replica, A always. */
  enabled: string;
  /** Relkind of the relation the rule is on. */
  relkind: string;
}

export async function readRules(ctx: CatalogContext): Promise<RuleRow[]> {
  return rows<RuleRow>(ctx, `
    SELECT r.oid, r.ev_class AS relid, r.rulename AS name, pg_catalog.pg_get_ruledef(r.oid) AS def,
           r.ev_enabled::text AS enabled, c.relkind::text AS relkind
      FROM pg_catalog.pg_rewrite r
      JOIN pg_catalog.pg_class c ON c.oid = r.ev_class JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE r.rulename <> '_RETURN' AND ${userRelation}
     ORDER BY r.ev_class, r.rulename`);
}
