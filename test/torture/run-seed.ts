/**
 * One seed, end to end through the host over HTTP: a database on the source with the seed's schema
 * and data, PUT an Online migration, the copy-phase workload (and faults), WaitingForUserAction,
 * the streaming workload (and faults), PATCH triggerCutover (and faults), Succeeded, then the judge.
 * Faults only touch this seed: sessions are terminated by database, and a seed with a host kill
 * has a host of its own (the runner gives it one).
 */
import type pg from 'pg';
import type { ServerInfo } from '../../emulator/local/cluster';
import { adminClient, sql, withAdmin } from '../../emulator/local/admin';
import type { MigrationResource, ValidationDetails } from '../../shared/model/migration-resource';
import { withApiVersion } from '../../shared/model/arm';
import { judgeDatabase } from './judge';
import type { FaultKind, FaultSpec, Phase, SeedPlan } from './plan';
import { Prng } from './prng';
import type { TortureHost } from './host';

export interface InjectedFault {
  kind: FaultKind;
  phase: Phase;
  /** What the migration showed right before (state / database operation) and what the fault hit. */
  detail: string;
}

export interface SeedResult {
  seed: number;
  decoder: string;
  ownHost: boolean;
  state: string;
  error?: string;
  equal: boolean;
  differences: string[];
  /** Differences of a kind the run was told to tolerate (--tolerate). */
  toleratedDifferences?: string[];
  tables: number;
  rows: number;
  faults: InjectedFault[];
  /** Statements of the workload that failed on the source (a harness defect, not pgferry's). */
  workloadErrors: string[];
  /** Slots or publications of this database left on the source after the migration ended. */
  leftovers: string[];
  /**
   * The seed ended with the one failure its plan allows (plan.ts wal2jsonAmbiguity): Failed with
   * the documented wal2json error on the table validation warned about (603931). Not a divergence,
   * counted apart; anything else that is not Succeeded and equal is one.
   */
  expectedFailure?: string;
  /** A seed that timed out: what the servers and the resource said then (stuckFacts), to find why. */
  stuck?: string;
  durationMs: number;
  /** Milliseconds from the start: copy workload written, WaitingForUserAction seen (+ streaming workload), terminal state. */
  timings: { copyWorkload?: number; waiting?: number; terminal?: number };
}

export interface SeedContext {
  source: ServerInfo;
  target: ServerInfo;
  /** The host the seed's migration runs on (its own when the plan kills hosts). */
  host: TortureHost;
  log(line: string): void;
}

const SERVER = 'torture';
const TERMINAL = ['Succeeded', 'Failed', 'Canceled', 'ValidationFailed'];
const WAIT_MS = 300_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const databaseOf = (seed: number) => `torture_${seed}`;
const nameOf = (seed: number) => `seed-${seed}`;
const url = (ctx: SeedContext, seed: number) => `${ctx.host.api}/flexibleServers/${SERVER}/migrations/${nameOf(seed)}`;

