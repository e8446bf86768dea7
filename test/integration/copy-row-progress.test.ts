/**
 * Live progress of a real chunk copy: the rows the copy reports while it streams end at exactly
 * the rows the target loaded, in binary and in text format, over the fixture's every column type
 * (NULLs, arrays, bytea, newlines in text …).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { closeCopySession, copyChunk, openCopySession, planChunks, planTables, takeInventory, type CopyChunk } from '../../shared/copy';
import { connect } from '../../shared/pg/connect';
import { createTestDatabase, dropTestDatabase, sql } from '../support/databases';
import { endpointOf } from '../support/endpoints';

const source = inject('source');
const target = inject('target');
const FIXTURES = join(__dirname, '..', 'fixtures', 'copy');
const schemaSql = readFileSync(join(FIXTURES, 'schema.sql'), 'utf8');
const dataSql = readFileSync(join(FIXTURES, 'data.sql'), 'utf8');

let srcDb = '';
let tgtDbs: string[] = [];
let chunks: CopyChunk[] = [];

beforeAll(async () => {
  srcDb = await createTestDatabase(source, 'rowprog_src');
  tgtDbs = await Promise.all([createTestDatabase(target, 'rowprog_bin'), createTestDatabase(target, 'rowprog_txt')]);
  await sql(source, srcDb, schemaSql);
  await sql(source, srcDb, dataSql);
  for (const db of tgtDbs) await sql(target, db, schemaSql);
  const c = await connect(endpointOf(source, { database: srcDb }));
  try {
    chunks = planChunks(await planTables(c, await takeInventory(c), { planId: 'rowprog' }));
  } finally {
    await c.end();
  }
});

afterAll(async () => {
  await dropTestDatabase(source, srcDb).catch(() => undefined);
  for (const db of tgtDbs) await dropTestDatabase(target, db).catch(() => undefined);
});

describe('rows counted while a chunk streams', () => {
  for (const [i, format] of [[0, 'auto'], [1, 'text']] as const) {
    it(`ends at the loaded row count of every table (${format === 'auto' ? 'binary where it can' : 'text'})`, async () => {
      expect(chunks.length).toBeGreaterThan(5);
      const session = await openCopySession(endpointOf(source, { database: srcDb }), endpointOf(target, { database: tgtDbs[i] as string }));
      try {
        let binary = 0;
        for (const chunk of chunks) {
          let last = { bytes: 0, rows: 0 };
          const result = await copyChunk(session, chunk, { format, onProgress: (p) => { last = p; } });
          if (result.format === 'binary') binary++;
          expect(last.rows, `${chunk.schema}.${chunk.table} (${result.format})`).toBe(result.rows);
          expect(last.bytes).toBe(result.bytes);
        }
        if (format === 'auto') expect(binary).toBeGreaterThan(0);
        else expect(binary).toBe(0);
      } finally {
        await closeCopySession(session);
      }
    });
  }
});
