/**
 * Pre-migration validation against real clusters: every Failed-capable check is provoked by
 * building its condition for real, and the report must carry the state, the code and the fix.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { validateMigration, flattenMessages, allowsMigration, type ValidationOutcome, type ValidationRequest } from '../../shared/validate';
import { binDir, knowsSetting, startCluster, type Cluster, type ServerInfo } from '../support/cluster';
import { createTestDatabase, dropTestDatabase, sql } from '../support/databases';
import { endpointOf } from '../support/endpoints';
import { withClient } from '../../shared/pg/connect';
import { dropSlotAndPublication, ensureSlot, slotNameFor } from '../../shared/cdc/slot';

const source = inject('source');
const target = inject('target');
const suffix = randomBytes(3).toString('hex');
const ownerRole = `vowner_${suffix}`;
const cleanups: Array<() => Promise<unknown>> = [];

function request(over: Partial<ValidationRequest> & Pick<ValidationRequest, 'databases'>): ValidationRequest {
  return {
    source: endpointOf(source),
    target: endpointOf(target, { sslMode: 'Require' }),
    mode: 'Online',
    overwriteDbsInTarget: false,
    timeoutMs: 5000,
    ...over,
  };
}

function messages(out: ValidationOutcome) {
  return flattenMessages(out.details);
}
function byCode(out: ValidationOutcome, code: string) {
  return messages(out).filter((m) => m.code === code);
}
function itemState(out: ValidationOutcome, type: string, db?: string) {
  if (db === undefined) return out.details.serverLevelValidationDetails.find((i) => i.type === type)?.state;
  return out.details.dbLevelValidationDetails.find((d) => d.databaseName === db)?.summary.find((i) => i.type === type)?.state;
}

/** A source database whose objects belong to a non-superuser role that also exists on the target. */
async function cleanDatabase(label: string, extraSql = ''): Promise<string> {
  const db = await createTestDatabase(source, label);
  cleanups.push(() => dropTestDatabase(source, db));
  await sql(source, db, `
    GRANT CREATE ON SCHEMA public TO ${ownerRole};
    SET ROLE ${ownerRole};
    CREATE TABLE public.accounts (id bigint PRIMARY KEY, name text NOT NULL);
    CREATE TABLE public.events (id bigserial PRIMARY KEY, account_id bigint REFERENCES public.accounts, payload jsonb);
    INSERT INTO public.accounts SELECT g, 'acct ' || g FROM generate_series(1, 100) g;
    ${extraSql}
    RESET ROLE;`);
  return db;
}

