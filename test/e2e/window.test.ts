/**
 * Migration windows through the real host (Offline keeps them short), with migrateRoles:
 *   - a window starting ~15 s ahead: validation runs first, then the migration waits visibly
 *     (InProgress / WaitingForDataMigrationWindow) with nothing on the target; the parameter report
 *     answers meanwhile; at the window's start the roles, then the data go over, and it completes
 *     with the role report in validationDetails;
 *   - a window whose end has passed fails with the message, and copies nothing;
 *   - a cancel during the wait ends the migration Canceled, with nothing created and no slot.
 * The source is this file's own cluster, so migrateRoles copies only this file's roles.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startCluster, type Cluster, type ServerInfo } from '../support/cluster';
import { createTestDatabase, dropTestDatabase, sql } from '../support/databases';
import { http, stopAllHosts, useHost } from '../support/host';
import { databaseExists, expectTargetEqualsSource, getMigration, migrationBody, migrationUrl, slotsOn, waitForState } from '../support/e2e';
import type { ParameterDifference } from '../../shared/params';

const target = inject('target');
const p = `w${randomBytes(3).toString('hex')}_`;
const ROLES = { owner: `${p}owner`, app: `${p}app` };
let src: Cluster;
let source: ServerInfo;
const host = useHost();
const dbs: string[] = [];

async function database(label: string): Promise<string> {
  const db = await createTestDatabase(source, label);
  dbs.push(db);
  await sql(source, db, `
    CREATE TABLE items (id int PRIMARY KEY, name text);
    INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 500) g;
    ALTER TABLE items OWNER TO "${ROLES.owner}";
    GRANT SELECT ON items TO "${ROLES.app}";
    ALTER DATABASE "${db}" OWNER TO "${ROLES.owner}";`);
  return db;
}

function body(db: string, window: { start?: Date; end?: Date }) {
  const b = migrationBody(source, target, [db], { mode: 'Offline' });
  return {
    properties: {
      ...b.properties,
      migrateRoles: 'True',
      ...(window.start ? { migrationWindowStartTimeInUtc: window.start.toISOString() } : {}),
      ...(window.end ? { migrationWindowEndTimeInUtc: window.end.toISOString() } : {}),
    },
  };
}

async function put(server: string, name: string, b: unknown): Promise<void> {
  const r = await http(migrationUrl(host, server, name), { method: 'PUT', body: b });
  expect(r.status, r.text).toBe(201);
}

beforeAll(async () => {
  src = await startCluster({ label: 'window-src', settings: { work_mem: "'8MB'" } });
  source = src.info;
  await sql(source, 'postgres', `CREATE ROLE "${ROLES.owner}" NOLOGIN; CREATE ROLE "${ROLES.app}" LOGIN PASSWORD 'app-secret' IN ROLE "${ROLES.owner}"`);
}, 120_000);

afterAll(async () => {
  await stopAllHosts(); // before the databases, the roles and the source go
  for (const d of dbs) await dropTestDatabase(target, d).catch(() => undefined);
  for (const r of Object.values(ROLES)) {
    await sql(target, 'postgres', `DROP OWNED BY "${r}"`).catch(() => undefined);
    await sql(target, 'postgres', `DROP ROLE IF EXISTS "${r}"`).catch(() => undefined);
  }
  await src?.stop();
}, 120_000);

describe('migration window', () => {
  it('validates, waits for the window visibly, then migrates roles and data and completes', async () => {
    const db = await database('winwait');
    const start = new Date(Date.now() + 15_000);
    await put('winsrv', 'scheduled', body(db, { start, end: new Date(start.getTime() + 3_600_000) }));

    const waiting = await waitForState(host, 'winsrv', 'scheduled', 'InProgress', 'WaitingForDataMigrationWindow');
    // Validation ran before the wait, so problems surface early.
    expect(waiting.properties.currentStatus.currentSubStateDetails.validationDetails?.status).not.toBe('Failed');
    expect(waiting.properties.migrationWindowStartTimeInUtc).toBe(start.toISOString());
    expect(await databaseExists(target, db)).toBe(false);

    // The parameter report reads both servers with the stored credentials meanwhile.
    const params = await http(`${migrationUrl(host, 'winsrv', 'scheduled')}/parameters`);
    expect(params.status, params.text).toBe(200);
    const workMem = params.json<{ value: ParameterDifference[] }>().value.find((d) => d.name === 'work_mem');
    expect(workMem).toMatchObject({ source: '8MB', target: '4MB', scope: 'server', category: 'memory' });
    expect(workMem?.command).toBe('az postgres flexible-server parameter set --resource-group <resource-group> --server-name winsrv --name work_mem --value 8192');
    expect(params.text).not.toContain(source.password);

    const done = await waitForState(host, 'winsrv', 'scheduled', 'Succeeded', 'Completed', 240_000);
    const dbDetails = done.properties.currentStatus.currentSubStateDetails.dbDetails[db];
    expect(dbDetails?.migrationState).toBe('Succeeded');
    // Nothing was copied before the window opened.
    expect(new Date(dbDetails?.startedOn ?? 0).getTime()).toBeGreaterThanOrEqual(start.getTime());
    await expectTargetEqualsSource(source, target, db);

    // Roles went first, so owners and grants landed; the report is in validationDetails.
    const v = done.properties.currentStatus.currentSubStateDetails.validationDetails;
    const roles = v?.serverLevelValidationDetails.find((i) => i.type === 'RolesMigration');
    expect(roles?.messages.filter((m) => m.code === '603940').map((m) => m.message).sort()).toEqual([
      `Role "${ROLES.app}" created (LOGIN), password copied`,
      `Role "${ROLES.owner}" created`,
    ]);
    expect(JSON.stringify(done)).not.toMatch(/SCRAM-SHA-256\$/);
    const dbRoles = v?.dbLevelValidationDetails.find((d) => d.databaseName === db)?.summary.find((i) => i.type === 'RolesMigration');
    expect(dbRoles?.state).toBe('Succeeded');
    const owners = await sql(target, db, `SELECT pg_get_userbyid(c.relowner) AS owner, c.relacl::text[] AS acl, (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()) AS db_owner
      FROM pg_class c WHERE c.relname = 'items'`);
    expect(owners.rows[0]).toEqual({ owner: ROLES.owner, acl: [`${ROLES.owner}=arwdDxt/${ROLES.owner}`, `${ROLES.app}=r/${ROLES.owner}`], db_owner: ROLES.owner });

    // Once the migration ended its credentials are gone: the report says so.
    const after = await http(`${migrationUrl(host, 'winsrv', 'scheduled')}/parameters`);
    expect(after.status, after.text).toBe(409);
    expect(after.json<{ error: { code: string } }>().error.code).toBe('CredentialsNotAvailable');
    expect((await http(`${migrationUrl(host, 'winsrv', 'nosuchmigration')}/parameters`)).status).toBe(404);
  }, 300_000);

  it('a window whose end has passed fails with the message and copies nothing', async () => {
    const db = await database('winlate');
    const end = new Date(Date.now() - 60_000);
    await put('winlate', 'late', body(db, { start: new Date(end.getTime() - 3_600_000), end }));
    const m = await waitForState(host, 'winlate', 'late', 'Failed', 'Completed');
    expect(m.properties.currentStatus.error).toContain(`The migration window ended at ${end.toISOString()}`);
    expect(m.properties.currentStatus.error).toContain('no data was copied');
    expect(await databaseExists(target, db)).toBe(false);
  }, 180_000);

  it('a cancel during the wait ends the migration Canceled, with nothing created and no slot', async () => {
    const db = await database('wincancel');
    await put('wincancel', 'later', body(db, { start: new Date(Date.now() + 3_600_000) }));
    await waitForState(host, 'wincancel', 'later', 'InProgress', 'WaitingForDataMigrationWindow');
    const patch = await http(migrationUrl(host, 'wincancel', 'later'), { method: 'PATCH', body: { properties: { cancel: 'True' } } });
    expect(patch.status, patch.text).toBe(200);
    const m = await waitForState(host, 'wincancel', 'later', 'Canceled', 'Completed');
    expect(m.properties.endedOn).toBeDefined();
    expect(await databaseExists(target, db)).toBe(false);
    expect(await slotsOn(source, db)).toEqual([]);
    expect((await getMigration(host, 'wincancel', 'later')).properties.cancel).toBe('True');
  }, 180_000);
});
