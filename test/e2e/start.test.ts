/**
 * `npm start` as a user runs it (dist/emulator/start.js in a checkout of its own, its own
 * process group): a SIGTERM to the whole group right after a migration reports Succeeded loses
 * nothing (still Succeeded after a restart, and stays so), and an Azurite of another checkout on
 * the default port is never used (issue #18).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TableServiceClient, AzureNamedKeyCredential } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startAzurite, DEV_ACCOUNT, DEV_KEY, type Azurite } from '../../emulator/local/azurite';
import { freePort } from '../../emulator/local/ports';
import { ROOT, ensureBuilt, http, waitFor } from '../support/host';
import { migrationBody, useDatabases } from '../support/e2e';
import type { MigrationResource } from '../../shared/model/migration-resource';

const source = inject('source');
const target = inject('target');
const dbs = useDatabases(source, target);
const scratch = mkdtempSync(join(tmpdir(), 'pgferry-start-'));
const children = new Set<ChildProcess>();

afterAll(async () => {
  for (const c of children) {
    try { if (c.pid) process.kill(-c.pid, 'SIGKILL'); } catch { /* the group is gone */ }
  }
  rmSync(scratch, { recursive: true, force: true });
});

/** A runnable checkout of its own: .azurite/ and .pgferry/ are per checkout. */
function checkout(name: string): string {
  const dir = join(scratch, name);
  for (const f of ['package.json', 'host.json', 'dist']) cpSync(join(ROOT, f), join(dir, f), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

interface Started { child: ChildProcess; output: () => string; exited: Promise<number | null> }

/** `npm start` in `dir`, leader of its own process group, as a shell's job would be. */
function npmStart(dir: string, args: string[]): Started {
  const env = { ...process.env };
  delete env.AzureWebJobsStorage;
  const child = spawn(process.execPath, [join(dir, 'dist', 'emulator', 'start.js'), ...args], { cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  child.stdout?.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr?.on('data', (b: Buffer) => { out += b.toString(); });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return { child, output: () => out, exited };
}

async function apiUp(s: Started, port: number): Promise<void> {
  await waitFor(`npm start on ${port}: ${s.output()}`, async () => (s.output().includes('pgferry API:') ? true : s.child.exitCode !== null ? Promise.reject(new Error(s.output())) : undefined), 90_000);
}

const keyOf = (dir: string) => readFileSync(join(dir, '.pgferry', 'function.key'), 'utf8').trim();

beforeAll(async () => {
  await ensureBuilt();
}, 180_000);

describe('npm start', () => {
  it('keeps a Succeeded migration Succeeded when its whole process group gets SIGTERM right after', async () => {
    const dir = checkout('group');
    const db = await dbs.create('startsig', 'CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 500) g;');
    const [port, azuritePort] = [await freePort(), await freePort()];
    const args = ['--port', String(port), '--azurite-port', String(azuritePort)];
    const url = `http://127.0.0.1:${port}/api/flexibleServers/startsig/migrations/m1`;
    const first = npmStart(dir, args);
    await apiUp(first, port);
    const key = keyOf(dir);
    const put = await http(url, { method: 'PUT', key, body: migrationBody(source, target, [db], { mode: 'Offline' }) });
    expect(put.status, put.text).toBe(201);
    await waitFor('Succeeded', async () => {
      const r = await http(url, { key });
      const state = r.json<MigrationResource>().properties.currentStatus?.state;
      if (state === 'Failed' || state === 'Canceled') throw new Error(r.text);
      return state === 'Succeeded' ? true : undefined;
    }, 120_000, 100);
    process.kill(-first.child.pid!, 'SIGTERM'); // the shell's job control, systemd's default
    await first.exited;

    const second = npmStart(dir, args);
    await apiUp(second, port);
    for (let i = 0; i < 10; i++) {
      const r = await http(url, { key });
      expect(r.status, r.text).toBe(200);
      expect(r.json<MigrationResource>().properties.currentStatus?.state).toBe('Succeeded');
      await new Promise((res) => setTimeout(res, 500));
    }
    process.kill(-second.child.pid!, 'SIGTERM');
    expect(await second.exited).toBe(0);
  }, 300_000);

  it('loses no acknowledged write when Azurite or npm start itself is killed with SIGKILL', async () => {
    const dir = checkout('kill');
    const db = await dbs.create('startkill', 'CREATE TABLE t (id int PRIMARY KEY)');
    const [port, azuritePort] = [await freePort(), await freePort()];
    const args = ['--port', String(port), '--azurite-port', String(azuritePort)];
    const url = (name: string) => `http://127.0.0.1:${port}/api/flexibleServers/startkill/migrations/${name}`;
    const body = migrationBody(source, target, [db], { option: 'Validate' });

    const first = npmStart(dir, args);
    await apiUp(first, port);
    const key = keyOf(dir);
    expect((await http(url('m1'), { method: 'PUT', key, body })).status).toBe(201);
    const azuritePid = Number(execFileSync('pgrep', ['-P', String(first.child.pid), '-f', 'azurite-durable']).toString().trim());
    process.kill(azuritePid, 'SIGKILL');
    expect(await first.exited).toBe(1); // no work runs without its storage
    expect(first.output()).toContain('Azurite stopped');

    const second = npmStart(dir, args);
    await apiUp(second, port);
    expect((await http(url('m1'), { key })).status).toBe(200);
    expect((await http(url('m2'), { method: 'PUT', key, body })).status).toBe(201);
    process.kill(second.child.pid!, 'SIGKILL'); // Azurite sees its parent go and saves before it exits
    await second.exited;
    await waitFor('Azurite of the killed npm start to exit', async () => {
      try { execFileSync('pgrep', ['-f', `azurite-durable.js --location ${join(dir, '.azurite')}`]); return undefined; } catch { return true; }
    }, 30_000);

    const third = npmStart(dir, args);
    await apiUp(third, port);
    for (const name of ['m1', 'm2']) expect((await http(url(name), { key })).status, name).toBe(200);
    process.kill(-third.child.pid!, 'SIGTERM');
    expect(await third.exited).toBe(0);
  }, 300_000);

  describe('with another Azurite on the Azurite port', () => {
    let foreign: Azurite;
    let foreignPort: number;
    beforeAll(async () => {
      foreignPort = 10002; // npm start's default Azurite port
      foreign = await startAzurite({ port: foreignPort });
    });
    afterAll(async () => foreign?.stop());

    const foreignTables = async () => {
      const client = new TableServiceClient(`http://127.0.0.1:${foreignPort}/${DEV_ACCOUNT}`, new AzureNamedKeyCredential(DEV_ACCOUNT, DEV_KEY), { allowInsecureConnection: true });
      const names: string[] = [];
      for await (const t of client.listTables()) if (t.name) names.push(t.name);
      return names;
    };

    it('refuses a taken --azurite-port with an error that names it', async () => {
      const s = npmStart(checkout('taken'), ['--port', String(await freePort()), '--azurite-port', String(foreignPort)]);
      expect(await s.exited).not.toBe(0);
      expect(s.output()).toContain(`--azurite-port ${foreignPort}: the port is taken`);
      expect(await foreignTables()).toEqual([]);
    }, 120_000);

    it('runs on its own Azurite when the default port is taken, and says so', async () => {
      const port = await freePort();
      const s = npmStart(checkout('default'), ['--port', String(port)]);
      await apiUp(s, port);
      expect(s.output()).toMatch(new RegExp(`port ${foreignPort} is taken by another process .*uses \\d+`));
      const list = await http(`http://127.0.0.1:${port}/api/flexibleServers/pg-start/migrations`, { key: keyOf(join(scratch, 'default')) });
      expect(list.status, list.text).toBe(200);
      expect(await foreignTables()).toEqual([]);
      process.kill(-s.child.pid!, 'SIGTERM');
      expect(await s.exited).toBe(0);
    }, 120_000);
  });
});
