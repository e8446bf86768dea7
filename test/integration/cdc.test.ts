/**
 * CDC on real servers, through the engine functions the activities call: slot before copy, the
 * production copy (chunks and groups) under concurrent writes, replay in small batches
 * (idempotent until the consistency point, exact after), lag, the cutover's drain at non-zero
 * latency (test/support/cdc-drain.ts) and the sequences set, then every table's row count and
 * order-independent hash, and every sequence, equal on both sides. Both plugins, read through SQL
 * and through the stream, PG15 → PG15 and PG13 (no wal2json: pgoutput) → PG15. The rest of the
 * cutover (verification; slot, publication, replication origin and bookkeeping dropped) is the
 * completion step's, tested through the host (test/e2e/e2e-online.test.ts, managed-logins.test.ts).
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Client } from 'pg';
import { connect, closeQuietly } from '../../shared/pg/connect';
import { quoteIdent } from '../../shared/pg/ident';
import {
  addBatch,
  applyBatch,
  canUseOrigins,
  CdcApplyError,
  DivergenceError,
  dropSlotAndPublication,
  emptyTotals,
  ensurePublication,
  ensureSlot,
  listSlots,
  readLag,
  readSlot,
  slotNameFor,
  tableKey,
  TypeCache,
  type BatchResult,
  type Plugin,
} from '../../shared/cdc';
import { copySequences } from '../../shared/copy';
import { drainForCutover } from '../support/cdc-drain';
import { startCluster, type Cluster, type ServerInfo } from '../support/cluster';
import { adminClient, createTestDatabase, dropTestDatabase, sql } from '../support/databases';
import { endpointOf } from '../support/endpoints';
import { SCHEMA_DDL, SEED, copyAll, digest, rng, runWorkload } from '../fixtures/cdc/workload';

const source = inject('source');
const target = inject('target');

interface Pair {
  srcDb: string;
  dstDb: string;
  src: Client;
  dst: Client;
  writer: Client;
  close: () => Promise<void>;
}

async function makePair(src: ServerInfo, dst: ServerInfo, label: string): Promise<Pair> {
  const srcDb = await createTestDatabase(src, label);
  const dstDb = await createTestDatabase(dst, label);
  await sql(src, srcDb, SCHEMA_DDL);
  await sql(dst, dstDb, SCHEMA_DDL);
  await sql(src, srcDb, SEED);
  const s = await connect(endpointOf(src, { database: srcDb }));
  const d = await connect(endpointOf(dst, { database: dstDb, sslMode: dst.ssl ? 'Require' : 'Prefer' }));
  const writer = await adminClient(src, srcDb);
  return {
    srcDb,
    dstDb,
    src: s,
    dst: d,
    writer,
    close: async () => {
      await Promise.all([closeQuietly(s), closeQuietly(d), writer.end()]);
      await dropTestDatabase(src, srcDb);
      await dropTestDatabase(dst, dstDb);
    },
  };
}

/** Applies batches until one finds nothing more pending. */
interface CatchUp {
  batches: number;
  totals: ReturnType<typeof emptyTotals>;
  last: BatchResult;
  skipped: number;
  idempotent: number;
  sourceReads: number;
}

async function catchUp(p: Pair, opts: Parameters<typeof applyBatch>[2], between?: () => Promise<void>): Promise<CatchUp> {
  let totals = emptyTotals();
  let skipped = 0;
  let idempotent = 0;
  let sourceReads = 0;
  for (let batches = 1; ; batches++) {
    const r = await applyBatch(p.src, p.dst, opts);
    totals = addBatch(totals, r);
    skipped += r.skippedChanges;
    idempotent += r.idempotentChanges;
    sourceReads += r.sourceReads;
    if (r.caughtUp) return { batches, totals, last: r, skipped, idempotent, sourceReads };
    await between?.();
    if (batches > 500) throw new Error('no catch-up after 500 batches');
  }
}

