/**
 * Value formats and exactness of the change stream on sources (and targets) whose databases have
 * their own DateStyle, TimeZone, IntervalStyle, extra_float_digits, bytea_output and
 * standard_conforming_strings: every session pgferry opens, walsender sessions included, must
 * render and parse values in pgferry's formats. Then wal2json's lossy nulls of float and numeric
 * columns in keyless REPLICA IDENTITY FULL tables, and the byte bound of a streamed batch.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Client } from 'pg';
import { closeQuietly, connect } from '../../shared/pg/connect';
import { applyBatch, CdcApplyError, dropSlotAndPublication, ensureSlot, slotNameFor, type BatchResult, type Plugin } from '../../shared/cdc';
import type { ServerInfo } from '../support/cluster';
import { adminClient, createTestDatabase, dropTestDatabase, sql } from '../support/databases';
import { endpointOf } from '../support/endpoints';

const source = inject('source');
const target = inject('target');

const COLS = `d date, ts timestamptz, r tstzrange, arr timestamptz[], iv interval, f4 real, f8 float8, n numeric, b bytea, m money, t text`;
const DDL = `
  CREATE TABLE keyed (id int PRIMARY KEY, ${COLS});
  CREATE TABLE keyless (id int, ${COLS});
  ALTER TABLE keyless REPLICA IDENTITY FULL;
  CREATE TABLE floats (id int, f4 real, f8 float8, n numeric);
  ALTER TABLE floats REPLICA IDENTITY FULL;
  CREATE TABLE blobs (id int PRIMARY KEY, payload text);`;

/** The source's and the target's own styles: all different from pgferry's and from each other. */
const SOURCE_DB_SETTINGS = {
  DateStyle: 'SQL, DMY',
  TimeZone: 'Europe/Berlin',
  IntervalStyle: 'sql_standard',
  extra_float_digits: '-3',
  bytea_output: 'escape',
  standard_conforming_strings: 'off',
};
const TARGET_DB_SETTINGS = { DateStyle: 'German, DMY', TimeZone: 'America/St_Johns', IntervalStyle: 'iso_8601', extra_float_digits: '0', bytea_output: 'escape' };

async function alterDatabase(server: ServerInfo, db: string, settings: Record<string, string>): Promise<void> {
  for (const [k, v] of Object.entries(settings)) await sql(server, 'postgres', `ALTER DATABASE "${db}" SET ${k} = '${v}'`);
}

/** Values whose text depends on every setting above (parameters: the writer's session has the source's styles). */
const ROW = [
  '2024-02-01',
  '2024-03-31 01:30:00.123456+00',
  '[2024-03-31 00:30:00+00,2024-10-27 01:30:00+00)',
  '{"2024-10-27 00:30:00+00","1890-01-01 12:00:00+00"}',
  '1 year 2 mons -3 days 04:05:06.789',
  '0.1',
  '0.1',
  '1.5',
  '\\xde00ad5cbeef',
  '1234.56',
  'back\\slash \'quote\' ü € ∑',
];
const INSERT = (table: string, id: number) =>
  `INSERT INTO ${table} VALUES (${id}, $1::date, $2::timestamptz, $3::tstzrange, $4::timestamptz[], $5::interval, $6::real, $7::float8, $8::numeric, $9::bytea, $10::numeric::money, $11::text)`;

/** Every row of a table as text, rendered in one fixed style (chosen here, not by pgferry). */
async function rowsOf(server: ServerInfo, db: string, table: string): Promise<string[]> {
  const c = await adminClient(server, db);
  try {
    await c.query(`SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 3; SET bytea_output = 'hex'; SET lc_monetary = 'C'`);
    const { rows } = await c.query<{ x: string }>(`SELECT x::text AS x FROM public.${table} x ORDER BY 1`);
    return rows.map((r) => r.x);
  } finally {
    await c.end();
  }
}

interface Pair {
  srcDb: string;
  dstDb: string;
  src: Client;
  dst: Client;
  writer: Client;
  slot: string;
  close: () => Promise<void>;
}