beforeAll(async () => {
  for (const server of [source, target]) {
    await sql(server, 'postgres', `CREATE ROLE ${ownerRole} NOLOGIN`);
    cleanups.push(() => sql(server, 'postgres', `DROP ROLE IF EXISTS ${ownerRole}`));
  }
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

describe('all green', () => {
  it('a clean source and an empty target pass every check, and pgoutput is chosen', async () => {
    const db = await cleanDatabase('vgreen');
    const out = await validateMigration(request({ databases: [db] }));
    // The rig's source keeps WAL for slots without bound (max_slot_wal_keep_size = -1, the
    // default): that is a real risk to the source's disk, so it is a Warning — and the only one.
    const notOk = messages(out).filter((m) => m.state !== 'Succeeded');
    expect(notOk.map((m) => [m.code, m.state])).toEqual([['603909', 'Warning']]);
    expect(out.details.status).toBe('Warning');
    expect(out.plugin).toBe('pgoutput');
    expect(allowsMigration(out.details)).toBe(true);
    expect(out.details.serverLevelValidationDetails.map((i) => i.type)).toEqual([
      'AuthenticationAndConnectivityValidation', 'SourceVersionValidation', 'ServerParametersValidation']);
    expect(out.details.dbLevelValidationDetails[0]?.summary.map((i) => i.type)).toEqual([
      'DatabaseValidation', 'SchemaValidation', 'ExtensionsValidation', 'CollationsValidation']);
    expect(byCode(out, '603905')[0]?.message).toContain('pgoutput');
    const w2j = await validateMigration(request({ databases: [db], decoder: 'wal2json' }));
    expect(w2j.plugin).toBe('wal2json');
    expect(byCode(w2j, '603905')[0]?.message).toContain('format-version 2');
    expect(Date.parse(out.details.validationEndTimeInUtc)).toBeGreaterThanOrEqual(Date.parse(out.details.validationStartTimeInUtc));
  });

  it('eight databases validate in one run, each with its own summary', async () => {
    const dbs = await Promise.all(Array.from({ length: 8 }, (_, i) => cleanDatabase(`v8_${i}`)));
    const out = await validateMigration(request({ databases: dbs }));
    expect(out.details.status).toBe('Warning'); // only the unbounded retained WAL (see above)
    expect(messages(out).filter((m) => m.state !== 'Succeeded').map((m) => m.code)).toEqual(['603909']);
    expect(out.details.dbLevelValidationDetails.map((d) => d.databaseName)).toEqual(dbs);
  });
});

describe('connectivity', () => {
  it('a wrong password fails with 603100 and the fix, never echoing the password', async () => {
    const db = await cleanDatabase('vpw');
    const out = await validateMigration(request({ databases: [db], source: endpointOf(source, { password: 'wrong-secret-xyz' }) }));
    expect(out.details.status).toBe('Failed');
    const [m] = byCode(out, '603100');
    expect(m?.state).toBe('Failed');
    expect(m?.message).toContain(`${source.host}:${source.port}`);
    expect(m?.fix).toMatch(/password/i);
    expect(JSON.stringify(out)).not.toContain('wrong-secret-xyz');
    expect(allowsMigration(out.details)).toBe(false);
  });

  it('sslMode Require against a server without SSL fails with 603001', async () => {
    const out = await validateMigration(request({ databases: ['postgres'], source: endpointOf(source, { sslMode: 'Require' }) }));
    const [m] = byCode(out, '603001');
    expect(m?.state).toBe('Failed');
    expect(m?.fix).toContain('Prefer');
  });
});

describe('decoding plugin', () => {
  let strict: Cluster;
  beforeAll(async () => {
    // PostgreSQL 15.20 (Debian's) accepts only the libraries listed in output_plugin_libraries;
    // this source has wal2json installed but not listed, as a source whose DBA never allowed it.
    expect(knowsSetting(binDir(15), 'output_plugin_libraries')).toBe(true);
    strict = await startCluster({ label: 'vplugins', logical: true, settings: { output_plugin_libraries: "'pgoutput, test_decoding'" } });
  });
  afterAll(async () => strict?.stop());

  it('wal2json asked for but not allowed as an output plugin: pgoutput is chosen and the message names the setting to change', async () => {
    const db = await createTestDatabase(strict.info, 'w2j');
    const out = await validateMigration(request({ databases: [db], source: endpointOf(strict.info), decoder: 'wal2json' }));
    expect(out.plugin).toBe('pgoutput');
    const message = byCode(out, '603905')[0]?.message ?? '';
    expect(message).toContain('output_plugin_libraries');
    expect(message).not.toContain('not installed');
  });
});

describe('server parameters', () => {
  let small: Cluster;
  beforeAll(async () => {
    small = await startCluster({ label: 'vreplica', settings: { wal_level: 'replica', max_replication_slots: 1, max_wal_senders: 1 } });
  });
  afterAll(async () => small?.stop());

  it('wal_level=replica, too few slots and senders each fail with their code and fix', async () => {
    const dbs = [await createTestDatabase(small.info, 'a'), await createTestDatabase(small.info, 'b')];
    const out = await validateMigration(request({ databases: dbs, source: endpointOf(small.info) }));
    expect(itemState(out, 'ServerParametersValidation')).toBe('Failed');
    expect(byCode(out, '603107')[0]).toMatchObject({ state: 'Failed' });
    expect(byCode(out, '603107')[0]?.message).toContain("'replica'");
    expect(byCode(out, '603107')[0]?.fix).toContain("wal_level = 'logical'");
    expect(byCode(out, '603105')[0]?.message).toContain('max_replication_slots is 1');
    expect(byCode(out, '603105')[0]?.fix).toMatch(/max_replication_slots = \d+/);
    expect(byCode(out, '603106')[0]?.message).toContain('max_wal_senders is 1');
    expect(out.plugin).toBeUndefined();
  });

  it('the same source passes the parameter checks for an Offline migration', async () => {
    const db = await createTestDatabase(small.info, 'off');
    const out = await validateMigration(request({ databases: [db], source: endpointOf(small.info), mode: 'Offline' }));
    expect(itemState(out, 'ServerParametersValidation')).toBe('Succeeded');
  });

  it('a login without REPLICATION fails with 603104 naming the ALTER ROLE fix', async () => {
    const role = `vnorepl_${suffix}`;
    const db = await cleanDatabase('vnorepl');
    await sql(source, 'postgres', `CREATE ROLE ${role} LOGIN PASSWORD 'norepl-pw'`);
    cleanups.push(() => sql(source, 'postgres', `DROP ROLE IF EXISTS ${role}`));
    await sql(source, db, `GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role}`);
    const out = await validateMigration(request({ databases: [db], source: endpointOf(source, { user: role, password: 'norepl-pw' }) }));
    const [m] = byCode(out, '603104');
    expect(m?.state).toBe('Failed');
    expect(m?.fix).toBe(`ALTER ROLE "${role}" WITH REPLICATION; (on RDS: GRANT rds_replication TO "${role}")`);
    expect(byCode(out, '603110')).toEqual([]);
  });

  it('a login that cannot read a table fails with 603110 listing it', async () => {
    const role = `vnoread_${suffix}`;
    const db = await cleanDatabase('vnoread');
    await sql(source, 'postgres', `CREATE ROLE ${role} LOGIN REPLICATION PASSWORD 'noread-pw'`);
    cleanups.push(async () => {
      await sql(source, db, `DROP OWNED BY ${role}`).catch(() => undefined);
      await sql(source, 'postgres', `DROP ROLE IF EXISTS ${role}`);
    });
    await sql(source, db, `GRANT SELECT ON public.accounts TO ${role}`);
    const out = await validateMigration(request({ databases: [db], source: endpointOf(source, { user: role, password: 'noread-pw' }) }));
    const [m] = byCode(out, '603110');
    expect(m?.state).toBe('Failed');
    expect(m?.message).toContain('"public"."events"');
    expect(m?.message).not.toContain('"public"."accounts"');
  });
});

describe('managed-service source logins (LOGIN REPLICATION, reading through pg_read_all_data)', () => {
  it('lacking CREATE on the database and the tables\' owner fail with 603929 and 603930 and their GRANTs; granted, pgferry publishes FOR TABLE', async () => {
    const role = `vrepl_${suffix}`;
    const db = await cleanDatabase('vrepl');
    await sql(source, 'postgres', `CREATE ROLE ${role} LOGIN REPLICATION PASSWORD 'repl-pw'; GRANT pg_read_all_data TO ${role}`);
    await sql(source, 'postgres', `REVOKE CREATE ON DATABASE "${db}" FROM PUBLIC`);
    const login = endpointOf(source, { user: role, password: 'repl-pw' });
    const slot = slotNameFor('vrepl', db);
    cleanups.push(async () => {
      await withClient({ ...login, database: db }, 5000, (c) => dropSlotAndPublication(c, slot)).catch(() => undefined);
      await sql(source, db, `DROP OWNED BY ${role}`).catch(() => undefined);
      await sql(source, 'postgres', `DROP ROLE IF EXISTS ${role}`);
    });
    const out = await validateMigration(request({ databases: [db], source: login }));
    expect(out.plugin).toBe('pgoutput');
    expect(byCode(out, '603110')).toEqual([]);
    const [create] = byCode(out, '603929');
    expect(create?.state).toBe('Failed');
    expect(create?.fix).toBe(`GRANT CREATE ON DATABASE "${db}" TO "${role}";`);
    const [owner] = byCode(out, '603930');
    expect(owner?.state).toBe('Failed');
    expect(owner?.message).toContain('"public"."accounts", "public"."events"');
    expect(owner?.fix).toContain(`GRANT "${ownerRole}" TO "${role}";`);
    expect(allowsMigration(out.details)).toBe(false);

    // The fixes as the findings name them: validation passes and the publication lists the tables.
    await sql(source, 'postgres', `GRANT CREATE ON DATABASE "${db}" TO ${role}; GRANT ${ownerRole} TO ${role}`);
    const fixed = await validateMigration(request({ databases: [db], source: login }));
    expect(byCode(fixed, '603929')).toEqual([]);
    expect(byCode(fixed, '603930')).toEqual([]);
    expect(itemState(fixed, 'SchemaValidation', db)).not.toBe('Failed');
    const published = await withClient({ ...login, database: db }, 5000, async (c) => {
      await ensureSlot(c, slot, { plugin: 'pgoutput' });
      return (await c.query<{ t: string; all: boolean }>(
        `SELECT t.schemaname || '.' || t.tablename AS t, p.puballtables AS all FROM pg_publication p JOIN pg_publication_tables t USING (pubname) WHERE p.pubname = $1 ORDER BY 1`, [slot])).rows;
    });
    expect(published).toEqual([{ t: 'public.accounts', all: false }, { t: 'public.events', all: false }]);
  });
});

describe('versions and extensions across majors', () => {
  let pg17: Cluster;
  beforeAll(async () => {
    pg17 = await startCluster({ major: 17, label: 'v17', logical: true });
  });
  afterAll(async () => pg17?.stop());

  it('an extension the target lacks fails with 603108; 15 → 17 passes the version check', async () => {
    const db = await cleanDatabase('vext');
    await sql(source, db, 'CREATE EXTENSION old_snapshot');
    await sql(pg17.info, 'postgres', `CREATE ROLE ${ownerRole} NOLOGIN`);
    const out = await validateMigration(request({ databases: [db], target: endpointOf(pg17.info) }));
    expect(itemState(out, 'SourceVersionValidation')).toBe('Succeeded');
    const [m] = byCode(out, '603108');
    expect(m).toMatchObject({ state: 'Failed' });
    expect(m?.message).toContain('old_snapshot');
    expect(m?.fix).toContain('DROP EXTENSION "old_snapshot"');
    expect(itemState(out, 'ExtensionsValidation', db)).toBe('Failed');
  });

  it('a target older than the source fails with 603901 (no downgrade)', async () => {
    const out = await validateMigration(request({ databases: ['postgres'], source: endpointOf(pg17.info) }));
    const [m] = byCode(out, '603901');
    expect(m?.state).toBe('Failed');
    expect(m?.message).toContain('Target major version 15 is lower than the source major version 17');
  });

  it('an extension that needs shared_preload_libraries fails with 603109 when the target lacks it', async () => {
    const db = await cleanDatabase('vpreload');
    await sql(source, db, 'CREATE EXTENSION pg_stat_statements');
    const out = await validateMigration(request({ databases: [db] }));
    const [m] = byCode(out, '603109');
    expect(m?.state).toBe('Failed');
    expect(m?.message).toBe('Extension pg_stat_statements needs pg_stat_statements in shared_preload_libraries on the target');
  });
});

describe('schema', () => {
  it('a table without primary key or replica identity fails Online with the exact ALTER TABLE fix', async () => {
    const db = await cleanDatabase('vnopk', `
      CREATE TABLE public."Audit Log" (at timestamptz, msg text);
      CREATE TABLE public.wide (a int, b text); ALTER TABLE public.wide REPLICA IDENTITY FULL;`);
    const out = await validateMigration(request({ databases: [db] }));
    const [m] = byCode(out, '603916');
    expect(m?.state).toBe('Failed');
    expect(m?.message).toContain('"public"."Audit Log"');
    expect(m?.message).not.toContain('"public"."wide"');
    expect(m?.fix).toBe('Add a primary key, or run: ALTER TABLE "public"."Audit Log" REPLICA IDENTITY FULL;');
    expect(byCode(out, '603918')[0]).toMatchObject({ state: 'Warning' });
    expect(itemState(out, 'SchemaValidation', db)).toBe('Failed');
    expect(out.details.status).toBe('Failed');

    const offline = await validateMigration(request({ databases: [db], mode: 'Offline' }));
    expect(byCode(offline, '603917')[0]?.state).toBe('Warning');
    expect(itemState(offline, 'SchemaValidation', db)).toBe('Warning');
  });

  it('wal2json with keyless REPLICA IDENTITY FULL tables holding float or numeric columns warns up front (603931), naming tables, columns and the fixes', async () => {
    const db = await cleanDatabase('vw2jfloat', `
      CREATE TABLE public."Order Lines" (sku text, qty float4, price numeric); ALTER TABLE public."Order Lines" REPLICA IDENTITY FULL;
      CREATE TABLE public.readings (at timestamptz, v double precision); ALTER TABLE public.readings REPLICA IDENTITY FULL;
      CREATE TABLE public.notes (at timestamptz, body text); ALTER TABLE public.notes REPLICA IDENTITY FULL;
      CREATE TABLE public.keyed (id int PRIMARY KEY, v float8); ALTER TABLE public.keyed REPLICA IDENTITY FULL;
      CREATE DOMAIN public.amount AS numeric; CREATE TABLE public.quoted (a public.amount); ALTER TABLE public.quoted REPLICA IDENTITY FULL;`);
    const w2j = await validateMigration(request({ databases: [db], decoder: 'wal2json' }));
    expect(w2j.plugin).toBe('wal2json');
    const [m, ...more] = byCode(w2j, '603931');
    expect(more).toEqual([]);
    expect(m?.state).toBe('Warning');
    // Keyed tables are matched by key, text columns are exact, a domain is printed quoted: only these two.
    expect(m?.message).toContain('2 table(s)');
    expect(m?.message).toContain('"public"."Order Lines" ("qty", "price"), "public"."readings" ("v")');
    expect(m?.fix).toContain('PGFERRY_DECODER=pgoutput');
    expect(m?.fix).toContain('ALTER TABLE "public"."Order Lines" ADD PRIMARY KEY');
    expect(itemState(w2j, 'SchemaValidation', db)).toBe('Warning');
    expect(allowsMigration(w2j.details)).toBe(true);
    // pgoutput is exact, and an Offline migration replays nothing: no warning.
    expect(byCode(await validateMigration(request({ databases: [db] })), '603931')).toEqual([]);
    expect(byCode(await validateMigration(request({ databases: [db], decoder: 'wal2json', mode: 'Offline' })), '603931')).toEqual([]);
  });

  it('base types and procedural languages the target lacks are reported; casts, large objects, missing roles warn', async () => {
    const ghost = `vghost_${suffix}`;
    await sql(source, 'postgres', `CREATE ROLE ${ghost} NOLOGIN`);
    const db = await cleanDatabase('vobj');
    cleanups.push(async () => {
      await sql(source, db, `DROP OWNED BY ${ghost}`).catch(() => undefined);
      await sql(source, 'postgres', `DROP ROLE IF EXISTS ${ghost}`);
    });
    await sql(source, db, `
      CREATE TYPE public.mytext;
      CREATE FUNCTION public.mytext_in(cstring) RETURNS public.mytext AS 'textin' LANGUAGE internal IMMUTABLE STRICT;
      CREATE FUNCTION public.mytext_out(public.mytext) RETURNS cstring AS 'textout' LANGUAGE internal IMMUTABLE STRICT;
      CREATE TYPE public.mytext (INPUT = public.mytext_in, OUTPUT = public.mytext_out, LIKE = text);
      CREATE FUNCTION public.to_int(public.accounts) RETURNS int LANGUAGE sql AS 'SELECT 1';
      CREATE CAST (public.accounts AS int) WITH FUNCTION public.to_int(public.accounts);
      SELECT lo_from_bytea(0, 'hello'::bytea);
      GRANT SELECT ON public.accounts TO ${ghost};`);
    const out = await validateMigration(request({ databases: [db] }));
    expect(byCode(out, '603919')[0]?.message).toContain('public.mytext');
    expect(byCode(out, '603919')[0]?.state).toBe('Failed');
    expect(byCode(out, '603409')[0]?.state).toBe('Warning');
    expect(byCode(out, '603922')[0]?.message).toContain('1 large object(s)');
    expect(byCode(out, '603920')[0]?.message).toContain(ghost);
    const withRoles = await validateMigration(request({ databases: [db], migrateRoles: true }));
    expect(byCode(withRoles, '603920')).toEqual([]);
    expect(byCode(withRoles, '603928')[0]).toMatchObject({ state: 'Succeeded' });
    expect(byCode(withRoles, '603928')[0]?.message).toContain(ghost);
  });
});

describe('databases on both sides', () => {
  it('a database missing on the source fails with 603102', async () => {
    const out = await validateMigration(request({ databases: [`nosuchdb_${suffix}`] }));
    const [m] = byCode(out, '603102');
    expect(m?.state).toBe('Failed');
    expect(m?.fix).toContain('case-sensitive');
  });

  it('a non-empty target database warns with 603101 (the migration will wait for overwrite confirmation) unless overwriteDbsInTarget is True', async () => {
    const db = await cleanDatabase('vexists');
    await createTestDatabase(target, 'unused', db);
    cleanups.push(() => dropTestDatabase(target, db));
    await sql(target, db, 'CREATE TABLE leftover (id int)');
    const out = await validateMigration(request({ databases: [db] }));
    const [m] = byCode(out, '603101');
    // Azure's service waits in WaitingForTargetDBOverwriteConfirmation rather than failing.
    expect(m?.state).toBe('Warning');
    expect(out.details.status).not.toBe('Failed');
    expect(m?.message).toContain('1 relation(s)');
    expect(m?.message).toContain('WaitingForTargetDBOverwriteConfirmation');
    expect(m?.fix).toContain('overwriteDbsInTarget');
    const over = await validateMigration(request({ databases: [db], overwriteDbsInTarget: true }));
    expect(byCode(over, '603910')[0]?.state).toBe('Warning');
    expect(byCode(over, '603101')).toEqual([]);
  });

  it('a target login without CREATEDB fails with 603911 when the database must be created', async () => {
    const db = await cleanDatabase('vnocreatedb');
    const role = `vnocreate_${suffix}`;
    await sql(target, 'postgres', `CREATE ROLE ${role} LOGIN PASSWORD 'nocreate-pw'`);
    cleanups.push(() => sql(target, 'postgres', `DROP ROLE IF EXISTS ${role}`));
    const out = await validateMigration(request({ databases: [db], target: endpointOf(target, { user: role, password: 'nocreate-pw', sslMode: 'Require' }) }));
    const [m] = byCode(out, '603911');
    expect(m?.state).toBe('Failed');
    expect(m?.fix).toBe(`ALTER ROLE "${role}" CREATEDB; or create the database on the target first, owned by "${role}"`);
  });

  it('an existing target database with another encoding fails with 603914', async () => {
    const db = await cleanDatabase('venc');
    await sql(target, 'postgres', `CREATE DATABASE "${db}" TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'`);
    cleanups.push(() => dropTestDatabase(target, db));
    const out = await validateMigration(request({ databases: [db] }));
    const [m] = byCode(out, '603914');
    expect(m?.state).toBe('Failed');
    expect(m?.message).toBe(`Target database ${db} exists with encoding LATIN1, the source uses UTF8`);
    // Not empty, it is replaced before the copy (after the overwrite confirmation): its encoding does not matter.
    await sql(target, db, 'CREATE TABLE leftover (id int)');
    const again = await validateMigration(request({ databases: [db] }));
    expect(byCode(again, '603914')).toEqual([]);
    expect(byCode(again, '603101')[0]?.state).toBe('Warning');
  });

  it('an existing but empty target database is accepted', async () => {
    const db = await cleanDatabase('vempty');
    await createTestDatabase(target, 'unused', db);
    cleanups.push(() => dropTestDatabase(target, db));
    const out = await validateMigration(request({ databases: [db] }));
    expect(itemState(out, 'DatabaseValidation', db)).toBe('Succeeded');
    expect(byCode(out, '603926')[0]?.message).toContain('exists and is empty');
  });
});

describe('collations', () => {
  let localeSource: Cluster;
  let locDir: string;
  beforeAll(async () => {
    // A locale only the source server has: compiled into a private LOCPATH given to that server alone.
    locDir = mkdtempSync(join(tmpdir(), 'pgferry-locales-'));
    chmodSync(locDir, 0o755);
    execFileSync('localedef', ['-i', 'de_DE', '-f', 'UTF-8', join(locDir, 'de_DE.UTF-8')]);
    localeSource = await startCluster({ label: 'vlocale', logical: true, env: { LOCPATH: locDir } });
  });
  afterAll(async () => {
    await localeSource?.stop();
    rmSync(locDir, { recursive: true, force: true });
  });

  it('a database locale and a column collation the target lacks fail with 603401 and 603402', async () => {
    const s: ServerInfo = localeSource.info;
    const db = `vcoll_${suffix}`;
    await sql(s, 'postgres', `CREATE DATABASE ${db} TEMPLATE template0 LC_COLLATE 'de_DE.UTF-8' LC_CTYPE 'de_DE.UTF-8'`);
    await sql(s, db, `
      CREATE COLLATION public.german (locale = 'de_DE.UTF-8');
      CREATE TABLE public.names (id int PRIMARY KEY, n text COLLATE public.german);`);
    const out = await validateMigration(request({ databases: [db], source: endpointOf(s) }));
    expect(itemState(out, 'CollationsValidation', db)).toBe('Failed');
    expect(byCode(out, '603401').map((m) => m.message)).toEqual([
      `Database ${db} uses locale de_DE.UTF-8 (LC_COLLATE), which the target server does not have`,
      `Database ${db} uses locale de_DE.UTF-8 (LC_CTYPE), which the target server does not have`,
    ]);
    expect(byCode(out, '603402')[0]?.message).toContain('"public"."german"');
    expect(byCode(out, '603402')[0]?.message).toContain('public.names.n');
    expect(byCode(out, '603403')[0]?.state).toBe('Warning');
  });
});
