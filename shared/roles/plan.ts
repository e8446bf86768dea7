/**
 * From both clusters' roles to what to do on the target: one decision per source role (create,
 * leave alone because it exists, or skip because it is reserved) and the statements that create
 * roles, their memberships, settings, comments and parameter privileges. Pure, and free of
 * secrets: a password is a `password` statement naming its role; the verifier is looked up only
 * when it runs (apply.ts).
 */
import { quoteIdent } from '../pg/ident';
import { ATTRIBUTES, type Attribute, type ClusterRoles, type MembershipRow, type RoleRow } from './catalog';
import { canCreateRoles, refusalFix, refusalOf, reservedReason } from './policy';
import { quoteGucName, quoteLiteral, setClause } from './sql';

export type PasswordFate =
  /** A SCRAM verifier goes over as it is. */
  | 'copy'
  /** An MD5 verifier goes over; a SCRAM-only target refuses it at login. */
  | 'copy-md5'
  /** The source role has no password. */
  | 'none'
  /** The source login cannot read pg_authid (superuser only). */
  | 'unreadable'
  /** A stored value that is not a verifier (plain text from before PostgreSQL 10). */
  | 'unsupported'
  /** The role exists on the target; its password is not touched. */
  | 'kept';

export interface Refusal {
  attribute: Attribute;
  why: string;
  fix: string;
}

export interface RoleDecision {
  name: string;
  action: 'create' | 'exists' | 'skip';
  /** Why a role is skipped. */
  reason?: string;
  /** Attributes the source role has that the target login cannot give. */
  refused: Refusal[];
  password: PasswordFate;
  /** For an existing role: how it differs from the source's (within what the target allows). */
  differences: string[];
  /** For an existing role that differs: the ALTER ROLE that aligns it. */
  align?: string;
  login: boolean;
}

export type StatementKind = 'create' | 'password' | 'self-grant' | 'comment' | 'setting' | 'membership' | 'parameter';

export interface Statement {
  kind: StatementKind;
  /** The SQL; empty for `password`, whose text is built from the verifier at run time. */
  sql: string;
  /** What it does, in words, for the report. */
  what: string;
  /** Roles this migration creates that the statement needs: it is skipped if one failed. */
  needs: string[];
  /** The role the statement is about. */
  role: string;
}

export interface SkippedMembership {
  role: string;
  member: string;
  why: string;
}

export interface RolePlan {
  decisions: RoleDecision[];
  statements: Statement[];
  /** Statements that shape the session before the others (in the same transaction). */
  setup: string[];
  /** Roles the target login is made a member of, so the schema phase can give them objects. */
  selfGrants: string[];
  skippedMemberships: SkippedMembership[];
  /** Roles must be created but the target login may not (no CREATEROLE, not a superuser). */
  cannotCreate: boolean;
  targetLogin: string;
  /** The target login is a superuser: statements carrying verifiers are kept out of its logs. */
  quietLogs: boolean;
}

export interface PlanInput {
  source: ClusterRoles;
  target: ClusterRoles;
  /** Source verifiers by role; null when the source login cannot read them. */
  verifiers: ReadonlyMap<string, string> | null;
  /** Target verifiers (a superuser target), to tell whether an existing role's password matches. */
  targetVerifiers?: ReadonlyMap<string, string> | null;
}

