/**
 * Benchmark: pre-migration validation of 8 databases (each with 200 tables, indexes, FKs, views
 * and functions) on one source server. Writes bench/results/validate.json.
 * Run: npm run bench:validate
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startCluster } from '../emulator/local/cluster';
import { sql } from '../emulator/local/admin';
import { endpointOf } from '../emulator/local/endpoints';
import { validateMigration } from '../shared/validate';

async function main(): Promise<void> {
  const [source, target] = await Promise.all([
    startCluster({ label: 'bsrc', logical: true }),
    startCluster({ label: 'btgt' }),
  ]);
  try {
    const dbs = Array.from({ length: 8 }, (_, i) => `bench_db_${i}`);
    for (const db of dbs) {
      await sql(source.info, 'postgres', `CREATE DATABASE ${db}`);
      await sql(source.info, db, `
        DO $$ BEGIN
          FOR i IN 1..200 LOOP
            EXECUTE format('CREATE TABLE t%s (id bigint PRIMARY KEY, ref bigint, v text, at timestamptz DEFAULT now())', i);
            EXECUTE format('CREATE INDEX ON t%s (ref)', i);
            IF i > 1 THEN EXECUTE format('ALTER TABLE t%s ADD FOREIGN KEY (ref) REFERENCES t%s (id)', i, i - 1); END IF;
            EXECUTE format('CREATE VIEW v%s AS SELECT id, v FROM t%s', i, i);
            EXECUTE format('CREATE FUNCTION f%s(int) RETURNS int LANGUAGE sql AS ''SELECT $1 + %s''', i, i);
          END LOOP;
        END $$;`);
    }
    const runs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const out = await validateMigration({
        source: endpointOf(source.info), target: endpointOf(target.info), databases: dbs, mode: 'Online', overwriteDbsInTarget: false,
      });
      runs.push((performance.now() - t0) / 1000);
      if (out.details.status === 'Failed') throw new Error(`validation failed: ${JSON.stringify(out.details)}`);
    }
    const result = {
      benchmark: 'validate-8-databases',
      when: new Date().toISOString(),
      databases: dbs.length,
      tablesPerDatabase: 200,
      secondsPerRun: runs.map((s) => Number(s.toFixed(3))),
      bestSeconds: Number(Math.min(...runs).toFixed(3)),
    };
    mkdirSync(join(__dirname, 'results'), { recursive: true });
    writeFileSync(join(__dirname, 'results', 'validate.json'), `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await Promise.all([source.stop(), target.stop()]);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
