/**
 * The `pgferry` command line against the real service (offline host, real PostgreSQL, function
 * keys enforced), run as a script would run it — a child process of dist/cli/main.js — and
 * judged by its exit codes: create from an az-style properties file, watch until cutover-ready,
 * cutover, watch to Succeeded, show as JSON; cancel and watch to exit 1; a 400, a 401, a 404, a
 * 409 and an unreachable URL. One in-process run checks the in-place redraw on a terminal.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, inject, onTestFinished } from 'vitest';
import { sql } from '../support/databases';
import { ROOT, useHost, waitFor } from '../support/host';
import { useDatabases } from '../support/e2e';
import { occupyOnTarget, undroppableOnTarget } from '../support/failing-database';
import { freePort } from '../support/ports';
import { main } from '../../cli/main';
import type { Io } from '../../cli/commands/context';
import type { MigrationResource } from '../../shared/model/migration-resource';

const source = inject('source');
const target = inject('target');
const SERVER = 'cli-tgt';
const CLI = join(ROOT, 'dist', 'cli', 'main.js');

const key = randomBytes(24).toString('base64url');
const host = useHost({ functionKey: key });
const dbs = useDatabases(source, target);
let dir = '';
let db = '';
let cancelDb = '';

const FIXTURE = `
  CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL, qty int);
  CREATE TABLE notes (id int PRIMARY KEY, body text);
  INSERT INTO items (name, qty) SELECT 'item ' || g, g % 10 FROM generate_series(1, 3000) g;
  INSERT INTO notes SELECT g, repeat('n', g % 50) FROM generate_series(1, 500) g;`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `pgferry …` as a child process, with PGFERRY_URL / PGFERRY_KEY set unless `env` says otherwise. */
function pgferry(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const base: NodeJS.ProcessEnv = { ...process.env, PGFERRY_URL: host.url, PGFERRY_KEY: key, ...env };
  for (const [k, v] of Object.entries(base)) if (v === undefined) delete base[k];
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: base, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const expectCode = (r: Run, code: number) => expect(r.code, `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}\nhost log:\n${host.logs().slice(-3000)}`).toBe(code);

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
}

/** An az CLI properties file as users write them: odd key case, "true" strings, mode in the file. */
function azFile(database: string): unknown {
  return {
    properties: {
      SourceDBServerResourceId: `${source.host}:${source.port}@${source.user}`,
      TARGETDBSERVERFULLYQUALIFIEDDOMAINNAME: `${target.host}:${target.port}`,
      SecretParameters: {
        AdminCredentials: { SourceServerPassword: source.password, targetserverpassword: target.password },
        TargetServerUserName: target.user,
      },
      DBsToMigrate: [database],
      OverwriteDBsInTarget: 'true',
      SetupLogicalReplicationOnSourceDbIfNeeded: 'false',
      sourceType: 'OnPremises',
      SSLMode: 'prefer',
      MigrationMode: 'Offline',
    },
  };
}

