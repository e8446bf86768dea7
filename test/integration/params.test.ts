/**
 * The server-parameter report between two clusters configured differently: every difference an
 * application can feel, with the source's and target's values as SHOW prints them and the command
 * that aligns the target (az CLI for server parameters, ALTER DATABASE for database ones); the
 * platform's own settings (logging, WAL, SSL …) are not reported, and nothing on the target changes.
 */
import type { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../shared/pg/connect';
import { parameterReport, type ParameterDifference } from '../../shared/params';
import { startCluster, type Cluster } from '../support/cluster';
import { sql } from '../support/databases';
import { endpointOf } from '../support/endpoints';

let src: Cluster;
let tgt: Cluster;
const DB = 'params_app';

beforeAll(async () => {
  [src, tgt] = await Promise.all([
    startCluster({
      label: 'params-src',
      settings: {
        timezone: "'Asia/Tokyo'",
        DateStyle: "'SQL, DMY'",
        search_path: `'"$user", public, app'`,
        statement_timeout: "'30s'",
        idle_in_transaction_session_timeout: "'10min'",
        work_mem: "'64MB'",
        random_page_cost: '1.1',
        shared_preload_libraries: "'pg_stat_statements'",
        'pg_stat_statements.track': "'all'",
        max_connections: 300,
        log_min_duration_statement: "'1s'",
      },
    }),
    startCluster({ label: 'params-tgt', settings: { timezone: "'UTC'", lock_timeout: "'5s'" } }),
  ]);
  for (const c of [src, tgt]) await sql(c.info, 'postgres', `CREATE DATABASE ${DB}`);
  await sql(src.info, 'postgres', `ALTER DATABASE ${DB} SET work_mem = '16MB'; ALTER DATABASE ${DB} SET TimeZone = 'Europe/Paris'`);
  await sql(tgt.info, 'postgres', `ALTER DATABASE ${DB} SET work_mem = '16MB'`);
  // The login's own default must not be taken for the server's value.
  await sql(src.info, 'postgres', `ALTER ROLE postgres SET work_mem = '1MB'`);
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([src?.stop(), tgt?.stop()]);
});

async function report(): Promise<ParameterDifference[]> {
  const s: Client = await connect(endpointOf(src.info));
  const t: Client = await connect(endpointOf(tgt.info));
  try {
    return await parameterReport(s, t, 'tgt-server', [DB, 'not_there']);
  } finally {
    await Promise.all([s.end(), t.end()]);
  }
}

const az = (name: string, value: string) =>
  `az postgres flexible-server parameter set --resource-group <resource-group> --server-name tgt-server --name ${name} --value ${value}`;

describe('parameter report', () => {
  it('lists the differences that matter, with values and commands, in category order', async () => {
    const diffs = await report();
    expect(diffs.map(({ reason: _r, ...d }) => d)).toEqual([
      { name: 'DateStyle', source: 'SQL, DMY', target: 'ISO, MDY', scope: 'server', category: 'locale-and-formatting', command: az('DateStyle', `'SQL, DMY'`) },
      { name: 'TimeZone', source: 'Asia/Tokyo', target: 'UTC', scope: 'server', category: 'locale-and-formatting', command: az('TimeZone', 'Asia/Tokyo') },
      { name: 'search_path', source: '"$user", public, app', target: '"$user", public', scope: 'server', category: 'session-defaults', command: az('search_path', `'"$user", public, app'`) },
      { name: 'idle_in_transaction_session_timeout', source: '10min', target: '0', scope: 'server', category: 'timeouts', command: az('idle_in_transaction_session_timeout', '600000') },
      { name: 'lock_timeout', source: '0', target: '5s', scope: 'server', category: 'timeouts', command: az('lock_timeout', '0') },
      { name: 'statement_timeout', source: '30s', target: '0', scope: 'server', category: 'timeouts', command: az('statement_timeout', '30000') },
      { name: 'work_mem', source: '64MB', target: '4MB', scope: 'server', category: 'memory', command: az('work_mem', '65536') },
      { name: 'random_page_cost', source: '1.1', target: '4', scope: 'server', category: 'query-planning', command: az('random_page_cost', '1.1') },
      { name: 'pg_stat_statements.track', source: 'all', target: null, scope: 'server', category: 'extensions', command: az('pg_stat_statements.track', 'all') },
      { name: 'shared_preload_libraries', source: 'pg_stat_statements', target: '', scope: 'server', category: 'extensions', command: az('shared_preload_libraries', 'pg_stat_statements') },
      { name: 'max_connections', source: '300', target: '200', scope: 'server', category: 'capacity', command: az('max_connections', '300') },
      { name: 'TimeZone', source: 'Europe/Paris', target: null, scope: 'database', database: DB, category: 'locale-and-formatting', command: `ALTER DATABASE "${DB}" SET "TimeZone" TO 'Europe/Paris';` },
    ]);
    const reason = (name: string) => diffs.find((d) => d.name === name && d.scope === 'server')?.reason ?? '';
    expect(reason('max_connections')).toMatch(/allows less than the source.*restart is needed/);
    expect(reason('shared_preload_libraries')).toMatch(/pg_stat_statements not preloaded on the target.*restart is needed/);
    expect(reason('pg_stat_statements.track')).toMatch(/does not know this parameter/);
    expect(reason('TimeZone')).toMatch(/parsed or printed/);
  }, 60_000);

  it('changes nothing on the target', async () => {
    const before = await sql(tgt.info, 'postgres', `SELECT name, setting FROM pg_settings ORDER BY name`);
    await report();
    expect((await sql(tgt.info, 'postgres', `SELECT name, setting FROM pg_settings ORDER BY name`)).rows).toEqual(before.rows);
    const dbSettings = await sql(tgt.info, 'postgres', `SELECT setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = $1`, [DB]);
    expect(dbSettings.rows).toEqual([{ setconfig: ['work_mem=16MB'] }]);
  }, 60_000);
});