export function planRoles(input: PlanInput): RolePlan {
  const { source, target } = input;
  const login = target.login;
  const targetByName = new Map(target.roles.map((r) => [r.name, r]));
  const targetNames = new Set(targetByName.keys());
  const bootstrap = source.roles.find((r) => r.bootstrap)?.name;
  const reservedCtx = { sourceLogin: source.login.name, targetLogin: login.name, ...(bootstrap ? { sourceBootstrap: bootstrap } : {}) };

  const decisions = source.roles.map((r): RoleDecision => {
    const reason = reservedReason(r.name, reservedCtx);
    const base = { name: r.name, refused: [] as Refusal[], differences: [] as string[], login: r.attributes.LOGIN };
    if (reason) return { ...base, action: 'skip', reason, password: 'kept' };
    const refused = ATTRIBUTES.filter((a) => r.attributes[a])
      .flatMap((a) => {
        const why = refusalOf(a, login, target.versionNum);
        return why ? [{ attribute: a, why, fix: refusalFix(a, r.name, targetNames) }] : [];
      });
    const existing = targetByName.get(r.name);
    if (existing) {
      const diff = differences(r, existing, new Set(refused.map((x) => x.attribute)), input);
      return { ...base, action: 'exists', refused, password: 'kept', differences: diff.list, ...(diff.align ? { align: diff.align } : {}) };
    }
    return { ...base, action: 'create', refused, password: passwordFate(r.name, input.verifiers) };
  });

  const created = new Set(decisions.filter((d) => d.action === 'create').map((d) => d.name));
  const byName = new Map(source.roles.map((r) => [r.name, r]));
  const statements: Statement[] = [];
  const setup: string[] = [];
  const selfGrants: string[] = [];
  const selfGrantAll = !login.superuser && created.size > 0;
  // From 16 a CREATEROLE login gets ADMIN on what it creates; this adds SET and INHERIT, which
  // ALTER … OWNER TO and ALTER DEFAULT PRIVILEGES FOR ROLE need.
  if (selfGrantAll && target.versionNum >= 160000) setup.push(`SET LOCAL createrole_self_grant = 'set, inherit'`);

  for (const d of decisions) {
    if (d.action !== 'create') continue;
    const r = byName.get(d.name) as RoleRow;
    const refused = new Set(d.refused.map((x) => x.attribute));
    const q = quoteIdent(d.name);
    statements.push({ kind: 'create', sql: createRole(r, refused), what: `create role ${q}`, needs: [], role: d.name });
    if (d.password === 'copy' || d.password === 'copy-md5') {
      statements.push({ kind: 'password', sql: '', what: `copy the password verifier of ${q}`, needs: [d.name], role: d.name });
    }
    if (selfGrantAll) {
      selfGrants.push(d.name);
      if (target.versionNum < 160000) {
        statements.push({ kind: 'self-grant', sql: `GRANT ${q} TO ${quoteIdent(login.name)}`, what: `make ${quoteIdent(login.name)} a member of ${q}`, needs: [d.name], role: d.name });
      }
    }
    if (r.comment !== null) {
      statements.push({ kind: 'comment', sql: `COMMENT ON ROLE ${q} IS ${quoteLiteral(r.comment)}`, what: `comment on ${q}`, needs: [d.name], role: d.name });
    }
  }

  for (const s of source.settings) {
    if (!created.has(s.role)) continue;
    for (const element of s.settings) {
      const { name, clause } = setClause(element);
      statements.push({ kind: 'setting', sql: `ALTER ROLE ${quoteIdent(s.role)} ${clause}`, what: `setting ${name} of ${quoteIdent(s.role)}`, needs: [s.role], role: s.role });
    }
  }

  const skippedMemberships: SkippedMembership[] = [];
  const targetMembers = new Map(target.memberships.map((m) => [`${m.role}\u0000${m.member}`, m]));
  const decisionOf = new Map(decisions.map((d) => [d.name, d]));
  for (const m of source.memberships) {
    const g = decisionOf.get(m.role);
    const mem = decisionOf.get(m.member);
    if (!g || !mem || mem.action === 'skip') continue;
    if (!created.has(m.role) && !created.has(m.member)) continue;
    if (g.action === 'skip' && !(m.role.startsWith('pg_') && targetNames.has(m.role))) {
      skippedMemberships.push({ role: m.role, member: m.member, why: g.reason ?? 'not migrated' });
      continue;
    }
    const have = targetMembers.get(`${m.role}\u0000${m.member}`);
    if (have && (have.admin || !m.admin)) continue;
    statements.push({
      kind: 'membership',
      sql: grantMembership(m, source.versionNum, target.versionNum),
      what: `grant ${quoteIdent(m.role)} to ${quoteIdent(m.member)}${m.admin ? ' with admin option' : ''}`,
      needs: [m.role, m.member].filter((x) => created.has(x)),
      role: m.member,
    });
  }

  if (target.versionNum >= 150000) {
    for (const p of source.parameterGrants) {
      if (p.grantee === null || !created.has(p.grantee)) continue;
      const sql = `GRANT ${p.privilege} ON PARAMETER ${quoteGucName(p.parameter)} TO ${quoteIdent(p.grantee)}${p.grantable ? ' WITH GRANT OPTION' : ''}`;
      statements.push({ kind: 'parameter', sql, what: `grant ${p.privilege} on parameter ${p.parameter} to ${quoteIdent(p.grantee)}`, needs: [p.grantee], role: p.grantee });
    }
  }

  return {
    decisions,
    statements,
    setup,
    selfGrants,
    skippedMemberships,
    cannotCreate: created.size > 0 && !canCreateRoles(login),
    targetLogin: login.name,
    quietLogs: login.superuser,
  };
}

