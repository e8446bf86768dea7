/**
 * `npm run bench:tables`: many small tables through the product path. A source database of N
 * tables (10 rows and one secondary index each) is migrated Offline by pgferry — the offline host
 * (in this process), its orchestrations and activities, driven over HTTP — and, in the same run,
 * by `pg_dump -Fc | pg_restore` into another database of the same target.
 *
 * Recorded per size: pgferry's wall time (PUT → Succeeded, verification included), the peer's,
 * the ratio, the orchestrations' longest history (events of one execution) and the host's total
 * orchestrator replay time and episode count, the host's peak RSS.
 *
 * Options: --tables 5000[,2000,…] (default 5000), --out bench/results/tables.json
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { startCluster, type Cluster, type ServerInfo } from '../emulator/local/cluster';
import { dumpRestore } from './lib/peers';
import { startAzurite, type Azurite } from '../emulator/local/azurite';
import { sql } from '../emulator/local/admin';
import { startHost, type RunningHost } from '../emulator/host';
import { projectRoot } from '../emulator/local/root';
import { DurableStore } from '../emulator/durable/store';
import { Logger } from '../emulator/log';
import type { MigrationResource } from '../shared/model/migration-resource';
import { withApiVersion } from '../shared/model/arm';

const { values: args } = parseArgs({ options: { tables: { type: 'string', default: '5000' }, out: { type: 'string', default: 'bench/results/tables.json' } } });
const sizes = String(args.tables).split(',').map((s) => Number(s.trim())).filter((n) => n > 0);

const say = (msg: string) => console.log(`[bench:tables ${new Date().toISOString().slice(11, 19)}] ${msg}`);

/** N tables of 10 rows and one index each, created in batches of 500 per transaction. */
async function createDataset(server: ServerInfo, db: string, n: number): Promise<void> {
  await sql(server, 'postgres', `CREATE DATABASE "${db}"`);
  for (let from = 1; from <= n; from += 500) {
    const to = Math.min(n, from + 499);
    await sql(server, db, `DO $$ BEGIN FOR i IN ${from}..${to} LOOP
      EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, v text NOT NULL, at timestamptz NOT NULL DEFAULT now())', i);
      EXECUTE format('INSERT INTO t%s (id, v) SELECT g, md5(g::text) FROM generate_series(1, 10) g', i);
      EXECUTE format('CREATE INDEX t%s_v ON t%s (v)', i, i);
    END LOOP; END $$`);
  }
}

interface OrchestrationStats {
  instances: number;
  /** Most history events of one execution (the executions still stored: the last of each instance). */
  longestHistory: number;
  longestHistoryInstance: string;
}

async function orchestrationStats(storage: string, hub: string): Promise<OrchestrationStats> {
  const store = await DurableStore.open(storage, hub, new Logger('error'));
  let longest = 0;
  let where = '';
  const all = await store.listInstances();
  for (const r of all) {
    const h = await store.readHistory(r.instanceId, r.exec.executionId);
    if (h.length > longest) {
      longest = h.length;
      where = `${r.name} ${r.instanceId}`;
    }
  }
  return { instances: all.length, longestHistory: longest, longestHistoryInstance: where };
}

async function api(host: RunningHost, key: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: MigrationResource }> {
  const r = await fetch(withApiVersion(`${host.url}/api${path}`), { method, headers: { 'x-functions-key': key, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
  const text = await r.text();
  return { status: r.status, json: (text ? JSON.parse(text) : {}) as MigrationResource };
}

async function main(): Promise<void> {
  execFileSync('npm', ['run', 'build'], { cwd: projectRoot(), stdio: 'ignore' });
  const started: Array<Cluster | Azurite> = [];
  let host: RunningHost | undefined;
  const results: Array<Record<string, unknown>> = [];
  try {
    const [source, target, azurite] = await Promise.all([
      startCluster({ logical: true, label: 'tblsrc', settings: { max_locks_per_transaction: 1024 } }),
      startCluster({ label: 'tbltgt', settings: { max_locks_per_transaction: 1024 } }),
      startAzurite(),
    ]);
    started.push(source, target, azurite);
    const key = randomBytes(24).toString('base64url');
    const hub = `bench${randomBytes(3).toString('hex')}`;
    Object.assign(process.env, { AzureWebJobsStorage: azurite.info.connectionString, PGFERRY_SECRET_KEY: randomBytes(32).toString('base64'), PGFERRY_FUNCTION_KEY: key, PGFERRY_TABLE_PREFIX: 'Bench' });
    host = await startHost({ appDir: projectRoot(), port: 0, logLevel: 'warn', hub });
    let peakRss = 0;
    const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 250);

    for (const n of sizes) {
      const db = `tables_${n}`;
      say(`creating ${n} tables on the source`);
      await createDataset(source.info, db, n);
      say('pg_dump -Fc | pg_restore');
      const peer = (await dumpRestore(source.info, target.info, db, `${db}_dump`)).seconds;
      say(`peer: ${peer.toFixed(1)} s; pgferry Offline through the host`);
      const name = `tables-${n}`;
      const t0 = performance.now();
      const put = await api(host, key, 'PUT', `/flexibleServers/bench/migrations/${name}`, {
        properties: {
          sourceDbServerResourceId: `${source.info.host}:${source.info.port}@${source.info.user}`,
          targetDbServerFullyQualifiedDomainName: `${target.info.host}:${target.info.port}`,
          secretParameters: { adminCredentials: { sourceServerPassword: source.info.password, targetServerPassword: target.info.password }, targetServerUsername: target.info.user },
          dbsToMigrate: [db], migrationMode: 'Offline', migrationOption: 'ValidateAndMigrate', overwriteDbsInTarget: 'True', sslMode: 'Prefer',
        },
      });
      if (put.status !== 201) throw new Error(`PUT: ${put.status} ${JSON.stringify(put.json)}`);
      let state = '';
      for (;;) {
        const got = await api(host, key, 'GET', `/flexibleServers/bench/migrations/${name}`);
        state = got.json.properties.currentStatus.state;
        if (state === 'Succeeded' || state === 'Failed' || state === 'Canceled' || state === 'ValidationFailed') {
          if (state !== 'Succeeded') throw new Error(`migration ended ${state}: ${got.json.properties.currentStatus.error ?? ''}`);
          break;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      const seconds = (performance.now() - t0) / 1000;
      const stats = await orchestrationStats(azurite.info.connectionString, hub);
      const row = { tables: n, mode: 'Offline', pgferrySeconds: Number(seconds.toFixed(1)), pgDumpRestoreSeconds: Number(peer.toFixed(1)), ratio: Number((seconds / peer).toFixed(2)), ...stats, ...host.stats(), hostPeakRssMb: Math.round(peakRss / 1048576) };
      say(JSON.stringify(row));
      results.push(row);
    }
    clearInterval(sampler);
  } finally {
    await host?.stop().catch(() => undefined);
    await Promise.allSettled(started.reverse().map((s) => s.stop()));
  }
  const out = String(args.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ machine: '2 cores, shared', at: new Date().toISOString(), results }, null, 2)}\n`);
  say(`wrote ${out}`);
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(`[bench:tables] failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exit(1);
});
