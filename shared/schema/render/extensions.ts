/** Extensions, in their schema, at the source's version when the target offers it. */
import { quoteIdent } from '../../pg/ident';
import type { ExtensionRow } from '../catalog/extensions';
import { makeObject } from '../model';
import { address, type PlanBuilder } from './builder';
import { extensionExists } from './checks';

export function renderExtensions(b: PlanBuilder, rows: ExtensionRow[]): void {
  const available = b.options.targetExtensions;
  for (const row of rows) {
    const q = quoteIdent(row.name);
    // Pin the source's version only where the target is known to offer it.
    let version = '';
    const versions = available?.get(row.name);
    if (versions?.includes(row.version)) version = ` VERSION ${row.version_literal}`;
    else if (available && !versions) {
      b.warn({ code: 'extension-unavailable', object: `extension ${q}`, message: `extension ${row.name} is not available on the target; objects using it will fail` });
    } else if (versions) {
      b.warn({
        code: 'extension-version',
        object: `extension ${q}`,
        message: `extension ${row.name} ${row.version} is not available on the target; its default version is installed instead`,
      });
    }
    b.add(
      makeObject({
        id: `extension:${row.oid}`,
        kind: 'extension',
        name: `extension ${q}`,
        phase: 'pre-data',
        sql: [`CREATE EXTENSION IF NOT EXISTS ${q} WITH SCHEMA ${quoteIdent(row.schema)}${version}`, ...b.comment('pg_extension', row.oid, `EXTENSION ${q}`)],
        check: extensionExists(row.name),
      }),
      address('pg_extension', row.oid),
    );
  }
}