async function makePair(label: string, plugin: Plugin, styled: boolean, encoding = 'UTF8'): Promise<Pair> {
  const create = async (server: ServerInfo) => {
    if (encoding === 'UTF8') return createTestDatabase(server, label);
    const db = `${label}_${Math.random().toString(16).slice(2, 10)}`;
    await sql(server, 'postgres', `CREATE DATABASE ${db} ENCODING '${encoding}' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`);
    return db;
  };
  const srcDb = await create(source);
  const dstDb = await create(target);
  await sql(source, srcDb, DDL);
  await sql(target, dstDb, DDL);
  if (styled) {
    await alterDatabase(source, srcDb, SOURCE_DB_SETTINGS);
    await alterDatabase(target, dstDb, TARGET_DB_SETTINGS);
  }
  const src = await connect(endpointOf(source, { database: srcDb }));
  const dst = await connect(endpointOf(target, { database: dstDb, sslMode: target.ssl ? 'Require' : 'Prefer' }));
  const writer = await adminClient(source, srcDb);
  const slot = slotNameFor(`it-${label}`, srcDb);
  await ensureSlot(src, slot, { plugin });
  return {
    srcDb,
    dstDb,
    src,
    dst,
    writer,
    slot,
    close: async () => {
      await dropSlotAndPublication(src, slot).catch(() => undefined);
      await Promise.all([closeQuietly(src), closeQuietly(dst), writer.end()]);
      await dropTestDatabase(source, srcDb);
      await dropTestDatabase(target, dstDb);
    },
  };
}

/** Streams until caught up (or SQL peeks with read: 'sql'). */
async function catchUp(p: Pair, plugin: Plugin, extra: Partial<Parameters<typeof applyBatch>[2]> = {}, read: 'stream' | 'sql' = 'stream'): Promise<BatchResult[]> {
  const openReplication = () => connect(endpointOf(source, { database: p.srcDb }), { replication: true });
  const out: BatchResult[] = [];
  for (let i = 0; i < 20; i++) {
    const r = await applyBatch(p.src, p.dst, { slot: p.slot, plugin, maxMs: 3000, ...(read === 'stream' ? { openReplication } : {}), ...extra });
    out.push(r);
    if (r.caughtUp) return out;
  }
  throw new Error('no catch-up after 20 batches');
}

describe('every pgferry session uses pgferry value formats', () => {
  let db: string;
  beforeAll(async () => {
    db = await createTestDatabase(source, 'fmt_sessions');
    await alterDatabase(source, db, SOURCE_DB_SETTINGS);
  });
  afterAll(async () => {
    await dropTestDatabase(source, db);
  });

  it('normal and walsender sessions show ISO, UTC, postgres intervals, hex bytea, C money, all float digits', async () => {
    for (const replication of [false, true]) {
      const c = await connect(endpointOf(source, { database: db }), { replication });
      try {
        const shown: Record<string, string> = {};
        for (const name of ['DateStyle', 'TimeZone', 'IntervalStyle', 'extra_float_digits', 'bytea_output', 'lc_monetary', 'standard_conforming_strings']) {
          const { rows } = await c.query<Record<string, string>>(`SHOW ${name}`);
          shown[name] = Object.values(rows[0] ?? {})[0] ?? '';
        }
        expect({ replication, ...shown }).toEqual({
          replication,
          DateStyle: 'ISO, MDY',
          TimeZone: 'UTC',
          IntervalStyle: 'postgres',
          extra_float_digits: '3',
          bytea_output: 'hex',
          lc_monetary: 'C',
          standard_conforming_strings: 'on',
        });
      } finally {
        await closeQuietly(c);
      }
    }
  });

  it('the parameter report session keeps the server’s own settings', async () => {
    const c = await connect(endpointOf(source, { database: db }), { keepServerFormats: true });
    try {
      expect((await c.query(`SHOW DateStyle`)).rows[0]).toEqual({ DateStyle: 'SQL, DMY' });
    } finally {
      await closeQuietly(c);
    }
  });
});

