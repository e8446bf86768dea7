/**
 * Exactly once under faults: the apply is killed at ≥ 20 random points — a crash injected before
 * a statement, before COMMIT, or after the target committed but before the slot moved; the apply
 * session or the slot-reading session terminated by pg_terminate_backend at a random moment — and
 * each server is restarted once (immediate shutdown: the target loses asynchronous commits still
 * in its WAL buffers) while a workload keeps writing. After a clean catch-up, the cutover's drain
 * (test/support/cdc-drain.ts) and the sequences set, every table and sequence is equal on both
 * sides: nothing lost, nothing applied twice.
 * Own clusters: the shared rig servers must not be restarted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'pg';
import { applyBatch, CdcApplyError, ensureSlot, slotNameFor, TypeCache, type ApplyBatchOptions } from '../../shared/cdc';
import { copySequences } from '../../shared/copy';
import { connect, destroyClient } from '../../shared/pg/connect';
import { drainForCutover } from '../support/cdc-drain';
import { startCluster, type Cluster, type ServerInfo } from '../support/cluster';
import { adminClient, createTestDatabase, sql } from '../support/databases';
import { endpointOf } from '../support/endpoints';
import { SCHEMA_DDL, SEED, copyAll, digest, randomTransaction, rng, runWorkload } from '../fixtures/cdc/workload';

const KILLS = 24;
/** PGFERRY_CDC_FAULT_SEED varies the workload and the fault points; the seed is printed. */
const FAULT_SEED = Number(process.env.PGFERRY_CDC_FAULT_SEED ?? 42);

let src: Cluster;
let dst: Cluster;

