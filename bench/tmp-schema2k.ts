import { performance } from 'node:perf_hooks';
import { startCluster } from '../emulator/local/cluster';
import { sql } from '../emulator/local/admin';
import { connect } from '../shared/pg/connect';
import { extractSchema } from '../shared/schema/extract';
import { applyPhase, applyObjects } from '../shared/schema';

async function main() {
  const n = Number(process.argv[2] ?? 2000);
  const [src, tgt] = await Promise.all([startCluster({ logical: true, label: 'p2ksrc', settings: { max_locks_per_transaction: 1024 } }), startCluster({ logical: true, label: 'p2ktgt', settings: { max_locks_per_transaction: 1024 } })]);
  try {
    await sql(src.info, 'postgres', 'CREATE DATABASE d');
    await sql(tgt.info, 'postgres', 'CREATE DATABASE d');
    await sql(src.info, 'd', `DO $$ BEGIN FOR i IN 1..${n} LOOP
      EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, v text NOT NULL, at timestamptz NOT NULL DEFAULT now())', i);
      EXECUTE format('CREATE INDEX t%s_v ON t%s (v)', i, i); END LOOP; END $$`);
    const ep = (s: typeof src) => ({ host: s.info.host, port: s.info.port, user: s.info.user, password: s.info.password, database: 'd', sslMode: 'Prefer' as const });
    const s = await connect(ep(src) as never);
    let t0 = performance.now();
    const plan = await extractSchema(s, {});
    console.log('extract', ((performance.now() - t0) / 1000).toFixed(2), 'objects', plan.objects.length);
    t0 = performance.now();
    const rep = await applyPhase(plan, 'pre-data', () => connect(ep(tgt) as never), { concurrency: 4 });
    console.log('pre-data', ((performance.now() - t0) / 1000).toFixed(2), JSON.stringify(rep.counts));
    const ids = plan.tables.flatMap((x) => [...x.keys, ...x.afterLoad]);
    t0 = performance.now();
    const r2 = await applyObjects(plan, ids, () => connect(ep(tgt) as never), { concurrency: 4 });
    console.log('keys+indexes', ((performance.now() - t0) / 1000).toFixed(2), JSON.stringify(r2.counts));
    await s.end();
  } finally {
    await Promise.all([src.stop(), tgt.stop()]);
  }
}
main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