function passwordFate(role: string, verifiers: ReadonlyMap<string, string> | null): PasswordFate {
  if (verifiers === null) return 'unreadable';
  const v = verifiers.get(role);
  if (v === undefined) return 'none';
  if (isScramVerifier(v)) return 'copy';
  if (isMd5Verifier(v)) return 'copy-md5';
  return 'unsupported';
}

export function isScramVerifier(v: string): boolean {
  return /^SCRAM-SHA-256\$\d+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/.test(v);
}

export function isMd5Verifier(v: string): boolean {
  return /^md5[0-9a-f]{32}$/.test(v);
}

/** CREATE ROLE with every attribute spelled out (as pg_dumpall does), refused ones as NO…. */
export function createRole(r: RoleRow, refused: ReadonlySet<Attribute>): string {
  const attrs = ATTRIBUTES.map((a) => (r.attributes[a] && !refused.has(a) ? a : `NO${a}`));
  const limit = r.connectionLimit >= 0 ? ` CONNECTION LIMIT ${Math.trunc(r.connectionLimit)}` : '';
  const until = r.validUntil !== null ? ` VALID UNTIL ${quoteLiteral(r.validUntil)}` : '';
  return `CREATE ROLE ${quoteIdent(r.name)} WITH ${attrs.join(' ')}${limit}${until}`;
}

/** GRANT role TO member, with the options the target understands. */
export function grantMembership(m: MembershipRow, sourceVersionNum: number, targetVersionNum: number): string {
  const head = `GRANT ${quoteIdent(m.role)} TO ${quoteIdent(m.member)}`;
  if (targetVersionNum < 160000) return m.admin ? `${head} WITH ADMIN OPTION` : head;
  const options: string[] = [];
  if (m.admin) options.push('ADMIN OPTION');
  // Before 16 inheritance followed the member's INHERIT attribute, which is also 16's default.
  if (sourceVersionNum >= 160000 && m.inherit !== null) options.push(`INHERIT ${m.inherit ? 'TRUE' : 'FALSE'}`);
  if (sourceVersionNum >= 160000 && m.set === false) options.push('SET FALSE');
  return options.length > 0 ? `${head} WITH ${options.join(', ')}` : head;
}

/** How an existing target role differs from the source's, and the ALTER ROLE that would align it. */
function differences(src: RoleRow, tgt: RoleRow, refused: ReadonlySet<Attribute>, input: PlanInput): { list: string[]; align?: string } {
  const list: string[] = [];
  const fixes: string[] = [];
  for (const a of ATTRIBUTES) {
    const want = src.attributes[a] && !refused.has(a);
    if (want !== tgt.attributes[a]) {
      list.push(`${want ? a : `NO${a}`} on the source, ${tgt.attributes[a] ? a : `NO${a}`} on the target`);
      fixes.push(want ? a : `NO${a}`);
    }
  }
  if (src.connectionLimit !== tgt.connectionLimit) {
    list.push(`connection limit ${src.connectionLimit} on the source, ${tgt.connectionLimit} on the target`);
    fixes.push(`CONNECTION LIMIT ${Math.trunc(src.connectionLimit)}`);
  }
  if (src.validUntil !== tgt.validUntil) {
    list.push(`valid until ${src.validUntil ?? 'always'} on the source, ${tgt.validUntil ?? 'always'} on the target`);
    fixes.push(`VALID UNTIL ${quoteLiteral(src.validUntil ?? 'infinity')}`);
  }
  const sv = input.verifiers?.get(src.name);
  const tv = input.targetVerifiers?.get(src.name);
  if (input.verifiers && input.targetVerifiers && sv !== tv) list.push('the password differs');
  return fixes.length > 0 ? { list, align: `ALTER ROLE ${quoteIdent(src.name)} WITH ${fixes.join(' ')};` } : { list };
}
