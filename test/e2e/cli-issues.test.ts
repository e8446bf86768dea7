/**
 * The CLI points of issue #18, against the real service (offline host, real PostgreSQL): `list`
 * no longer says "No migrations." while finished ones exist, `cutover` on a Canceled migration
 * does not tell the user to retry, and `help create` shows a properties file that parses.
 * The CLI runs in process (cli/main) with its output captured.
 */
import { describe, expect, it, inject } from 'vitest';
import { http, useHost } from '../support/host';
import { migrationBody, migrationUrl, useDatabases, waitForState } from '../support/e2e';
import { main } from '../../cli/main';
import type { Io } from '../../cli/commands/context';

const source = inject('source');
const target = inject('target');
const host = useHost();
const dbs = useDatabases(source, target);

const FIXTURE = `
  CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL);
  INSERT INTO items (name) SELECT 'item ' || g FROM generate_series(1, 500) g;`;

interface Captured {
  code: number;
  out: string;
  err: string;
}

async function pgferry(args: string[]): Promise<Captured> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => { out += `${t}\n`; }, err: (t) => { err += `${t}\n`; }, write: (raw) => { out += raw; }, isTTY: false, columns: 0 };
  const code = await main(args, io, { env: { PGFERRY_URL: host.url } });
  return { code, out, err };
}

async function put(server: string, name: string, body: unknown): Promise<void> {
  const r = await http(migrationUrl(host, server, name), { method: 'PUT', body });
  expect(r.status, r.text).toBeLessThan(300);
}

describe('pgferry CLI (issue #18)', () => {
  it('list says finished migrations exist when the Active filter hides them all', async () => {
    const server = 'cli-list';
    const none = await pgferry(['list', '--server', server]);
    expect(none.code).toBe(0);
    expect(none.out.trim()).toBe(`No migrations on ${server}.`);

    const db = await dbs.create('cli_list', FIXTURE);
    await put(server, 'done-1', migrationBody(source, target, [db], { mode: 'Offline', option: 'Migrate' }));
    await waitForState(host, server, 'done-1', 'Succeeded');

    const active = await pgferry(['list', '--server', server]);
    expect(active.code).toBe(0);
    expect(active.out).not.toContain('No migrations');
    expect(active.out.trim()).toBe(`No active migrations on ${server}; 1 finished one is not shown: pgferry list --server ${server} --filter All`);
    const all = await pgferry(['list', '--server', server, '--filter', 'All']);
    expect(all.out).toMatch(/^done-1 +Succeeded/m);
  }, 240_000);

  it('cutover on a Canceled migration says it ended, not to retry', async () => {
    const server = 'cli-canceled';
    const db = await dbs.create('cli_canceled', FIXTURE);
    await put(server, 'gone-1', migrationBody(source, target, [db], { mode: 'Online', option: 'Migrate' }));
    const cancel = await pgferry(['cancel', '--server', server, '--name', 'gone-1']);
    expect(cancel.code, cancel.err).toBe(0);
    await waitForState(host, server, 'gone-1', 'Canceled');

    const cutover = await pgferry(['cutover', '--server', server, '--name', 'gone-1']);
    expect(cutover.code).toBe(3);
    expect(cutover.err).toMatch(/error: 409 CutoverNotAllowed: .*Canceled/);
    expect(cutover.err).not.toMatch(/retry/i);
    expect(cutover.err).toContain('It has ended Canceled, so there is nothing to cut over; create a new migration to copy again');
  }, 240_000);

  it('help create shows an example properties file that parses', async () => {
    const help = await pgferry(['help', 'create']);
    expect(help.code).toBe(0);
    const start = help.out.indexOf('{ "properties"');
    expect(start, help.out).toBeGreaterThan(0);
    // The example ends at the line that closes both objects.
    const end = help.out.indexOf('} }', start) + 3;
    const example = JSON.parse(help.out.slice(start, end)) as { properties: Record<string, unknown> };
    expect(Object.keys(example.properties)).toEqual(
      expect.arrayContaining(['sourceDbServerResourceId', 'targetDbServerFullyQualifiedDomainName', 'secretParameters', 'dbsToMigrate', 'migrationMode']),
    );
    expect(help.out).toContain('pgferry create -s target -n migration1 -b body.json');
  });
});