async function request(target: string, method: string, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(withApiVersion(target), { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
  return { status: res.status, text: await res.text() };
}

/** The migration as the API shows it; undefined while the host is restarting. */
async function peek(ctx: SeedContext, seed: number): Promise<MigrationResource | undefined> {
  try {
    const r = await request(url(ctx, seed), 'GET');
    return r.status === 200 ? (JSON.parse(r.text) as MigrationResource) : undefined;
  } catch {
    return undefined;
  }
}

function describe(m: MigrationResource | undefined, db: string): string {
  if (!m) return 'host unreachable';
  const s = m.properties.currentStatus;
  const d = s.currentSubStateDetails.dbDetails[db];
  return `${s.state}/${s.currentSubStateDetails.currentSubState}${d?.migrationOperation ? `: ${d.migrationOperation}` : ''}`;
}

async function until(ctx: SeedContext, seed: number, what: string, pred: (m: MigrationResource) => boolean): Promise<MigrationResource> {
  const deadline = Date.now() + WAIT_MS;
  let last: MigrationResource | undefined;
  for (;;) {
    const m = await peek(ctx, seed);
    if (m) last = m;
    if (m && (pred(m) || TERMINAL.includes(m.properties.currentStatus.state))) return m;
    if (Date.now() > deadline) throw new Error(`no ${what} after ${WAIT_MS / 1000} s (last: ${describe(last, databaseOf(seed))})`);
    await sleep(250);
  }
}

/** PUT/PATCH, retried while the host restarts. */
async function send(ctx: SeedContext, seed: number, method: 'PUT' | 'PATCH', body: unknown, ok: number): Promise<void> {
  for (let i = 0; ; i++) {
    const r = await request(url(ctx, seed), method, body).catch(() => undefined);
    if (r?.status === ok) return;
    if (i >= 120) throw new Error(`${method} answered ${r ? `${r.status} ${r.text.slice(0, 500)}` : 'nothing (host unreachable)'}`);
    await sleep(500);
  }
}

function body(ctx: SeedContext, db: string) {
  const { source, target } = ctx;
  return {
    properties: {
      sourceDbServerResourceId: `${source.host}:${source.port}@${source.user}`,
      targetDbServerFullyQualifiedDomainName: `${target.host}:${target.port}`,
      secretParameters: { adminCredentials: { sourceServerPassword: source.password, targetServerPassword: target.password }, targetServerUsername: target.user },
      dbsToMigrate: [db],
      overwriteDbsInTarget: 'True',
      migrationMode: 'Online',
      migrationOption: 'ValidateAndMigrate',
      sslMode: 'Prefer',
    },
  };
}

// Faults -------------------------------------------------------------------------------------------

/** pg_terminate_backend of pgferry's sessions on this seed's database only (polled up to 2 s for one to appear). */
async function terminate(server: ServerInfo, db: string): Promise<number> {
  return withAdmin(server, 'postgres', async (c) => {
    const deadline = Date.now() + 2000;
    for (;;) {
      const { rows } = await c.query<{ n: number }>(`
        SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
         WHERE datname = $1 AND application_name LIKE 'pgferry%' AND pid <> pg_backend_pid()`, [db]);
      const n = rows[0]?.n ?? 0;
      if (n > 0 || Date.now() > deadline) return n;
      await sleep(20);
    }
  });
}

async function injectFaults(ctx: SeedContext, plan: SeedPlan, phase: Phase, injected: InjectedFault[]): Promise<void> {
  const db = databaseOf(plan.seed);
  const t0 = Date.now();
  for (const f of plan.faults.filter((x) => x.phase === phase)) {
    await sleep(Math.max(0, t0 + f.delayMs - Date.now()));
    const m = await peek(ctx, plan.seed);
    if (m && TERMINAL.includes(m.properties.currentStatus.state)) {
      ctx.log(`fault ${f.kind} (${phase}) not injected: the migration already ended`);
      continue;
    }
    const before = describe(m, db);
    const detail = await act(ctx, f, db).catch((e: unknown) => `failed to inject: ${String(e)}`);
    injected.push({ kind: f.kind, phase, detail: `${before}; ${detail}` });
    ctx.log(`FAULT ${f.kind} during ${phase} at ${before}: ${detail}`);
  }
}

async function act(ctx: SeedContext, f: FaultSpec, db: string): Promise<string> {
  switch (f.kind) {
    case 'terminate source sessions': return `${await terminate(ctx.source, db)} session(s)`;
    case 'terminate target sessions': return `${await terminate(ctx.target, db)} session(s)`;
    case 'host SIGKILL + restart':
      await ctx.host.restart();
      return 'restarted';
  }
}

// Workload -----------------------------------------------------------------------------------------

async function runTxns(client: pg.Client, plan: SeedPlan, phase: Phase, errors: string[]): Promise<void> {
  const r = new Prng(plan.seed, `pace-${phase}`);
  const txns = phase === 'copy' ? plan.copyTxns : plan.streamTxns;
  for (const txn of txns) {
    for (const s of txn.statements) {
      try {
        await client.query(s);
      } catch (e) {
        errors.push(`${phase}: ${e instanceof Error ? e.message : String(e)} in: ${s.slice(0, 300)}`);
        if (txn.statements[0] === 'BEGIN') await client.query('ROLLBACK').catch(() => undefined);
        break;
      }
    }
    await sleep(r.int(0, plan.paceMs));
  }
}

// The seed -----------------------------------------------------------------------------------------

async function databaseExists(server: ServerInfo, db: string): Promise<boolean> {
  return (await sql(server, 'postgres', 'SELECT 1 FROM pg_database WHERE datname = $1', [db])).rows.length > 0;
}

async function slotsLeft(source: ServerInfo, db: string): Promise<string[]> {
  const { rows } = await sql(source, 'postgres', `SELECT slot_name FROM pg_replication_slots WHERE database = $1`, [db]);
  const pubs = await sql(source, db, `SELECT pubname FROM pg_publication`).catch(() => ({ rows: [] as Array<{ pubname: string }> }));
  return [...rows.map((x: { slot_name: string }) => `slot ${x.slot_name}`), ...pubs.rows.map((x: { pubname: string }) => `publication ${x.pubname}`)];
}

export async function dropSeedDatabases(ctx: Pick<SeedContext, 'source' | 'target'>, seed: number): Promise<void> {
  const db = databaseOf(seed);
  for (const server of [ctx.source, ctx.target]) {
    await withAdmin(server, 'postgres', async (c) => {
      await c.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active', [db]);
      await c.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
    });
  }
}

export async function runSeed(ctx: SeedContext, plan: SeedPlan): Promise<SeedResult> {
  const t0 = Date.now();
  const db = databaseOf(plan.seed);
  const result: SeedResult = {
    seed: plan.seed, decoder: plan.decoder, ownHost: plan.ownHost, state: 'not started', equal: false, differences: [], tables: 0, rows: 0,
    faults: [], workloadErrors: [], leftovers: [], durationMs: 0, timings: {},
  };
  await dropSeedDatabases(ctx, plan.seed);
  await sql(ctx.source, 'postgres', `CREATE DATABASE "${db}" TEMPLATE template0 ENCODING 'UTF8'`);
  const client = await adminClient(ctx.source, db);
  await client.query(`SET application_name = 'torture-workload'`);
  try {
    await client.query(['BEGIN', plan.schema.ddl, ...plan.initial, 'COMMIT'].join(';\n'));
    await send(ctx, plan.seed, 'PUT', body(ctx, db), 201);
    ctx.log(`migration started (${plan.decoder}, ${plan.schema.tables.length} tables, faults: ${plan.faults.map((f) => `${f.kind}@${f.phase}+${f.delayMs}ms`).join(', ') || 'none'})`);

    await Promise.all([runTxns(client, plan, 'copy', result.workloadErrors), injectFaults(ctx, plan, 'copy', result.faults)]);
    result.timings.copyWorkload = Date.now() - t0;
    const waiting = await until(ctx, plan.seed, 'WaitingForUserAction', (m) => m.properties.currentStatus.state === 'WaitingForUserAction');
    if (waiting.properties.currentStatus.state === 'WaitingForUserAction') {
      await Promise.all([runTxns(client, plan, 'streaming', result.workloadErrors), injectFaults(ctx, plan, 'streaming', result.faults)]);
      result.timings.waiting = Date.now() - t0;
      await send(ctx, plan.seed, 'PATCH', { properties: { triggerCutover: 'True' } }, 200);
      await injectFaults(ctx, plan, 'cutover', result.faults);
    }
    const end = await until(ctx, plan.seed, 'terminal state', () => false);
    const s = end.properties.currentStatus;
    result.state = s.state;
    if (s.error) result.error = s.error;
    // "see validationDetails": the reason is there.
    const validation = s.currentSubStateDetails.validationDetails;
    if (s.state === 'ValidationFailed' && validation) result.error = `${result.error ?? ''} ${JSON.stringify(validation).slice(0, 1500)}`;
    const expected = expectedFailure(plan, s.state, s.error, validation);
    if (expected) result.expectedFailure = expected;
    result.leftovers = await slotsLeft(ctx.source, db);
    result.timings.terminal = Date.now() - t0;
    // A failed migration is judged too (when its target database exists): it says what pgferry got wrong.
    if (s.state === 'Succeeded') Object.assign(result, await judgeDatabase(ctx.source, ctx.target, db));
    else if (await databaseExists(ctx.target, db)) {
      // Sequences, large objects and post-data objects are only complete after a cutover that completed: compare the rows.
      Object.assign(result, await judgeDatabase(ctx.source, ctx.target, db, { skip: ['schema', 'sequences', 'largeObjects'] }));
    }
  } catch (e) {
    result.error = `${result.error ? `${result.error}; ` : ''}harness: ${e instanceof Error ? e.message : String(e)}`;
    // Timed out waiting: the state it was stuck in (still running) is the outcome.
    const m = await peek(ctx, plan.seed);
    if (m) result.state = `stuck in ${m.properties.currentStatus.state}`;
    result.stuck = await stuckFacts(ctx, db, m).catch((err: unknown) => `could not read: ${String(err)}`);
  } finally {
    await client.end().catch(() => undefined);
  }
  result.durationMs = Date.now() - t0;
  return result;
}

/**
 * What a stuck seed looks like from outside: the database's row as the API shows it, the slot, the
 * source's WAL positions, and every session on this database on both sides (who waits on what).
 */
async function stuckFacts(ctx: SeedContext, db: string, m: MigrationResource | undefined): Promise<string> {
  const rows = async (server: ServerInfo, q: string, params: unknown[] = []) => JSON.stringify((await sql(server, 'postgres', q, params)).rows);
  const sessions = `SELECT pid, application_name, backend_type, state, wait_event_type, wait_event, now() - state_change AS in_state, left(query, 160) AS query
                      FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`;
  return [
    `db: ${JSON.stringify(m?.properties.currentStatus.currentSubStateDetails.dbDetails[db] ?? null)}`,
    `slot: ${await rows(ctx.source, 'SELECT slot_name, plugin, active, active_pid, restart_lsn, confirmed_flush_lsn FROM pg_replication_slots WHERE database = $1', [db])}`,
    `source wal: ${await rows(ctx.source, 'SELECT pg_current_wal_insert_lsn() AS insert, pg_current_wal_flush_lsn() AS flush')}`,
    `source sessions: ${await rows(ctx.source, sessions, [db])}`,
    `target sessions: ${await rows(ctx.target, sessions, [db])}`,
    `target origins: ${await rows(ctx.target, 'SELECT external_id, remote_lsn FROM pg_replication_origin_status')}`,
  ].join('\n');
}

/**
 * The seed's one allowed failure (plan.ts wal2jsonAmbiguity), and only when all three agree: the
 * plan expects it, the migration ended Failed with the documented wal2json error naming that table,
 * and its validation warned about that table (603931). Returns what happened, for the report.
 */
export function expectedFailure(plan: SeedPlan, state: string, error: string | undefined, validation: ValidationDetails | undefined): string | undefined {
  const t = plan.wal2jsonAmbiguity;
  if (!t || state !== 'Failed' || !error) return undefined;
  const documented = error.includes('wal2json prints NULL, NaN, Infinity and -Infinity alike') && error.includes(`rows of ${t.relation} equal but for these`) && error.includes('migrate with the pgoutput decoder');
  const warned = [...(validation?.dbLevelValidationDetails ?? []).flatMap((d) => d.summary), ...(validation?.serverLevelValidationDetails ?? [])]
    .flatMap((i) => i.messages)
    .some((m) => m.code === '603931' && m.state === 'Warning' && m.message.includes(t.quoted));
  return documented && warned ? `wal2json cannot tell NULL from NaN/±Infinity in ${t.quoted}: stopped with the documented error, validation warned (603931)` : undefined;
}

/** Whether a seed diverged: not Succeeded and equal (unless it ended with its one expected clear failure), or something of pgferry left on the source. */
export function diverged(r: SeedResult): boolean {
  if (r.leftovers.length > 0) return true;
  if (r.expectedFailure !== undefined) return false;
  return r.state !== 'Succeeded' || !r.equal;
}
