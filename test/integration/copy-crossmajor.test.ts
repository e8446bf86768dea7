/**
 * Across majors: an embedded PostgreSQL 13 source into the rig's PostgreSQL 15 target, copied as
 * the copy activities do it (test/support/copy-units.ts: chunks and groups of small tables).
 * Binary COPY is not used between different majors; the text path must still give equal
 * checksums for the whole fixture (PostgreSQL 13 has pg_current_snapshot and the xid8 visibility
 * check too).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { copyLargeObjects, copySequences, planChunks, planTables, readSequences, takeInventory } from '../../shared/copy';
import { connect } from '../../shared/pg/connect';
import { compareDatabases, largeObjectDigest, mismatches } from '../../shared/verify';
import { startCluster, type Cluster } from '../support/cluster';
import { copyPlan } from '../support/copy-units';
import { createTestDatabase, dropTestDatabase, sql } from '../support/databases';
import { endpointOf } from '../support/endpoints';
import { expectJudgedEqual } from '../support/judge';

const target = inject('target');
const FIXTURES = join(__dirname, '..', 'fixtures', 'copy');
let pg13: Cluster;
let srcDb = '';
let tgtDb = '';

beforeAll(async () => {
  pg13 = await startCluster({ major: 13, label: 'copy13', logical: true });
  srcDb = await createTestDatabase(pg13.info, 'copy13_src');
  tgtDb = await createTestDatabase(target, 'copy13_tgt');
  const schema = readFileSync(join(FIXTURES, 'schema.sql'), 'utf8');
  await sql(pg13.info, srcDb, schema);
  await sql(target, tgtDb, schema);
  await sql(pg13.info, srcDb, readFileSync(join(FIXTURES, 'data.sql'), 'utf8'));
}, 120_000);

afterAll(async () => {
  if (tgtDb) await dropTestDatabase(target, tgtDb);
  await pg13?.stop();
});

describe('PostgreSQL 13 → 15', () => {
  it('copies the fixture in text format with equal checksums, sequences and large objects', async () => {
    const sourceEp = endpointOf(pg13.info, { database: srcDb });
    const targetEp = endpointOf(target, { database: tgtDb, sslMode: 'Require' });
    const [src, tgt] = await Promise.all([connect(sourceEp), connect(targetEp)]);
    try {
      const inventory = await takeInventory(src);
      expect(inventory.major).toBe(13);
      const plan = await planTables(src, inventory, { planId: 'x13', splitBytes: 64 * 1024, maxChunksPerTable: 4 });
      expect(plan.tables.find((t) => t.table === 'by_uuid')?.split).toBe('ctid');
      const out = await copyPlan(sourceEp, targetEp, plan, { lanes: 3 });
      expect(out.chunks).toHaveLength(planChunks(plan).length);
      expect(out.units).toBeLessThan(out.chunks.length); // small tables travelled in groups
      expect(out.chunks.every((c) => c.format === 'text')).toBe(true);
      expect(mismatches(await compareDatabases(src, tgt, plan.tables))).toEqual([]);
      await copySequences(src, tgt);
      expect(await readSequences(tgt)).toEqual(await readSequences(src));
      await copyLargeObjects(src, tgt);
      expect(await largeObjectDigest(tgt)).toEqual(await largeObjectDigest(src));
      await expectJudgedEqual(pg13.info, target, srcDb, { targetDb: tgtDb });
    } finally {
      await Promise.all([src.end(), tgt.end()]);
    }
  }, 90_000);
});