async function fullScenario(src: ServerInfo, dst: ServerInfo, plugin: Plugin | 'auto', label: string, progress: 'auto' | 'table' = 'auto', read: 'sql' | 'stream' = 'sql') {
  const p = await makePair(src, dst, label);
  const slotName = slotNameFor(`it-${label}`, p.srcDb);
  try {
    const next = rng(label.length * 7919);
    // 1. Slot before the copy.
    const slot = await ensureSlot(p.src, slotName, { plugin });
    expect(slot.created).toBe(true);
    const again = await ensureSlot(p.src, slotName, { plugin });
    expect(again).toMatchObject({ created: false, plugin: slot.plugin, startLsn: slot.startLsn });
    // 2. Copy in units (accounts in two chunks) while the workload writes between them.
    const copy = await copyAll(endpointOf(src, { database: p.srcDb }), endpointOf(dst, { database: p.dstDb, sslMode: dst.ssl ? 'Require' : 'Prefer' }), () => runWorkload(p.writer, next, 12));
    expect(copy[tableKey('public', 'accounts')]?.snapshots).toHaveLength(2);
    expect(copy[tableKey('public', 'users')]?.snapshots).toHaveLength(1);
    await runWorkload(p.writer, next, 40);
    // 3. Replay in small batches, writing on between batches.
    const types = new TypeCache();
    const openReplication = () => connect(endpointOf(src, { database: p.srcDb }), { replication: true });
    const stream = read === 'stream' ? { openReplication, maxMs: 3000 } : {};
    const opts = { slot: slotName, plugin: slot.plugin, copy, maxRows: 300, txnChanges: 60, statementRows: 50, types, progress, ...stream } as const;
    const first = await catchUp(p, opts, () => runWorkload(p.writer, next, 3));
    if (read === 'sql') expect(first.batches).toBeGreaterThan(1);
    expect(first.last.pastConsistency).toBe(true);
    expect(first.last.progressMode).toBe(progress === 'table' ? 'table' : 'origin');
    expect(first.totals.appliedChanges).toBeGreaterThan(100);
    expect(first.totals.inserts * first.totals.updates * first.totals.deletes).toBeGreaterThan(0);
    // The copy already held what committed before each chunk's snapshot; accounts (two chunks)
    // was replayed key-based until the consistency point; wal2json's NaN/±Infinity were read back.
    expect(first.skipped).toBeGreaterThan(0);
    expect(first.idempotent).toBeGreaterThan(0);
    if (slot.plugin === 'wal2json') expect(first.sourceReads).toBeGreaterThan(0);
    else expect(first.sourceReads).toBe(0);
    const caught = [await digest(p.writer), await digest(await reuse(p.dst))];
    expect(caught[1]?.tables).toEqual(caught[0]?.tables);
    const caughtUpLag = await readLag(p.src, slotName, { plugin: slot.plugin });
    expect(caughtUpLag.latencySeconds).toBe(0);
    expect(caughtUpLag.retainedWalBytes).toBeGreaterThan(0);
    // 4. A backlog, then the cutover's drain at non-zero latency, and the sequences set.
    await runWorkload(p.writer, next, 40);
    await new Promise((r) => setTimeout(r, 1100));
    const lag = await readLag(p.src, slotName, { plugin: slot.plugin });
    expect(lag.pending).toBe(true);
    expect(lag.latencySeconds).toBeGreaterThan(1);
    const drain = await drainForCutover(p.src, p.dst, { slot: slotName, plugin: slot.plugin, copy, types, maxRows: 500, progress, ...stream });
    // A random transaction may write nothing (no change to decode): most of the 40 do.
    expect(drain.totals.transactions).toBeGreaterThan(20);
    expect((await copySequences(p.src, p.dst)).missing).toEqual([]);
    // 5. Everything equal: rows (as text, so every value) and sequences.
    const [a, b] = [await digest(p.writer), await digest(await reuse(p.dst))];
    expect(b).toEqual(a);
    return { slot, drain };
  } finally {
    await dropSlotAndPublication(p.src, slotName).catch(() => undefined);
    await p.close();
  }
}

