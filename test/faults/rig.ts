/**
 * The fault rig: servers this suite owns (so it may restart them), a persistent Azurite that can
 * be restarted on the same port, a workload that survives server restarts, fault injectors, and
 * polling that tolerates a host or a storage service that is down for a moment.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MigrationResource } from '../../shared/model/migration-resource';
import type { MigrationState } from '../../shared/model/states';
import { DEV_ACCOUNT, DEV_KEY, type AzuriteInfo } from '../support/azurite';
import type { ServerInfo } from '../support/cluster';
import { sql, withAdmin } from '../support/databases';
import { WRITES_SQL } from '../support/e2e';
import { ROOT, http, type Host } from '../support/host';
import { freePort, waitForPort } from '../support/ports';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Clock and fault log ---------------------------------------------------------------------------

const t0 = Date.now();
export const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;

export interface FaultRecord {
  scenario: string;
  kind: string;
  phase: string;
  detail: string;
}

/** Every fault injected in this run, for the summary printed at the end. */
export const faultLog: FaultRecord[] = [];

export function note(scenario: string, line: string): void {
  console.log(`[faults ${elapsed()}] ${scenario}: ${line}`);
}

export function record(f: FaultRecord): void {
  faultLog.push(f);
  note(f.scenario, `FAULT ${f.kind} during ${f.phase}${f.detail ? ` (${f.detail})` : ''}`);
}

// Azurite on disk, restartable on the same port ------------------------------------------------