describe.each<Plugin>(['pgoutput', 'wal2json'])('streamed changes from a styled source to a styled target (%s)', (plugin) => {
  let p: Pair;
  beforeAll(async () => {
    p = await makePair(`fmt_${plugin}`, plugin, true);
  });
  afterAll(async () => {
    await p?.close();
  });

  it('arrive exactly: dates, timestamps, ranges, arrays, intervals, floats, bytea, money, text; FULL rows are found', async () => {
    for (const table of ['keyed', 'keyless']) {
      await p.writer.query(INSERT(table, 1), ROW);
      await p.writer.query(INSERT(table, 2), ROW);
      await p.writer.query(`INSERT INTO ${table} (id, f4, f8, n, t) VALUES (3, 'NaN', 'Infinity', 'NaN', NULL), (4, '-Infinity', '-Infinity', NULL, '')`);
    }
    const first = await catchUp(p, plugin);
    expect(first.reduce((n, r) => n + r.inserts, 0)).toBe(8);
    for (const table of ['keyed', 'keyless']) {
      // The old row of a FULL table is matched on every value: it must parse back to the same one.
      await p.writer.query(`UPDATE ${table} SET t = t || ' updated', f8 = f8 + 1 WHERE id = 1`);
      await p.writer.query(`UPDATE ${table} SET d = d + 1, r = tstzrange(lower(r), NULL) WHERE id = 2`);
      await p.writer.query(`UPDATE ${table} SET f4 = 'Infinity' WHERE id = 3`);
      await p.writer.query(`DELETE FROM ${table} WHERE id = 4`);
    }
    await catchUp(p, plugin);
    for (const table of ['keyed', 'keyless']) expect(await rowsOf(target, p.dstDb, table)).toEqual(await rowsOf(source, p.srcDb, table));
    expect((await rowsOf(target, p.dstDb, 'keyed'))[0]).toContain('2024-02-01');
  }, 90_000);
});

describe.each<Plugin>(['wal2json', 'pgoutput'])('NULL, NaN and ±Infinity in a keyless REPLICA IDENTITY FULL table (%s)', (plugin) => {
  let p: Pair;
  beforeAll(async () => {
    p = await makePair(`fmt_nan_${plugin}`, plugin, false);
  });
  afterAll(async () => {
    await p?.close();
  });

  it('NULL matches only NULL, and NaN and ±Infinity survive as new and as old values', async () => {
    // (1, 1.5) first: a delete of (1, NULL) that dropped the NULL from its match took it.
    await p.writer.query(`INSERT INTO floats VALUES (1, 1.5, 1.5, 1.5)`);
    await p.writer.query(`INSERT INTO floats VALUES (1, NULL, NULL, NULL), (2, 'NaN', 'NaN', 'NaN'), (3, 'Infinity', 'Infinity', 'Infinity'),
      (4, '-Infinity', '-Infinity', '-Infinity'), (5, NULL, 'NaN', 2), (6, 'NaN', 'NaN', 'NaN')`);
    await catchUp(p, plugin);
    expect(await rowsOf(target, p.dstDb, 'floats')).toEqual(await rowsOf(source, p.srcDb, 'floats'));
    await p.writer.query(`DELETE FROM floats WHERE id = 1 AND f8 IS NULL`);
    await p.writer.query(`UPDATE floats SET f8 = '-Infinity' WHERE id = 3`);
    await p.writer.query(`UPDATE floats SET n = 'NaN', f4 = 'Infinity' WHERE id = 5`);
    await p.writer.query(`UPDATE floats SET f4 = 7 WHERE id = 2`);
    await p.writer.query(`DELETE FROM floats WHERE id = 6`);
    await catchUp(p, plugin);
    const rows = await rowsOf(target, p.dstDb, 'floats');
    expect(rows).toEqual(await rowsOf(source, p.srcDb, 'floats'));
    expect(rows).toEqual(['(1,1.5,1.5,1.5)', '(2,7,NaN,NaN)', '(3,Infinity,-Infinity,Infinity)', '(4,-Infinity,-Infinity,-Infinity)', '(5,Infinity,NaN,NaN)']);
  }, 60_000);
});