/** The apply session pins search_path; reset it for the comparison queries. */
async function reuse(c: Client): Promise<Client> {
  await c.query(`SET search_path = public`);
  return c;
}

describe('CDC PG15 → PG15', () => {
  it('wal2json: copy under load, batches, the cutover\'s drain at non-zero latency, everything equal', async () => {
    const { slot } = await fullScenario(source, target, 'auto', 'cdc_w2j');
    expect(slot.plugin).toBe('wal2json');
  }, 120_000);

  it('wal2json through the streaming protocol: the same', async () => {
    const { slot } = await fullScenario(source, target, 'wal2json', 'cdc_w2js', 'auto', 'stream');
    expect(slot.plugin).toBe('wal2json');
  }, 120_000);

  it('pgoutput with the bookkeeping-table fallback: the same, with a publication named like the slot', async () => {
    const { slot } = await fullScenario(source, target, 'pgoutput', 'cdc_pgo', 'table');
    expect(slot.plugin).toBe('pgoutput');
    expect(slot.publication).toBe(slot.slotName);
  }, 120_000);
});

describe('CDC PG13 → PG15', () => {
  let pg13: Cluster;
  beforeAll(async () => {
    pg13 = await startCluster({ major: 13, logical: true, label: 'cdc13' });
  }, 120_000);
  afterAll(async () => {
    await pg13?.stop();
  });

  it('chooses pgoutput (no wal2json on 13) and migrates everything', async () => {
    const { slot } = await fullScenario(pg13.info, target, 'auto', 'cdc_13');
    expect(slot.plugin).toBe('pgoutput');
  }, 120_000);

  it('the same through the streaming protocol', async () => {
    const { slot } = await fullScenario(pg13.info, target, 'auto', 'cdc_13s', 'auto', 'stream');
    expect(slot.plugin).toBe('pgoutput');
  }, 120_000);
});

describe('huge transactions (stream)', () => {
  it('are written in parts inside one target transaction, and a crash in the middle keeps nothing of them', async () => {
    const p = await makePair(source, target, 'cdc_huge');
    const slotName = slotNameFor('it-huge', p.srcDb);
    try {
      const slot = await ensureSlot(p.src, slotName, { plugin: 'pgoutput' });
      const openReplication = () => connect(endpointOf(source, { database: p.srcDb }), { replication: true });
      await p.writer.query(`INSERT INTO users VALUES (5000, 'before@x', 0)`);
      await p.writer.query(`BEGIN;
        INSERT INTO accounts SELECT g, 'huge' || g, g, g, 'n' FROM generate_series(100000, 103999) g;
        UPDATE accounts SET balance = balance + 1 WHERE id BETWEEN 100000 AND 101999;
        DELETE FROM accounts WHERE id BETWEEN 102000 AND 102499;
        COMMIT`);
      await p.writer.query(`INSERT INTO users VALUES (5001, 'after@x', 0)`);
      const opts = { slot: slotName, plugin: slot.plugin, openReplication, hugeTxnChanges: 1000, statementRows: 300, maxMs: 5000 };
      let calls = 0;
      const crash = await applyBatch(p.src, p.dst, {
        ...opts,
        hooks: { beforeStatement: () => { if (++calls === 12) throw Object.assign(new Error('injected'), { retryable: true }); } },
      }).catch((e: unknown) => e);
      expect(crash).toBeInstanceOf(CdcApplyError);
      // The transaction before it committed; nothing of the huge one did.
      expect((await sql(target, p.dstDb, `SELECT count(*)::int AS n FROM accounts WHERE id >= 100000`)).rows[0].n).toBe(0);
      expect((await sql(target, p.dstDb, `SELECT count(*)::int AS n FROM users WHERE id = 5000`)).rows[0].n).toBe(1);
      const r = await applyBatch(p.src, p.dst, opts);
      expect(r.hugeTransactions).toBe(1);
      expect(r.caughtUp).toBe(true);
      // (The seed is not copied here: compare what replication wrote.)
      const q = `SELECT count(*)::int AS n, sum(hashtext(x::text)::bigint)::text AS h FROM public.accounts x WHERE id >= 100000`;
      const [a, b] = [(await sql(source, p.srcDb, q)).rows[0], (await sql(target, p.dstDb, q)).rows[0]];
      expect(b).toEqual(a);
      expect(a.n).toBe(3500);
      expect((await sql(target, p.dstDb, `SELECT count(*)::int AS n FROM users WHERE id IN (5000, 5001)`)).rows[0].n).toBe(2);
    } finally {
      await dropSlotAndPublication(p.src, slotName).catch(() => undefined);
      await p.close();
    }
  }, 60_000);
});