beforeAll(async () => {
  // dist/ (cli/ included) was built, or rebuilt when anything changed, before the host started.
  dir = mkdtempSync(join(tmpdir(), 'pgferry-cli-'));
  [db, cancelDb] = await Promise.all([dbs.create('cli_main', FIXTURE), dbs.create('cli_cancel', FIXTURE)]);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('pgferry CLI', () => {
  it('creates from an az properties file, watches to cutover-ready, cuts over, watches to Succeeded, shows JSON', async () => {
    const props = file('body.json', azFile(db));
    expectCode(await pgferry(['check-name', '--server', SERVER, '--name', 'cli-online-1']), 0);

    // --mode / --option override the file (it says Offline), in any case, as the az CLI's flags do.
    const created = await pgferry(['create', '--server', SERVER, '--name', 'cli-online-1', '--properties', props, '--mode', 'online', '--option', 'validateandmigrate']);
    expectCode(created, 0);
    expect(created.stdout).toContain('Created cli-online-1: InProgress');
    expect(created.stdout).toContain('(Online, ValidateAndMigrate)');
    expect(created.stdout + created.stderr).not.toContain(source.password);

    const taken = await pgferry(['check-name', '--server', SERVER, '--name', 'cli-online-1']);
    expectCode(taken, 1);
    expect(taken.stdout).toContain('AlreadyExists');

    const ready = await pgferry(['watch', '--server', SERVER, '--name', 'cli-online-1', '--until-cutover-ready', '--interval', '0.5']);
    expectCode(ready, 0);
    // Not a terminal: a line per change, each database with tables done/total, rows, latency, CDC counters.
    expect(ready.stdout).toContain('cli-online-1: WaitingForUserAction / WaitingForCutoverTrigger');
    expect(ready.stdout).toMatch(new RegExp(`${db}: WaitingForCutoverTrigger .*tables 2/2 rows 3,500 latency \\d+(\\.\\d+)? min cdc \\+\\d+ ~\\d+ -\\d+`));
    expect(ready.stdout).toContain('ready for cutover');
    expect(ready.stdout).not.toContain('\x1b[');

    // Changes after the copy are replayed before cutover completes.
    await sql(source, db, `INSERT INTO items (name, qty) SELECT 'late ' || g, 1 FROM generate_series(1, 25) g; UPDATE notes SET body = 'changed' WHERE id <= 10; DELETE FROM notes WHERE id > 490;`);
    const list = await pgferry(['list', '--server', SERVER, '--filter', 'active']);
    expectCode(list, 0);
    expect(list.stdout.split('\n')[0]).toMatch(/^NAME +STATUS +SUBSTATE +MODE +TYPE +SOURCE SERVER +SOURCE TYPE +DATABASES +DURATION +START TIME$/);
    expect(list.stdout).toMatch(/cli-online-1 +WaitingForUserAction +WaitingForCutoverTrigger +Online +ValidateAndMigrate/);

    const cut = await pgferry(['cutover', '--server', SERVER, '--name', 'cli-online-1']);
    expectCode(cut, 0);
    expect(cut.stdout).toContain('Cutover requested');

    const done = await pgferry(['watch', '--server', SERVER, '--name', 'cli-online-1', '--interval', '0.5']);
    expectCode(done, 0);
    expect(done.stdout).toContain('cli-online-1 Succeeded.');

    const shown = await pgferry(['show', '--server', SERVER, '--name', 'cli-online-1', '--output', 'json']);
    expectCode(shown, 0);
    const m = JSON.parse(shown.stdout) as MigrationResource;
    expect(m.properties.currentStatus.state).toBe('Succeeded');
    expect(m.properties.migrationMode).toBe('Online');
    expect(m.properties.migrationOption).toBe('ValidateAndMigrate');
    expect(m.properties.overwriteDbsInTarget).toBe('True');
    const d = m.properties.currentStatus.currentSubStateDetails.dbDetails[db];
    expect(d?.migrationState).toBe('Succeeded');
    expect(d?.cdcInsertCounter).toBeGreaterThanOrEqual(25);
    expect(d?.cdcUpdateCounter).toBeGreaterThanOrEqual(10);
    expect(d?.cdcDeleteCounter).toBeGreaterThanOrEqual(10);
    const n = async (s: typeof source) => (await sql(s, db, 'SELECT (SELECT count(*) FROM items)::int AS items, (SELECT count(*) FROM notes)::int AS notes')).rows[0];
    expect(await n(target)).toEqual(await n(source));

    const text = await pgferry(['show', '--server', SERVER, '--name', 'cli-online-1']);
    expectCode(text, 0);
    expect(text.stdout).toMatch(/Status +Succeeded \/ Completed/);
    expect(text.stdout).toContain('LATENCY (MIN)');
    expect(text.stdout).toContain('Validation: ');

    const listJson = await pgferry(['list', '--server', SERVER, '--filter', 'All', '-o', 'json']);
    expectCode(listJson, 0);
    expect((JSON.parse(listJson.stdout) as MigrationResource[]).map((x) => x.name)).toContain('cli-online-1');
    // The default filter is Active, as in the az CLI: a finished migration is not listed.
    expect((await pgferry(['list', '--server', SERVER])).stdout).not.toContain('cli-online-1');

    // Cutover on a finished migration: the service says no (409) → exit 3 with its reason.
    const again = await pgferry(['cutover', '--server', SERVER, '--name', 'cli-online-1']);
    expectCode(again, 3);
    expect(again.stderr).toMatch(/error: 409 CutoverNotAllowed: .*Succeeded/);
  }, 240_000);

  it('redraws watch in place on a terminal, cancels, and watch exits 1 for a Canceled migration', async () => {
    const props = file('cancel.json', azFile(cancelDb));
    expectCode(await pgferry(['create', '-s', SERVER, '-n', 'cli-cancel-1', '-b', props, '--migration-mode', 'Online', '--migration-option', 'Migrate']), 0);

    // In process, with a fake terminal: the block is rewritten with cursor-up + clear, not appended.
    let screen = '';
    const tty: Io = { out: (t) => { screen += `${t}\n`; }, err: (t) => { screen += `${t}\n`; }, write: (raw) => { screen += raw; }, isTTY: true, columns: 160 };
    const code = await main(['watch', '--server', SERVER, '--name', 'cli-cancel-1', '--until-cutover-ready', '--interval', '0.3'], tty, { env: { PGFERRY_URL: host.url, PGFERRY_KEY: key } });
    expect(code, screen).toBe(0);
    const ESC = String.fromCharCode(27);
    const redraws = screen.match(new RegExp(`${ESC}\\[\\d+F${ESC}\\[J`, 'g')) ?? [];
    expect(redraws.length, screen).toBeGreaterThan(0);
    expect(screen).toContain('Ctrl-C stops watching; the migration keeps running.');

    const cancel = await pgferry(['cancel', '--server', SERVER, '--name', 'cli-cancel-1']);
    expectCode(cancel, 0);
    expect(cancel.stdout).toContain('Cancel requested');
    const watched = await pgferry(['watch', '--server', SERVER, '--name', 'cli-cancel-1', '--interval', '0.5']);
    expectCode(watched, 1);
    expect(watched.stderr).toContain('cli-cancel-1 ended Canceled');

    const json = await pgferry(['watch', '--server', SERVER, '--name', 'cli-cancel-1', '-o', 'json']);
    expectCode(json, 1);
    const last = JSON.parse(json.stdout.trim().split('\n').pop() ?? '{}') as { state?: string; databases?: unknown[] };
    expect(last.state).toBe('Canceled');
    expect(last.databases).toHaveLength(1);
  }, 240_000);

  it('watch --until-cutover-ready exits 1 as soon as a database failed, naming it; show prints its error', async () => {
    // A real failure: the second database is in the way on the target and cannot be replaced, and nothing validates first.
    const [good, bad] = await Promise.all([dbs.create('cli_good', FIXTURE), dbs.create('cli_taken', FIXTURE)]);
    onTestFinished(await undroppableOnTarget(target, bad));
    const body = azFile(good) as { properties: Record<string, unknown> };
    const props = file('failed.json', { properties: { ...body.properties, DBsToMigrate: [good, bad], OverwriteDBsInTarget: 'true' } });
    expectCode(await pgferry(['create', '--server', SERVER, '--name', 'cli-failed-1', '--properties', props, '--mode', 'Online', '--option', 'Migrate']), 0);

    const watched = await pgferry(['watch', '--server', SERVER, '--name', 'cli-failed-1', '--until-cutover-ready', '--interval', '0.3']);
    expectCode(watched, 1);
    expect(watched.stderr).toContain(`cli-failed-1 cannot become ready for cutover: database ${bad} (prepare target database failed: cannot drop a template database`);
    expect(watched.stderr).toContain('cut them over with pgferry cutover, or cancel');
    // The change is printed as it happens: the failed database's line with its error, and the migration's error.
    expect(watched.stdout).toMatch(new RegExp(`${bad}: Failed \\(Failed\\) .* — error: prepare target database failed: cannot drop a template database`));
    expect(watched.stdout).toMatch(new RegExp(`cli-failed-1: InProgress / \\w+ — Database ${bad} failed: `));
    expect(watched.stdout).not.toContain('WaitingForUserAction');

    const shown = await pgferry(['show', '--server', SERVER, '--name', 'cli-failed-1']);
    expectCode(shown, 0);
    expect(shown.stdout).toMatch(new RegExp(`^Error +Database ${bad} failed: prepare target database failed: cannot drop a template database`, 'm'));
    expect(shown.stdout).toMatch(new RegExp(`^Database messages:\n {2}${bad} \\(Failed\\): prepare target database failed: cannot drop a template database`, 'm'));
    expect(shown.stdout).not.toContain('Ready for cutover');

    expectCode(await pgferry(['cancel', '--server', SERVER, '--name', 'cli-failed-1']), 0);
    const ended = await pgferry(['watch', '--server', SERVER, '--name', 'cli-failed-1', '--interval', '0.5']);
    expectCode(ended, 1);
    expect(ended.stderr).toMatch(new RegExp(`cli-failed-1 ended Failed: ${bad}: prepare target database failed: cannot drop a template database.*\\. Canceled: ${good}`));
  }, 240_000);

  it('says what a waiting migration waits for and the update that releases it; cutover --dbs one database at a time', async () => {
    const [held, free] = await Promise.all([dbs.create('cli_held', FIXTURE), dbs.create('cli_free', FIXTURE)]);
    await occupyOnTarget(target, held);
    const body = azFile(held) as { properties: Record<string, unknown> };
    const props = file('held.json', { properties: { ...body.properties, DBsToMigrate: [held, free], OverwriteDBsInTarget: 'false', StartDataMigration: 'false' } });
    expectCode(await pgferry(['create', '-s', SERVER, '-n', 'cli-held-1', '-b', props, '--mode', 'online', '--option', 'Migrate']), 0);
    const showUntil = (text: string) => waitFor(text, async () => {
      const r = await pgferry(['show', '-s', SERVER, '-n', 'cli-held-1']);
      return r.stdout.includes(text) ? r : undefined;
    }, 120_000, 500);

    const occupied = await showUntil('Waiting for overwrite confirmation');
    expect(occupied.stdout).toMatch(/Status +InProgress \/ WaitingForTargetDBOverwriteConfirmation/);
    expect(occupied.stdout).toContain(`${held} exists on the target and is not empty. To replace it: pgferry update --server ${SERVER} --name cli-held-1 --overwrite-dbs`);
    const over = await pgferry(['update', '-s', SERVER, '-n', 'cli-held-1', '--overwrite-dbs']);
    expectCode(over, 0);
    expect(over.stdout).toContain('Updated overwriteDbsInTarget');

    const scheduled = await showUntil('Waiting to be started');
    expect(scheduled.stdout).toContain(`Waiting to be started (startDataMigration is False): pgferry update --server ${SERVER} --name cli-held-1 --start-data-migration`);
    expectCode(await pgferry(['update', '-s', SERVER, '-n', 'cli-held-1', '--start-data-migration']), 0);
    expectCode(await pgferry(['watch', '-s', SERVER, '-n', 'cli-held-1', '--until-cutover-ready', '--interval', '0.5']), 0);
    // Too late now: the service names the property and why.
    const late = await pgferry(['update', '-s', SERVER, '-n', 'cli-held-1', '--mode', 'offline']);
    expectCode(late, 3);
    expect(late.stderr).toContain('409 PropertyChangeNotAllowed');
    expect(late.stderr).toContain('properties.migrationMode cannot change');

    const one = await pgferry(['cutover', '-s', SERVER, '-n', 'cli-held-1', '--dbs', held]);
    expectCode(one, 0);
    expect(one.stdout).toContain(`Cutover requested for ${held}`);
    await waitFor(`${held} cut over, ${free} ready again`, async () => {
      const m = JSON.parse((await pgferry(['show', '-s', SERVER, '-n', 'cli-held-1', '-o', 'json'])).stdout) as MigrationResource;
      const s = m.properties.currentStatus;
      return s.currentSubStateDetails.dbDetails[held]?.migrationState === 'Succeeded' && s.state === 'WaitingForUserAction' ? true : undefined;
    }, 180_000, 500);
    expectCode(await pgferry(['update', '-s', SERVER, '-n', 'cli-held-1', '--cutover', '--dbs', free]), 0);
    const done = await pgferry(['watch', '-s', SERVER, '-n', 'cli-held-1', '--interval', '0.5']);
    expectCode(done, 0);
    const n = async (s: typeof source, d: string) => (await sql(s, d, 'SELECT (SELECT count(*) FROM items)::int AS items, (SELECT count(*) FROM notes)::int AS notes')).rows[0];
    for (const d of [held, free]) expect(await n(target, d)).toEqual(await n(source, d));
    // The table that was in the way is gone with the old database.
    expect((await sql(target, held, `SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'occupied'`)).rows[0]).toEqual({ n: 0 });

    expectCode(await pgferry(['update', '-s', SERVER, '-n', 'cli-held-1']), 2);
    expectCode(await pgferry(['update', '-s', SERVER, '-n', 'cli-held-1', '--cutover', '--overwrite-dbs']), 2);
  }, 360_000);

  it('exits 3 with the field and fix for a 400, 3 for a 401 and a 404, 4 when unreachable, 2 for bad usage', async () => {
    const bad = file('bad.json', { properties: { SourceDBServerResourceId: 'db.example.com:99999@me', targetDbServerFullyQualifiedDomainName: `${target.host}:${target.port}`, secretParameters: { adminCredentials: { sourceServerPassword: 'x', targetServerPassword: 'y' }, targetServerUsername: 'u' } } });
    const r400 = await pgferry(['create', '--server', SERVER, '--name', 'cli-bad-1', '--properties', bad]);
    expectCode(r400, 3);
    expect(r400.stderr).toContain('error: 400 InvalidRequestContent');
    expect(r400.stderr).toMatch(/^ {2}properties\.sourceDbServerResourceId: .*port/m);
    expect(r400.stderr).toMatch(/^ {2}properties\.dbsToMigrate: is required$/m);
    expect(r400.stderr).toMatch(/^ {4}fix: List the databases to migrate/m);
    expect(r400.stdout).toBe('');

    const r401 = await pgferry(['list', '--server', SERVER], { PGFERRY_KEY: undefined });
    expectCode(r401, 3);
    expect(r401.stderr).toContain('401');
    expect(r401.stderr).toContain('--key');

    const r404 = await pgferry(['show', '--server', SERVER, '--name', 'no-such-migration']);
    expectCode(r404, 3);
    expect(r404.stderr).toContain('error: 404 ResourceNotFound');

    const port = await freePort();
    const down = await pgferry(['list', '--server', SERVER, '--url', `http://127.0.0.1:${port}`]);
    expectCode(down, 4);
    expect(down.stderr).toContain(`cannot reach pgferry at http://127.0.0.1:${port}/api`);

    expectCode(await pgferry(['show', '--name', 'x']), 2);
    expectCode(await pgferry(['create', '--server', SERVER, '--name', 'x', '--properties', join(dir, 'missing.json')]), 2);
    expectCode(await pgferry(['create', '--server', SERVER, '--name', 'x', '--properties', file('broken.json', '{"properties": ')]), 2);
    expectCode(await pgferry(['list', '--server', SERVER, '--filter', 'Some']), 2);
    expectCode(await pgferry(['watch', '--server', SERVER, '--name', 'x', '--bogus']), 2);
    expectCode(await pgferry(['list', '--server', SERVER, '--url', 'ftp://x']), 2);
    const help = await pgferry(['help', 'watch']);
    expectCode(help, 0);
    expect(help.stdout).toContain('--until-cutover-ready');
  }, 120_000);
});