beforeAll(async () => {
  [src, dst] = await Promise.all([startCluster({ major: 15, logical: true, label: 'cdcfault-src' }), startCluster({ major: 15, label: 'cdcfault-dst' })]);
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([src?.stop(), dst?.stop()]);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Connects, retrying while a server restarts. */
async function connectRetry(info: ServerInfo, database: string, replication = false): Promise<Client> {
  for (let i = 0; ; i++) {
    try {
      return await connect(endpointOf(info, { database }), { timeoutMs: 5000, replication });
    } catch (err) {
      if (i > 100) throw err;
      await sleep(100);
    }
  }
}

async function adminRetry(info: ServerInfo, database: string): Promise<Client> {
  for (let i = 0; ; i++) {
    try {
      return await adminClient(info, database);
    } catch (err) {
      if (i > 100) throw err;
      await sleep(100);
    }
  }
}

describe('CDC exactly once under faults', () => {
  const variants = [
    { plugin: 'wal2json', read: 'sql' },
    { plugin: 'pgoutput', read: 'sql' },
    { plugin: 'wal2json', read: 'stream' },
    { plugin: 'pgoutput', read: 'stream' },
  ] as const;
  for (const { plugin, read } of variants) {
    it(`${plugin} (${read}): ${KILLS} kills at random points and a restart of each server lose and duplicate nothing`, async () => {
      const srcDb = await createTestDatabase(src.info, `faults_${plugin}_${read}`);
      const dstDb = await createTestDatabase(dst.info, `faults_${plugin}_${read}`);
      await sql(src.info, srcDb, SCHEMA_DDL);
      await sql(dst.info, dstDb, SCHEMA_DDL);
      await sql(src.info, srcDb, SEED);
      const slotName = slotNameFor(`faults-${plugin}-${read}`, srcDb);
      const seed = FAULT_SEED + variants.findIndex((v) => v.plugin === plugin && v.read === read) * 1000;
      console.log(`${plugin} (${read}): seed ${seed}`);
      const next = rng(seed);
      let s = await connectRetry(src.info, srcDb);
      let d = await connectRetry(dst.info, dstDb);
      // Each streamed batch opens its walsender connection; the test remembers it to kill it.
      let repl: Client | undefined;
      const openReplication = async () => (repl = await connectRetry(src.info, srcDb, true));
      const slot = await ensureSlot(s, slotName, { plugin });
      const cw = await adminClient(src.info, srcDb);
      const copy = await copyAll(endpointOf(src.info, { database: srcDb }), endpointOf(dst.info, { database: dstDb }), () => runWorkload(cw, next, 8));
      await cw.end();
      const types = new TypeCache();
      const base: ApplyBatchOptions = { slot: slotName, plugin: slot.plugin, copy, types, maxRows: 400, txnChanges: 80, statementRows: 40, maxMs: 2000 };
      const withRepl = (o: ApplyBatchOptions): ApplyBatchOptions => (read === 'stream' ? { ...o, openReplication } : o);

      // A workload that keeps writing through restarts.
      let writing = true;
      let written = 0;
      const writer = (async () => {
        let w = await adminRetry(src.info, srcDb);
        w.on('error', () => undefined);
        while (writing) {
          try {
            await randomTransaction(w, next);
            written++;
            await sleep(2);
          } catch {
            await w.end().catch(() => undefined);
            await sleep(100);
            w = await adminRetry(src.info, srcDb);
            w.on('error', () => undefined);
          }
        }
        await w.end().catch(() => undefined);
      })();

      const reconnect = async () => {
        destroyClient(s);
        destroyClient(d);
        if (repl) destroyClient(repl);
        s = await connectRetry(src.info, srcDb);
        d = await connectRetry(dst.info, dstDb);
      };

      const faultKinds = ['statement', 'commit', 'advance', 'kill-target', 'kill-source'] as const;
      const seen: Record<string, number> = {};
      let kills = 0;
      let attempts = 0;
      let restartedTarget = false;
      let restartedSource = false;
      while (kills < KILLS && attempts < 200) {
        attempts++;
        const kind = faultKinds[Math.floor(next() * faultKinds.length)] ?? 'statement';
        const nth = 1 + Math.floor(next() * 12);
        let calls = 0;
        const crash = () => Object.assign(new Error(`injected crash (${kind})`), { retryable: true });
        const hooks: ApplyBatchOptions['hooks'] = {};
        if (kind === 'statement') hooks.beforeStatement = () => { if (++calls === nth) throw crash(); };
        if (kind === 'commit') hooks.beforeCommit = () => { if (++calls === Math.ceil(nth / 4)) throw crash(); };
        if (kind === 'advance') hooks.beforeAdvance = () => { throw crash(); };
        let timer: NodeJS.Timeout | undefined;
        if (kind === 'kill-target' || kind === 'kill-source') {
          const victim = kind === 'kill-target' ? d : s;
          const info = kind === 'kill-target' ? dst.info : src.info;
          const db = kind === 'kill-target' ? dstDb : srcDb;
          // The walsender of a stream has no SQL: find it by the slot it holds, once it holds it.
          const walsender = kind === 'kill-source' && read === 'stream' && next() < 0.5;
          const pid = walsender ? undefined : (await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
          timer = setTimeout(() => {
            void adminClient(info, db).then(async (a) => {
              if (pid !== undefined) await a.query('SELECT pg_terminate_backend($1)', [pid]).catch(() => undefined);
              else await a.query('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL', [slotName]).catch(() => undefined);
              await a.end();
            }).catch(() => undefined);
          }, Math.floor(next() * 60));
        }
        // One restart of each server, immediate (a crash), while a batch is in flight.
        let restart: Promise<void> | undefined;
        if (kills === 8 && !restartedTarget) {
          restartedTarget = true;
          restart = sleep(20).then(() => dst.restart('immediate'));
        } else if (kills === 16 && !restartedSource) {
          restartedSource = true;
          restart = sleep(20).then(() => src.restart('immediate'));
        }
        try {
          await applyBatch(s, d, withRepl({ ...base, hooks }));
        } catch (err) {
          if (!(err instanceof CdcApplyError)) throw err;
          if (!err.retryable) throw err;
          kills++;
          seen[kind] = (seen[kind] ?? 0) + 1;
        } finally {
          clearTimeout(timer);
        }
        if (restart) {
          await restart;
          seen[restartedSource ? 'restart-source' : 'restart-target'] = 1;
        }
        // A terminated session (or a restarted server) needs new connections; others may be reused.
        await reconnect();
      }
      writing = false;
      await writer;
      expect(kills).toBeGreaterThanOrEqual(KILLS);
      expect(restartedTarget && restartedSource).toBe(true);
      expect(written).toBeGreaterThan(50);

      // Clean catch-up, the cutover's drain and the sequences; then everything equal.
      for (let i = 0; i < 200; i++) if ((await applyBatch(s, d, withRepl(base))).caughtUp) break;
      await drainForCutover(s, d, withRepl(base));
      expect((await copySequences(s, d)).missing).toEqual([]);
      const w = await adminClient(src.info, srcDb);
      const t = await adminClient(dst.info, dstDb);
      const [a, b] = [await digest(w), await digest(t)];
      await Promise.all([w.end(), t.end()]);
      expect(b).toEqual(a);
      console.log(`${plugin} (${read}): ${kills} kills in ${attempts} attempts`, JSON.stringify(seen), `${written} source transactions`);
      destroyClient(s);
      destroyClient(d);
      if (repl) destroyClient(repl);
    }, 150_000);
  }
});
