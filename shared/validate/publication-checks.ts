/**
 * pgoutput reads through a publication the source login creates (cdc/publication.ts): a
 * non-superuser needs CREATE on the database and the privileges of every replicated table's
 * owner. Managed services give neither to their replication roles by default, so validation
 * names the GRANT for each, before a slot exists.
 */
import type { ClientBase } from 'pg';
import { publicationBlockers } from '../cdc/publication';
import { quoteIdent } from '../pg/ident';
import { finding, nameList, type Finding } from './codes';

export async function publicationFindings(client: ClientBase, db: string, user: string): Promise<Finding[]> {
  const blockers = await publicationBlockers(client);
  if (!blockers) return [];
  const out: Finding[] = [];
  const userQuoted = quoteIdent(user);
  if (blockers.noCreate) out.push(finding('603929', { db, dbQuoted: quoteIdent(db), user, userQuoted }));
  if (blockers.notOwned.size > 0) {
    const tables = [...blockers.notOwned.values()].flat();
    const owners = [...blockers.notOwned.keys()].map(quoteIdent).join(', ');
    out.push(finding('603930', { db, user, userQuoted, count: tables.length, tables: nameList(tables), owners }));
  }
  return out;
}