describe('wal2json rows that differ only in NULL against NaN', () => {
  let p: Pair;
  beforeAll(async () => {
    p = await makePair('fmt_ambiguous', 'wal2json', false);
  });
  afterAll(async () => {
    await p?.close();
  });

  it('cannot be told apart: a clear, non-retryable failure naming pgoutput, nothing written', async () => {
    await p.writer.query(`INSERT INTO floats VALUES (9, NULL, 0, 0)`);
    await p.writer.query(`INSERT INTO floats VALUES (9, 'NaN', 0, 0)`);
    const err = await catchUp(p, 'wal2json').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CdcApplyError);
    expect((err as CdcApplyError).retryable).toBe(false);
    expect((err as CdcApplyError).message).toMatch(/wal2json prints NULL, NaN, Infinity and -Infinity alike.*\((f4=NULL and f4=NaN|f4=NaN and f4=NULL)\).*pgoutput/);
    expect(await rowsOf(target, p.dstDb, 'floats')).toEqual([]);
  }, 60_000);
});

describe('the memory bound of a streamed batch counts bytes', () => {
  let p: Pair;
  beforeAll(async () => {
    p = await makePair('fmt_bytes', 'pgoutput', false);
  });
  afterAll(async () => {
    await p?.close();
  });

  it('a transaction of a few huge rows is written in parts inside one target transaction, exactly once', async () => {
    // 12 rows of 1 MB each: far below every change-count bound, far above a 4 MB budget.
    await p.writer.query(`INSERT INTO blobs VALUES (0, 'before')`);
    await p.writer.query(`INSERT INTO blobs SELECT g, repeat(md5(g::text), 32768) FROM generate_series(1, 12) g`);
    await p.writer.query(`INSERT INTO blobs VALUES (13, 'after')`);
    let commits = 0;
    const results = await catchUp(p, 'pgoutput', { memoryBytes: 4 * 1024 * 1024, hooks: { beforeCommit: () => void commits++ } });
    expect(results.reduce((n, r) => n + r.hugeTransactions, 0)).toBe(1);
    expect(results.reduce((n, r) => n + r.transactions, 0)).toBe(3);
    expect(commits).toBeGreaterThanOrEqual(2);
    const q = `SELECT count(*)::int AS n, md5(string_agg(payload, '' ORDER BY id)) AS h FROM blobs`;
    expect((await sql(target, p.dstDb, q)).rows[0]).toEqual((await sql(source, p.srcDb, q)).rows[0]);
    expect((await sql(target, p.dstDb, q)).rows[0].n).toBe(14);
    // Nothing more to apply, nothing applied twice.
    const again = await catchUp(p, 'pgoutput', { memoryBytes: 4 * 1024 * 1024 });
    expect(again.reduce((n, r) => n + r.transactions, 0)).toBe(0);
  }, 90_000);
});

describe('wal2json through the stream from a LATIN1 database', () => {
  let p: Pair;
  beforeAll(async () => {
    p = await makePair('fmt_latin1', 'wal2json', false, 'LATIN1');
  });
  afterAll(async () => {
    await p?.close();
  });

  it('non-ASCII text arrives as written (wal2json writes the database encoding, not UTF-8)', async () => {
    await p.writer.query(`INSERT INTO blobs VALUES (1, 'Grüße café ñ ¿ ÿ'), (2, $1)`, ['Ä\\Ö']);
    await p.writer.query(`UPDATE blobs SET payload = payload || 'é' WHERE id = 2`);
    await catchUp(p, 'wal2json');
    expect(await rowsOf(target, p.dstDb, 'blobs')).toEqual(await rowsOf(source, p.srcDb, 'blobs'));
    expect(await rowsOf(target, p.dstDb, 'blobs')).toEqual(['(1,"Grüße café ñ ¿ ÿ")', '(2,"Ä\\\\Öé")']);
  }, 60_000);
});
