/** Sequences: CREATE SEQUENCE with every option, then OWNED BY once the owning table exists. */
import { quoteIdent, quoteQualified } from '../../pg/ident';
import type { SequenceOptions, SequenceRow } from '../catalog/sequences';
import { makeObject } from '../model';
import { ownerAndAcl } from './acl';
import { address, type PlanBuilder } from './builder';
import { relationExists } from './checks';

/** `START WITH … INCREMENT BY … MINVALUE … MAXVALUE … CACHE … [NO] CYCLE`. */
export function sequenceOptions(s: SequenceOptions): string {
  return `START WITH ${s.start} INCREMENT BY ${s.increment} MINVALUE ${s.min} MAXVALUE ${s.max} CACHE ${s.cache} ${s.cycle ? 'CYCLE' : 'NO CYCLE'}`;
}

/** The identity clause of a column: `GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME … )`. */
export function identityClause(kind: string, seq: SequenceRow | undefined): string {
  const head = `GENERATED ${kind === 'a' ? 'ALWAYS' : 'BY DEFAULT'} AS IDENTITY`;
  if (!seq) return head;
  return `${head} (SEQUENCE NAME ${quoteQualified(seq.schema, seq.name)} ${sequenceOptions(seq)})`;
}

/** `tableNames`: OID → quoted qualified name of every migrated table. */
export function renderSequences(b: PlanBuilder, rows: SequenceRow[], tableNames: ReadonlyMap<number, string>): void {
  for (const row of rows) {
    const q = quoteQualified(row.schema, row.name);
    if (row.identity) {
      // Created by its table's identity column; dependencies on it are the table's.
      if (row.identity_table !== null) b.alias(address('pg_class', row.oid), `table:${row.identity_table}`);
      continue;
    }
    const obj = b.add(
      makeObject({
        id: `sequence:${row.oid}`,
        kind: 'sequence',
        name: `sequence ${q}`,
        phase: 'pre-data',
        sql: [
          `CREATE ${row.unlogged ? 'UNLOGGED ' : ''}SEQUENCE IF NOT EXISTS ${q} AS ${row.type} ${sequenceOptions(row)}`,
          ...b.comment('pg_class', row.oid, `SEQUENCE ${q}`),
        ],
        check: relationExists(q),
      }),
      address('pg_class', row.oid),
    );
    ownerAndAcl(b, obj, `SEQUENCE ${q}`, { on: `SEQUENCE ${q}`, owner: row.owner, isDefault: row.acl_default, items: row.acl });
    const owningTable = row.owned_by_table === null ? undefined : tableNames.get(row.owned_by_table);
    // A sequence owned by a table pgferry does not migrate (an extension's, say) stays free.
    if (row.owned_by_table !== null && row.owned_by_column !== null && owningTable !== undefined) {
      const table = `table:${row.owned_by_table}`;
      b.add(
        makeObject({
          id: `owned-by:${row.oid}`,
          kind: 'sequence-owned-by',
          name: `sequence ${q} owned by ${owningTable}.${quoteIdent(row.owned_by_column)}`,
          phase: 'pre-data',
          sql: [`ALTER SEQUENCE ${q} OWNED BY ${owningTable}.${quoteIdent(row.owned_by_column)}`],
          // Both must have the same owner first, hence the owner objects.
          deps: [obj.id, table, `owner:${obj.id}`, `owner:${table}`],
          orderOnly: [`owner:${obj.id}`, `owner:${table}`],
        }),
      );
    }
  }
}
