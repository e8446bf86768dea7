/** Role migration rules without a server: reserved roles, refusals per target, plan statements, SQL text. */
import { describe, expect, it } from 'vitest';
import type { ClusterRoles, LoginPowers, RoleRow } from '../../shared/roles/catalog';
import { planRoles, createRole, grantMembership, isScramVerifier } from '../../shared/roles/plan';
import { refusalOf, reservedReason } from '../../shared/roles/policy';
import { roleMessages } from '../../shared/roles/report';
import { quoteLiteral, setClause, splitGucList } from '../../shared/roles/sql';

const NONE = { SUPERUSER: false, INHERIT: true, CREATEROLE: false, CREATEDB: false, LOGIN: false, REPLICATION: false, BYPASSRLS: false };
const role = (name: string, attrs: Partial<typeof NONE> = {}, extra: Partial<RoleRow> = {}): RoleRow => ({
  name, bootstrap: false, attributes: { ...NONE, ...attrs }, connectionLimit: -1, validUntil: null, comment: null, ...extra,
});
const login = (name: string, p: Partial<LoginPowers> = {}): LoginPowers => ({ name, superuser: false, createrole: true, createdb: false, replication: false, bypassrls: false, ...p });
const cluster = (versionNum: number, me: LoginPowers, roles: RoleRow[], more: Partial<ClusterRoles> = {}): ClusterRoles => ({
  versionNum, login: me, roles: [role(me.name, { LOGIN: true, SUPERUSER: me.superuser }), ...roles], memberships: [], settings: [], parameterGrants: [], passwordEncryption: 'scram-sha-256', ...more,
});
const SCRAM = 'SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy';

describe('reserved roles', () => {
  it.each([
    ['pg_read_all_data', 'a predefined role (pg_*)'],
    ['azure_pg_admin', 'an Azure provider role'],
    ['azuresu', 'an Azure provider role'],
    ['rds_superuser', 'an Amazon RDS provider role'],
    ['cloudsqlsuperuser', 'a Google Cloud provider role'],
    ['migrator', 'the source login of this migration'],
    ['azureadmin', 'the target login of this migration'],
    ['postgres', "the source's bootstrap superuser"],
    ['app', null],
  ])('%s → %s', (name, why) => {
    expect(reservedReason(name, { sourceLogin: 'migrator', targetLogin: 'azureadmin', sourceBootstrap: 'postgres' })).toBe(why);
  });
});

describe('attributes a target login may give', () => {
  const cases: Array<[string, Partial<LoginPowers>, number, string, boolean]> = [
    ['superuser gives anything', { superuser: true }, 150000, 'SUPERUSER', true],
    ['CREATEROLE never gives SUPERUSER', {}, 170000, 'SUPERUSER', false],
    ['before 16 REPLICATION needs a superuser', { replication: true }, 150000, 'REPLICATION', false],
    ['from 16 REPLICATION when held', { replication: true }, 160000, 'REPLICATION', true],
    ['from 16 BYPASSRLS only when held', {}, 160000, 'BYPASSRLS', false],
    ['before 16 CREATEDB with CREATEROLE', {}, 150000, 'CREATEDB', true],
    ['from 16 CREATEDB only when held', {}, 160000, 'CREATEDB', false],
    ['LOGIN always', {}, 160000, 'LOGIN', true],
  ];
  it.each(cases)('%s', (_label, powers, version, attr, allowed) => {
    expect(refusalOf(attr as 'SUPERUSER', login('me', powers), version) === null).toBe(allowed);
  });
});

