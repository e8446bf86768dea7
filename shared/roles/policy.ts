/**
 * Which roles pgferry leaves to the target, and which attributes the target login may grant.
 * Pure rules, so they can be read (and tested) in one place.
 */
import type { Attribute, LoginPowers } from './catalog';
import { quoteIdent } from '../pg/ident';

export interface ReservedContext {
  sourceLogin: string;
  targetLogin: string;
  /** The source's bootstrap superuser (oid 10), e.g. postgres. */
  sourceBootstrap?: string;
}

/** Provider roles by prefix or name: they exist per service and mean nothing elsewhere. */
const PROVIDER_ROLES: Array<[RegExp, string]> = [
  [/^pg_/, 'a predefined role (pg_*)'],
  [/^azure_|^azuresu$/, 'an Azure provider role'],
  [/^rds/, 'an Amazon RDS provider role'],
  [/^(cloudsql|alloydb)/, 'a Google Cloud provider role'],
];

/** Why a source role is not migrated, or null when it is. */
export function reservedReason(name: string, ctx: ReservedContext): string | null {
  for (const [pattern, why] of PROVIDER_ROLES) if (pattern.test(name)) return why;
  if (name === ctx.sourceLogin) return 'the source login of this migration';
  if (name === ctx.targetLogin) return 'the target login of this migration';
  if (name === ctx.sourceBootstrap) return "the source's bootstrap superuser";
  return null;
}

/**
 * Why the target login cannot give a role `attr`, or null when it can. A superuser can give
 * anything. A CREATEROLE login cannot give SUPERUSER; before PostgreSQL 16 it cannot give
 * REPLICATION or BYPASSRLS either, and from 16 it gives REPLICATION, BYPASSRLS and CREATEDB only
 * when it has them itself.
 */
export function refusalOf(attr: Attribute, login: LoginPowers, targetVersionNum: number): string | null {
  if (login.superuser) return null;
  const own = { REPLICATION: login.replication, BYPASSRLS: login.bypassrls, CREATEDB: login.createdb } as const;
  switch (attr) {
    case 'SUPERUSER':
      return 'the target login is not a superuser (a managed server has none), so it cannot create superusers';
    case 'REPLICATION':
    case 'BYPASSRLS':
      if (targetVersionNum < 160000) return `only a superuser can grant ${attr} before PostgreSQL 16`;
      return own[attr] ? null : `the target login does not have ${attr} itself, so it cannot grant it`;
    case 'CREATEDB':
      return targetVersionNum >= 160000 && !own.CREATEDB ? 'the target login does not have CREATEDB itself, so it cannot grant it' : null;
    default:
      return null;
  }
}

/** What a DBA can do instead of a refused attribute. */
export function refusalFix(attr: Attribute, role: string, targetRoles: ReadonlySet<string>): string {
  const r = quoteIdent(role);
  if (attr === 'SUPERUSER') {
    if (targetRoles.has('azure_pg_admin')) return `The closest on Azure: GRANT azure_pg_admin TO ${r};`;
    return `Grant the role the privileges it needs on the target, or as a superuser: ALTER ROLE ${r} WITH SUPERUSER;`;
  }
  return `As a login that may grant it: ALTER ROLE ${r} WITH ${attr};`;
}

/** A login may create roles at all. */
export function canCreateRoles(login: LoginPowers): boolean {
  return login.superuser || login.createrole;
}
