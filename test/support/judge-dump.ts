/**
 * The judge's second reading of the schema, where it can have one: `pg_dump -s` of both sides by
 * the machine's pg_dump 15, which reads servers up to 15 only, and only between servers of one
 * major: a dump's text depends on the major it read (14 writes a range's multirange name, 15 gave
 * schema public other default rights), so across majors the catalog facts judge alone. A dump names everything pgferry
 * could miss that the catalog facts leave out (statistics objects, publications, comments on every
 * kind of object, ALTER DEFAULT PRIVILEGES …), in the words a DBA would diff.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ServerInfo } from './cluster';

const run = promisify(execFile);

/** The pg_dump that reads servers up to its own major. */
export const PG_DUMP = '/usr/lib/postgresql/15/bin/pg_dump';
export const PG_DUMP_MAJOR = 15;

/** Whether the dumps of these two servers can be compared as text. */
export function dumpsComparable(sourceMajor: number, targetMajor: number): boolean {
  return sourceMajor === targetMajor && sourceMajor <= PG_DUMP_MAJOR;
}

/**
 * A schema-only dump as its statements: comments, blank lines and the `\restrict` guard (a random
 * key per run since 15.14) dropped, whitespace runs made one space, and split on the statement end.
 */
export function dumpStatements(dump: string): string[] {
  const lines = dump
    .split('\n')
    .filter((l) => !l.startsWith('--') && !/^\\(un)?restrict\b/.test(l) && l.trim() !== '');
  return `${lines.join('\n')}\n`
    .split(/;\n/)
    .map((s) => s.replace(/\s+/g, ' ').trim())
    .filter((s) => s !== '');
}

/**
 * `pg_dump -s` of a database, as statements (dumpStatements). Its session has
 * standard_conforming_strings on whatever the server's default: pg_dump writes literals (and a
 * SET line) in the server's style, which is a session setting, not schema.
 */
export async function dumpSchema(server: ServerInfo, db: string): Promise<string[]> {
  const env = { ...process.env, PGHOST: server.host, PGPORT: String(server.port), PGUSER: server.user, PGPASSWORD: server.password, PGSSLMODE: 'prefer', PGOPTIONS: '-c standard_conforming_strings=on' };
  const { stdout } = await run(PG_DUMP, ['--schema-only', '--no-sync', '--encoding=UTF8', '--exclude-schema=pgferry_meta', '--exclude-schema=pgferry_cdc', '-d', db], { env, maxBuffer: 256 * 1024 * 1024 });
  return dumpStatements(stdout);
}