export interface DiskAzurite {
  info: AzuriteInfo;
  /** Orderly stop (SIGINT: Azurite saves its LokiJS files), then the same folder and port again. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Azurite with `--location`, stopped with SIGINT: its table service closes the LokiJS database,
 * which writes what the 5-second autosave has not yet written. (The rig's startAzurite stops with
 * SIGTERM, which Azurite does not handle: the last seconds of acknowledged writes would be lost —
 * something Azure Storage never does, so it is not a fault a durable host must survive.)
 */
export async function startDiskAzurite(): Promise<DiskAzurite> {
  const entry = join(ROOT, 'node_modules', 'azurite', 'dist', 'src', 'table', 'main.js');
  if (!existsSync(entry)) throw new Error(`Azurite not found at ${entry}`);
  const dir = mkdtempSync(join(tmpdir(), 'pgferry-faults-azurite-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let stderr = '';

  const start = async () => {
    stderr = '';
    const c = spawn(process.execPath,
      [entry, '--location', dir, '--disableTelemetry', '--skipApiVersionCheck', '--loose', '--tableHost', '127.0.0.1', '--tablePort', String(port)],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    c.stderr?.on('data', (b: Buffer) => { stderr += b.toString(); });
    child = c;
    const early = new Promise<never>((_, reject) => c.once('exit', (code) => reject(new Error(`Azurite exited early (code ${code}): ${stderr}`))));
    early.catch(() => undefined);
    await Promise.race([waitForPort(port, 30_000), early]);
  };
  const halt = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((done) => c.once('exit', () => done()));
    c.kill('SIGINT');
    // The SIGINT handler closes the servers and the database; the process then exits on its own.
    const timer = setTimeout(() => c.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  };
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);
  await start();
  const tableEndpoint = `http://127.0.0.1:${port}/${DEV_ACCOUNT}`;
  return {
    info: {
      tableEndpoint,
      accountName: DEV_ACCOUNT,
      accountKey: DEV_KEY,
      connectionString: `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};TableEndpoint=${tableEndpoint};`,
    },
    async restart(downMs = 1500) {
      await halt();
      await sleep(downMs);
      await start();
    },
    async stop() {
      process.off('exit', killOnExit);
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Source database -------------------------------------------------------------------------------

export const BIG_TABLES = 32;
export const BIG_ROWS = 40_000;
/** FIXTURE_SQL's five copied tables (accounts, events, audit, metrics_a, metrics_b) and the big ones. */
export const TOTAL_TABLES = 5 + BIG_TABLES;

/** Big tables; a third of them with a secondary UNIQUE index, which pgferry builds after the consistency point (post-data). */
export const BIG_SQL = Array.from({ length: BIG_TABLES }, (_, i) =>
  `CREATE TABLE big${i} (id int PRIMARY KEY, n int NOT NULL DEFAULT 0, v text);
   INSERT INTO big${i} SELECT g, 0, repeat(md5(g::text), 4) FROM generate_series(1, ${BIG_ROWS}) g;
   ${i % 3 === 0 ? `CREATE UNIQUE INDEX big${i}_v ON big${i} (v);` : ''}`).join('\n');

/** A database cloned from the fixture template (CREATE DATABASE … TEMPLATE: seconds, not a reload). */
export async function cloneFixture(server: ServerInfo, template: string, label: string): Promise<string> {
  const db = `${label}_${Math.random().toString(16).slice(2, 8)}`;
  await sql(server, 'postgres', `CREATE DATABASE "${db}" TEMPLATE "${template}"`);
  return db;
}

// Workload --------------------------------------------------------------------------------------

export interface Writer {
  stop(): Promise<{ rounds: number; errors: number }>;
}

/**
 * WRITES_SQL in a loop (every table kind of FIXTURE_SQL), plus — when `heavy` — an UPDATE of a
 * slice of one big table per round, so the copy leaves a real backlog for CDC to catch up on.
 * Errors (a server restarting, a session terminated) are counted and the loop goes on: each round
 * is one implicit transaction, so it either happened on the source or did not.
 */
export function startWriter(server: ServerInfo, db: string, o: { heavy?: boolean } = {}): Writer {
  let writing = true;
  let rounds = 0;
  let errors = 0;
  const loop = (async () => {
    for (let i = 0; writing; i++) {
      const heavy = o.heavy ? `UPDATE big${i % BIG_TABLES} SET n = n + 1 WHERE id % 20 = ${i % 20};` : '';
      try {
        await sql(server, db, `${WRITES_SQL}\n${heavy}`);
        rounds++;
      } catch {
        errors++;
        await sleep(250);
      }
      await sleep(o.heavy ? 60 : 20);
    }
  })();
  return {
    async stop() {
      writing = false;
      await loop;
      return { rounds, errors };
    },
  };
}

// Faults ----------------------------------------------------------------------------------------

/**
 * pg_terminate_backend of every session of pgferry (application_name pgferry, pgferry-copy,
 * pgferry-index; walsenders included) on one server, as soon as there is one (polled every 25 ms
 * for up to `waitMs`, so the fault hits work in flight rather than an idle moment). Returns how
 * many sessions were terminated (0: none appeared in time).
 */
export async function terminatePgferry(server: ServerInfo, waitMs = 3000): Promise<number> {
  return withAdmin(server, 'postgres', async (c) => {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const { rows } = await c.query<{ n: number }>(`
        SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n
          FROM pg_stat_activity WHERE application_name LIKE 'pgferry%' AND pid <> pg_backend_pid()`);
      const n = rows[0]?.n ?? 0;
      if (n > 0 || Date.now() > deadline) return n;
      await sleep(25);
    }
  });
}

// Migration polling -----------------------------------------------------------------------------

export const TERMINAL: MigrationState[] = ['Succeeded', 'Failed', 'Canceled', 'ValidationFailed'];

/** The migration as the API shows it, or undefined while the host or its storage is unreachable. */
export async function peek(host: Host, server: string, name: string): Promise<MigrationResource | undefined> {
  try {
    const r = await http(`${host.api}/flexibleServers/${server}/migrations/${name}`);
    return r.status === 200 ? r.json<MigrationResource>() : undefined;
  } catch {
    return undefined;
  }
}

/** What one database is doing, in the words the fault log uses. */
export function phaseOf(m: MigrationResource | undefined, db: string): string {
  if (!m) return 'unreachable';
  const s = m.properties.currentStatus;
  if (TERMINAL.includes(s.state)) return s.state;
  const d = s.currentSubStateDetails.dbDetails[db];
  const op = d?.migrationOperation ?? '';
  if (s.currentSubStateDetails.currentSubState === 'CompletingMigration' || op.startsWith('Cutting over') || op.startsWith('Verifying')) return 'cutover';
  if (s.state === 'WaitingForUserAction' || op.startsWith('Replicating changes')) return 'streaming';
  if (op.startsWith('Catching up')) return 'catch-up';
  if (op.startsWith('Building indexes')) return 'post-data';
  if (op.startsWith('Copying') || op.startsWith('Building primary keys') || op.startsWith('Creating the schema') || op.startsWith('Replication slot') || op.startsWith('Preparing')) {
    return `copy ${d?.fullLoadCompletedTables ?? 0}/${TOTAL_TABLES}`;
  }
  return s.currentSubStateDetails.currentSubState;
}

export function isCopying(m: MigrationResource | undefined, db: string): boolean {
  return phaseOf(m, db).startsWith('copy');
}

/** Polls until `pred` holds or the migration ended (terminal); undefined after timeoutMs. */
export async function untilOrEnd(host: () => Host, server: string, name: string, pred: (m: MigrationResource) => boolean, timeoutMs = 120_000, everyMs = 100): Promise<MigrationResource | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const m = await peek(host(), server, name);
    if (m && (pred(m) || TERMINAL.includes(m.properties.currentStatus.state))) return m;
    await sleep(everyMs);
  }
  return undefined;
}

/** Polls until `pred` holds; throws if the migration ends (terminal) first or after timeoutMs. */
export async function until(host: () => Host, server: string, name: string, what: string, pred: (m: MigrationResource) => boolean, timeoutMs = 240_000, everyMs = 200): Promise<MigrationResource> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = await peek(host(), server, name);
    if (m && pred(m)) return m;
    if (m && TERMINAL.includes(m.properties.currentStatus.state)) {
      throw new Error(`${name} ended ${m.properties.currentStatus.state} while waiting for ${what}: ${JSON.stringify(m.properties.currentStatus).slice(0, 3000)}\n--- host log tail ---\n${host().logs().slice(-4000)}`);
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${m ? phaseOf(m, '') : 'unreachable'})\n--- host log tail ---\n${host().logs().slice(-4000)}`);
    await sleep(everyMs);
  }
}

export async function untilTerminal(host: () => Host, server: string, name: string, timeoutMs = 300_000): Promise<MigrationResource> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = await peek(host(), server, name);
    if (m && TERMINAL.includes(m.properties.currentStatus.state)) return m;
    if (Date.now() > deadline) throw new Error(`${name}: no terminal state after ${timeoutMs} ms (last: ${m?.properties.currentStatus.state ?? 'unreachable'})\n--- host log tail ---\n${host().logs().slice(-4000)}`);
    await sleep(300);
  }
}

/** Replication origins pgferry left on the target (its exactly-once progress records). */
export async function originsOn(server: ServerInfo): Promise<string[]> {
  return withAdmin(server, 'postgres', async (c) => (await c.query<{ roname: string }>('SELECT roname FROM pg_replication_origin')).rows.map((r) => r.roname));
}

/**
 * The schema objects a row comparison cannot see: every index with its definition and validity (a
 * CREATE INDEX CONCURRENTLY cut short leaves an INVALID one), constraints with their validation
 * state, and user triggers with their enabled state.
 */
export async function schemaObjects(server: ServerInfo, db: string): Promise<string[]> {
  return withAdmin(server, db, async (c) => {
    const user = `NOT IN ('pg_catalog', 'information_schema', 'pgferry_meta', 'pgferry_cdc')`;
    const indexes = await c.query<{ line: string }>(`
      SELECT format('index %s.%s %s%s', n.nspname, i.relname, pg_get_indexdef(i.oid), CASE WHEN x.indisvalid THEN '' ELSE ' INVALID' END) AS line
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace
       WHERE n.nspname ${user} AND n.nspname NOT LIKE 'pg\\_toast%'`);
    const constraints = await c.query<{ line: string }>(`
      SELECT format('constraint %s %s %s%s', conrelid::regclass, conname, pg_get_constraintdef(k.oid), CASE WHEN convalidated THEN '' ELSE ' NOT VALIDATED' END) AS line
        FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace WHERE n.nspname ${user}`);
    const triggers = await c.query<{ line: string }>(`
      SELECT format('trigger %s %s %s', tgrelid::regclass, tgname, tgenabled) AS line
        FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid JOIN pg_namespace n ON n.oid = r.relnamespace
       WHERE NOT t.tgisinternal AND n.nspname ${user}`);
    return [...indexes.rows, ...constraints.rows, ...triggers.rows].map((r) => r.line).sort();
  });
}