describe('planRoles', () => {
  const source = cluster(150000, login('postgres', { superuser: true }), [
    role('app', { LOGIN: true }, { connectionLimit: 5, validUntil: '2031-01-01 00:00:00+00', comment: "it's the app" }),
    role('boss', { SUPERUSER: true, LOGIN: true }),
    role('readers'),
    role('already'),
    role('rds_superuser'),
    role('pg_read_all_data'),
  ], {
    memberships: [
      { role: 'readers', member: 'app', admin: true, inherit: null, set: null },
      { role: 'pg_read_all_data', member: 'app', admin: false, inherit: null, set: null },
      { role: 'rds_superuser', member: 'boss', admin: false, inherit: null, set: null },
      { role: 'readers', member: 'already', admin: false, inherit: null, set: null },
    ],
    settings: [{ role: 'app', settings: ['search_path=app, "$user"', 'statement_timeout=30s'] }],
  });
  const target = cluster(150000, login('azureadmin'), [role('already'), role('pg_read_all_data'), role('azure_pg_admin')]);

  it('creates what is missing, leaves what exists, skips reserved roles, and never names a verifier', () => {
    const plan = planRoles({ source, target, verifiers: new Map([['app', SCRAM], ['boss', 'md5' + 'a'.repeat(32)]]) });
    expect(plan.decisions.map((d) => [d.name, d.action, d.password])).toEqual([
      ['postgres', 'skip', 'kept'], ['app', 'create', 'copy'], ['boss', 'create', 'copy-md5'], ['readers', 'create', 'none'], ['already', 'exists', 'kept'], ['rds_superuser', 'skip', 'kept'], ['pg_read_all_data', 'skip', 'kept'],
    ]);
    expect(plan.decisions.find((d) => d.name === 'boss')?.refused.map((r) => [r.attribute, r.fix])).toEqual([['SUPERUSER', 'The closest on Azure: GRANT azure_pg_admin TO "boss";']]);
    expect(plan.statements.map((s) => s.sql || `<${s.kind} ${s.role}>`)).toEqual([
      `CREATE ROLE "app" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 5 VALID UNTIL '2031-01-01 00:00:00+00'`,
      '<password app>',
      'GRANT "app" TO "azureadmin"',
      `COMMENT ON ROLE "app" IS 'it''s the app'`,
      'CREATE ROLE "boss" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS',
      '<password boss>',
      'GRANT "boss" TO "azureadmin"',
      'CREATE ROLE "readers" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS',
      'GRANT "readers" TO "azureadmin"',
      `ALTER ROLE "app" SET "search_path" TO 'app', '$user'`,
      `ALTER ROLE "app" SET "statement_timeout" TO '30s'`,
      'GRANT "readers" TO "app" WITH ADMIN OPTION',
      'GRANT "pg_read_all_data" TO "app"',
      'GRANT "readers" TO "already"',
    ]);
    expect(plan.skippedMemberships).toEqual([{ role: 'rds_superuser', member: 'boss', why: 'an Amazon RDS provider role' }]);
    expect(JSON.stringify(plan)).not.toContain('SCRAM-SHA-256$');
    const messages = roleMessages(plan, [], target);
    expect(messages.find((m) => m.code === '603943')?.message).toContain('"boss" has an MD5 password verifier');
    expect(JSON.stringify(messages)).not.toMatch(/SCRAM-SHA-256\$|md5a{32}/);
  });

  it('on 16+ asks createrole_self_grant instead of granting each role to the login', () => {
    const plan = planRoles({ source: { ...source, versionNum: 170000 }, target: { ...target, versionNum: 170000 }, verifiers: null });
    expect(plan.setup).toEqual([`SET LOCAL createrole_self_grant = 'set, inherit'`]);
    expect(plan.statements.filter((s) => s.kind === 'self-grant')).toEqual([]);
    expect(plan.decisions.filter((d) => d.password === 'unreadable').map((d) => d.name)).toEqual(['app', 'boss', 'readers']);
  });

  it('fails the step up front when the login cannot create roles', () => {
    expect(planRoles({ source, target: { ...target, login: login('azureadmin', { createrole: false }) }, verifiers: null }).cannotCreate).toBe(true);
  });

  it('reports how an existing role differs, with the ALTER ROLE that aligns it', () => {
    const t = cluster(150000, login('azureadmin'), [role('readers', { LOGIN: true }, { connectionLimit: 3 })]);
    const d = planRoles({ source, target: t, verifiers: null }).decisions.find((x) => x.name === 'readers');
    expect(d?.differences).toEqual(['NOLOGIN on the source, LOGIN on the target', 'connection limit -1 on the source, 3 on the target']);
    expect(d?.align).toBe('ALTER ROLE "readers" WITH NOLOGIN CONNECTION LIMIT -1;');
  });
});

describe('role SQL text', () => {
  it.each([
    ['plain', `'plain'`],
    [`it's`, `'it''s'`],
    ['back\\slash', `E'back\\\\slash'`],
  ])('quoteLiteral(%s) = %s', (v, out) => expect(quoteLiteral(v)).toBe(out));

  it.each([
    ['app, "$user", public', ['app', '$user', 'public']],
    ['"a ""b"" c",d', ['a "b" c', 'd']],
    ['""', ['']],
    ['', []],
  ])('splitGucList(%s)', (v, out) => expect(splitGucList(v)).toEqual(out));

  it('setClause quotes list settings per element and others whole', () => {
    expect(setClause('search_path=app, public').clause).toBe(`SET "search_path" TO 'app', 'public'`);
    expect(setClause('DateStyle=ISO, DMY').clause).toBe(`SET "DateStyle" TO 'ISO, DMY'`);
    expect(setClause('pg_stat_statements.track=all').clause).toBe(`SET "pg_stat_statements.track" TO 'all'`);
  });

  it('grantMembership keeps 16+ options only where both sides know them', () => {
    const m = { role: 'g', member: 'm', admin: true, inherit: false, set: false };
    expect(grantMembership(m, 170000, 170000)).toBe('GRANT "g" TO "m" WITH ADMIN OPTION, INHERIT FALSE, SET FALSE');
    expect(grantMembership({ ...m, inherit: null, set: null }, 150000, 170000)).toBe('GRANT "g" TO "m" WITH ADMIN OPTION');
    expect(grantMembership({ ...m, admin: false }, 150000, 150000)).toBe('GRANT "g" TO "m"');
  });

  it('createRole spells every attribute; only well-formed SCRAM verifiers pass', () => {
    expect(createRole(role('x', { SUPERUSER: true, REPLICATION: true }), new Set(['SUPERUSER']))).toBe('CREATE ROLE "x" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN REPLICATION NOBYPASSRLS');
    expect(isScramVerifier(SCRAM)).toBe(true);
    expect(isScramVerifier(`${SCRAM}'; DROP ROLE x; --`)).toBe(false);
  });
});
