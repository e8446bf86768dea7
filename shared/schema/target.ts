/** What extraction needs to know about the target: its version, its roles, its extensions. */
import type { ClientBase } from 'pg';

export interface TargetFacts {
  targetVersionNum: number;
  targetRoles: string[];
  /** Extension → versions it can install (pg_available_extension_versions). */
  targetExtensions: Map<string, string[]>;
  /** Names of the built-in (pg_catalog) collations, which depend on the target's OS and ICU. */
  targetCollations: string[];
}

export async function readTargetFacts(client: ClientBase): Promise<TargetFacts> {
  const version = await client.query<{ v: string }>(`SELECT pg_catalog.current_setting('server_version_num') AS v`);
  const roles = await client.query<{ name: string }>('SELECT rolname AS name FROM pg_catalog.pg_roles');
  const exts = await client.query<{ name: string; versions: string[] }>(
    'SELECT name, array_agg(version ORDER BY version) AS versions FROM pg_catalog.pg_available_extension_versions GROUP BY name',
  );
  const colls = await client.query<{ name: string }>(
    `SELECT collname AS name FROM pg_catalog.pg_collation WHERE collnamespace = 'pg_catalog'::pg_catalog.regnamespace`,
  );
  return {
    targetVersionNum: Number(version.rows[0]?.v),
    targetRoles: roles.rows.map((r) => r.name),
    targetExtensions: new Map(exts.rows.map((r) => [r.name, r.versions])),
    targetCollations: colls.rows.map((r) => r.name),
  };
}