describe('slots', () => {
  it('a publication a twin creates in the same moment (a step delivered twice) is taken, not an error', async () => {
    const db = await createTestDatabase(source, 'cdc_pub_twin');
    const [twin, c] = [await connect(endpointOf(source, { database: db })), await connect(endpointOf(source, { database: db }))];
    const name = slotNameFor('it-pub-twin', db);
    try {
      // The twin's CREATE is not committed yet: ours sees no publication, creates, and waits on the name.
      await twin.query(`BEGIN; CREATE PUBLICATION ${quoteIdent(name)} FOR ALL TABLES`);
      const ours = ensurePublication(c, name);
      const deadline = Date.now() + 10_000;
      const waiting = async () => (await sql(source, 'postgres', `SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`, [db])).rows.length > 0;
      while (!(await waiting()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await waiting()).toBe(true);
      await twin.query('COMMIT');
      await ours;
      const slot = await ensureSlot(c, name, { plugin: 'pgoutput' });
      expect(slot).toMatchObject({ plugin: 'pgoutput', publication: name, created: true });
    } finally {
      await twin.query('ROLLBACK').catch(() => undefined);
      await dropSlotAndPublication(c, name).catch(() => undefined);
      await closeQuietly(twin);
      await closeQuietly(c);
      await dropTestDatabase(source, db);
    }
  }, 60_000);

  it('lists pgferry slots and drops one held by an active walsender', async () => {
    const db = await createTestDatabase(source, 'cdc_slot');
    const c = await connect(endpointOf(source, { database: db }));
    const name = slotNameFor('it-slots', db);
    let recv: ReturnType<typeof spawn> | undefined;
    try {
      await ensureSlot(c, name, { plugin: 'pgoutput' });
      expect((await listSlots(c)).map((s) => s.slotName)).toContain(name);
      recv = spawn('/usr/lib/postgresql/15/bin/pg_recvlogical', ['-h', source.host, '-p', String(source.port), '-U', source.user, '-d', db, '-S', name, '--start', '-o', 'proto_version=1', '-o', `publication_names=${name}`, '-f', '/dev/null'], {
        env: { ...process.env, PGPASSWORD: source.password },
        stdio: 'ignore',
      });
      const deadline = Date.now() + 10_000;
      while (((await readSlot(c, name))?.active_pid ?? null) === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const held = await readSlot(c, name);
      expect(held?.active_pid).toBeTypeOf('number');
      const dropped = await dropSlotAndPublication(c, name);
      expect(dropped).toMatchObject({ droppedSlot: true, droppedPublication: true, terminatedPid: held?.active_pid });
      expect(await dropSlotAndPublication(c, name)).toMatchObject({ droppedSlot: false, droppedPublication: false });
      expect((await listSlots(c)).map((s) => s.slotName)).not.toContain(name);
    } finally {
      recv?.kill();
      await dropSlotAndPublication(c, name).catch(() => undefined);
      await closeQuietly(c);
      await dropTestDatabase(source, db);
    }
  }, 60_000);
});

describe('divergence and privileges', () => {
  it('an exact update or delete of a row the target lacks is a non-retryable divergence naming table, change and key', async () => {
    const p = await makePair(source, target, 'cdc_div');
    const slotName = slotNameFor('it-div', p.srcDb);
    try {
      const slot = await ensureSlot(p.src, slotName, { plugin: 'wal2json' });
      await p.writer.query(`INSERT INTO users VALUES (1000, 'a@b', 1), (1001, 'c@d', 2)`);
      await catchUp(p, { slot: slotName, plugin: slot.plugin });
      await sql(target, p.dstDb, `DELETE FROM users WHERE id = 1000`);
      await p.writer.query(`UPDATE users SET score = 5 WHERE id = 1000`);
      const err = await applyBatch(p.src, p.dst, { slot: slotName, plugin: slot.plugin }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DivergenceError);
      const d = err as DivergenceError;
      expect(d.retryable).toBe(false);
      expect(d.message).toMatch(/update on "public"\."users".*found no row to update with id=1000/);
      expect(d.context.table).toEqual({ schema: 'public', table: 'users' });
      expect(d.context.key).toBe('id=1000');
      // Nothing moved: the same error again on retry, and the slot still holds the change.
      await expect(applyBatch(p.src, p.dst, { slot: slotName, plugin: slot.plugin })).rejects.toBeInstanceOf(DivergenceError);
      // An insert that conflicts after the consistency point is a constraint error, not retryable.
      await sql(target, p.dstDb, `INSERT INTO users VALUES (1000, 'a@b', 5)`);
      await catchUp(p, { slot: slotName, plugin: slot.plugin });
      await sql(target, p.dstDb, `INSERT INTO items (sku, qty) OVERRIDING SYSTEM VALUE VALUES ('x', 1)`);
      await p.writer.query(`INSERT INTO users VALUES (1001, 'dup', 1) ON CONFLICT DO NOTHING; INSERT INTO accounts VALUES (7, 'x', 1, 1, 'x') ON CONFLICT DO NOTHING`);
      await sql(target, p.dstDb, `INSERT INTO accounts VALUES (9999999, 'x', 1, 1, 'x')`);
      await p.writer.query(`INSERT INTO accounts VALUES (9999999, 'y', 1, 1, 'y')`);
      const conflict = await applyBatch(p.src, p.dst, { slot: slotName, plugin: slot.plugin }).catch((e: unknown) => e);
      expect(conflict).toBeInstanceOf(DivergenceError);
      expect((conflict as CdcApplyError).retryable).toBe(false);
      expect((conflict as CdcApplyError).kind).toBe('Divergence');
      expect((conflict as CdcApplyError).message).toMatch(/insert into "public"\."accounts".*Key \(id\)=\(9999999\) already exists/);
      expect((conflict as DivergenceError).context.key).toBe('id=9999999');
    } finally {
      await dropSlotAndPublication(p.src, slotName).catch(() => undefined);
      await p.close();
    }
  }, 60_000);

  it('a login that may not use replication origins is detected (the bookkeeping table is used instead)', async () => {
    const db = await createTestDatabase(target, 'cdc_role');
    const role = `cdc_plain_${Date.now()}`;
    try {
      await sql(target, db, `CREATE ROLE ${role} LOGIN PASSWORD 'pw-plain-1'; GRANT CREATE ON DATABASE ${db} TO ${role}`);
      const c = await connect(endpointOf(target, { database: db, user: role, password: 'pw-plain-1', sslMode: 'Require' }));
      try {
        expect(await canUseOrigins(c)).toBe(false);
      } finally {
        await closeQuietly(c);
      }
      const su = await connect(endpointOf(target, { database: db, sslMode: 'Require' }));
      expect(await canUseOrigins(su)).toBe(true);
      await closeQuietly(su);
    } finally {
      await dropTestDatabase(target, db);
      await sql(target, 'postgres', `DROP ROLE IF EXISTS ${role}`);
    }
  });
});
