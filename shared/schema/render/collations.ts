/** User-defined collations (libc, ICU, builtin), with every option the source version stores. */
import { quoteQualified } from '../../pg/ident';
import type { CollationRow } from '../catalog/collations';
import { makeObject } from '../model';
import { ownerAndAcl } from './acl';
import { address, type PlanBuilder } from './builder';
import { collationExists } from './checks';

export function collationOptions(row: CollationRow): string[] {
  const provider = row.provider === 'i' ? 'icu' : row.provider === 'b' ? 'builtin' : 'libc';
  const opts = [`provider = ${provider}`];
  if (!row.deterministic) opts.push('deterministic = false');
  if (provider === 'libc') {
    if (row.lc_collate === row.lc_ctype && row.lc_collate !== null) opts.push(`locale = ${row.lc_collate}`);
    else {
      if (row.lc_collate !== null) opts.push(`lc_collate = ${row.lc_collate}`);
      if (row.lc_ctype !== null) opts.push(`lc_ctype = ${row.lc_ctype}`);
    }
  } else if (row.locale !== null) {
    opts.push(`locale = ${row.locale}`);
  }
  if (row.rules !== null) opts.push(`rules = ${row.rules}`);
  return opts;
}

export function renderCollations(b: PlanBuilder, rows: CollationRow[]): void {
  for (const row of rows) {
    const q = quoteQualified(row.schema, row.name);
    const obj = b.add(
      makeObject({
        id: `collation:${row.oid}`,
        kind: 'collation',
        name: `collation ${q}`,
        phase: 'pre-data',
        sql: [`CREATE COLLATION ${q} (${collationOptions(row).join(', ')})`, ...b.comment('pg_collation', row.oid, `COLLATION ${q}`)],
        check: collationExists(row.schema, row.name),
      }),
      address('pg_collation', row.oid),
    );
    ownerAndAcl(b, obj, `COLLATION ${q}`, { on: '', owner: row.owner, isDefault: true, items: null });
  }
}
