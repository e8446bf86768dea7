/**
 * fallbackAfterCutover's validation against real clusters: the source login must be able to write
 * every table, keep triggers and referential actions from firing on the changes written back,
 * and record its replay position; each missing piece is a Failed finding with the GRANT that fixes
 * it, and granting it turns the report Succeeded. (The target's side is pure: test/unit.)
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it, inject } from 'vitest';
import { validateMigration, flattenMessages, type ValidationOutcome } from '../../shared/validate';
import { createTestDatabase, dropTestDatabase, sql } from '../support/databases';
import { endpointOf } from '../support/endpoints';

const source = inject('source');
const target = inject('target');
const login = `fbv_${randomBytes(3).toString('hex')}`;
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

const codes = (out: ValidationOutcome, db: string) => flattenMessages(out.details).filter((m) => m.database === db || m.database === undefined);
const byCode = (out: ValidationOutcome, db: string, code: string) => codes(out, db).filter((m) => m.code === code);

async function validate(db: string, user?: string) {
  return validateMigration({
    source: endpointOf(source, user ? { user, password: 'fbv-pw' } : {}),
    target: endpointOf(target, { sslMode: 'Require' }),
    databases: [db], mode: 'Online', overwriteDbsInTarget: true, timeoutMs: 5000,
    fallbackAfterCutover: true, targetServerName: 'myflex',
  });
}

describe('fallbackAfterCutover validation', () => {
  it('a superuser on both sides passes: the target allows logical decoding, the source login can write every table', async () => {
    const db = await createTestDatabase(source, 'fbv_ok');
    cleanups.push(() => dropTestDatabase(source, db));
    await sql(source, db, `CREATE TABLE t (id int PRIMARY KEY); CREATE TABLE c (id int PRIMARY KEY, t int REFERENCES t ON DELETE CASCADE)`);
    const out = await validate(db);
    expect(byCode(out, db, '603964')[0]?.message).toMatch(/^Fallback after cutover: the target allows logical decoding \(wal_level=logical/);
    expect(byCode(out, db, '603969')[0]?.message).toMatch(/can write the 2 table\(s\) of .* with triggers held by session_replication_role = replica$/);
    expect(codes(out, db).filter((m) => m.state === 'Failed')).toEqual([]);
  }, 60_000);

  it('a login that can only read is told each GRANT it needs; granting them passes', async () => {
    const db = await createTestDatabase(source, 'fbv_limited');
    cleanups.push(() => dropTestDatabase(source, db));
    await sql(source, 'postgres', `CREATE ROLE ${login} LOGIN REPLICATION PASSWORD 'fbv-pw'`);
    cleanups.push(() => sql(source, 'postgres', `DROP OWNED BY ${login}; DROP ROLE IF EXISTS ${login}`).catch(() => sql(source, db, `DROP OWNED BY ${login}`).then(() => sql(source, 'postgres', `DROP ROLE IF EXISTS ${login}`))));
    await sql(source, db, `
      REVOKE CREATE ON DATABASE "${db}" FROM PUBLIC; REVOKE CREATE ON SCHEMA public FROM PUBLIC;
      CREATE TABLE t (id int PRIMARY KEY, v text);
      CREATE TABLE c (id int PRIMARY KEY, t int REFERENCES t ON DELETE CASCADE);
      CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.v := 'stamped'; RETURN NEW; END $$;
      CREATE TRIGGER t_stamp BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION stamp();
      GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${login};`);
    const out = await validate(db, login);
    expect(byCode(out, db, '603965')[0]).toMatchObject({ state: 'Failed', message: expect.stringMatching(/cannot write 2 table\(s\) .*"public"\."c" \(INSERT, UPDATE, DELETE, TRUNCATE\)/), fix: `GRANT INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA "public" TO "${login}";` });
    expect(byCode(out, db, '603966')[0]).toMatchObject({ state: 'Failed', message: expect.stringMatching(/cannot use session_replication_role = replica .* 1 table\(s\) .*"public"\."t"/), fix: expect.stringMatching(/^GRANT SET ON PARAMETER session_replication_role TO/) });
    expect(byCode(out, db, '603967')[0]).toMatchObject({ state: 'Failed', message: expect.stringMatching(/1 foreign key\(s\) .*c_t_fkey on public\.c/) });
    expect(byCode(out, db, '603968')[0]).toMatchObject({ state: 'Failed', fix: `GRANT CREATE ON DATABASE "${db}" TO "${login}";` });
    expect(byCode(out, db, '603969')).toEqual([]);

    await sql(source, db, `GRANT INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public TO ${login}; GRANT CREATE ON DATABASE "${db}" TO ${login}`);
    await sql(source, 'postgres', `GRANT SET ON PARAMETER session_replication_role TO ${login}`);
    cleanups.push(() => sql(source, 'postgres', `REVOKE SET ON PARAMETER session_replication_role FROM ${login}`));
    const fixed = await validate(db, login);
    expect(codes(fixed, db).filter((m) => m.code >= '603965' && m.code <= '603968')).toEqual([]);
    expect(byCode(fixed, db, '603969')[0]?.message).toMatch(/with triggers held by session_replication_role = replica/);
  }, 60_000);
});
