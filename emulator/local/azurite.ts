/**
 * A real Azurite Table service, telemetry off: in memory on a free loopback port (tests), or with
 * its data in a folder for `npm start`, where every write is saved before it is acknowledged
 * (azurite-durable.ts) and a taken port is an error, never someone else's Azurite.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from './root';
import { existsSync } from 'node:fs';
import { freePort, waitForPort } from './ports';

export interface AzuriteInfo {
  connectionString: string;
  tableEndpoint: string;
  accountName: string;
  accountKey: string;
}

/** Azurite's well-known development account (public, documented; not a secret). */
export const DEV_ACCOUNT = 'devstoreaccount1';
export const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Azurite {
  info: AzuriteInfo;
  /** Resolves when the Azurite process has exited, for whatever reason. */
  exited: Promise<void>;
  stop(): Promise<void>;
}

export interface AzuriteOptions {
  /** Keep data in this folder (npm start); in memory when absent (tests). */
  location?: string;
  /** Fixed port; a free one when absent. */
  port?: number;
  /** Loopback address to listen on (with `location`). */
  host?: string;
}

/** The port is held by another process (another checkout's Azurite, say). */
export class PortTakenError extends Error {}

export async function startAzurite(opts: AzuriteOptions = {}): Promise<Azurite> {
  const entry = join(projectRoot(), 'node_modules', 'azurite', 'dist', 'src', 'table', 'main.js');
  if (!existsSync(entry)) throw new Error(`Azurite not found at ${entry}: run npm ci (azurite is a devDependency)`);
  const port = opts.port ?? (await freePort());
  const child = opts.location ? await startDurable(opts.location, opts.host ?? '127.0.0.1', port) : await startInMemory(entry, port);
  const tableEndpoint = `http://${opts.host ?? '127.0.0.1'}:${port}/${DEV_ACCOUNT}`;
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const exited = new Promise<void>((done) => { if (gone()) done(); else child.once('exit', () => done()); });
  const stopOnExit = () => child.kill('SIGKILL');
  process.once('exit', stopOnExit);
  return {
    exited,
    info: {
      tableEndpoint,
      accountName: DEV_ACCOUNT,
      accountKey: DEV_KEY,
      connectionString:
        `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};TableEndpoint=${tableEndpoint};`,
    },
    async stop() {
      process.off('exit', stopOnExit);
      if (!gone()) child.kill('SIGINT');
      await exited;
    },
  };
}

async function startInMemory(entry: string, port: number): Promise<ChildProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    [entry, '--inMemoryPersistence', '--disableTelemetry', '--skipApiVersionCheck', '--loose',
      '--tableHost', '127.0.0.1', '--tablePort', String(port)],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => { stderr += b.toString(); });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`Azurite exited early (code ${code}): ${stderr}`))));
  await Promise.race([waitForPort(port, 30_000), exited]);
  exited.catch(() => undefined);
  return child;
}

/** The durable Azurite of `npm start`; resolves when it says it listens, never on a port someone else holds. */
async function startDurable(location: string, host: string, port: number): Promise<ChildProcess> {
  const entry = join(__dirname, 'azurite-durable.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build`);
  const child = fork(entry, ['--location', location, '--host', host, '--port', String(port)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => { stderr += b.toString(); });
  await new Promise<void>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`Azurite did not start within 30 s: ${stderr}`)), 30_000);
    child.on('message', (m: { ready?: number; error?: string }) => {
      clearTimeout(timer);
      if (m.ready) done();
      else fail(/taken/.test(m.error ?? '') ? new PortTakenError(m.error) : new Error(`Azurite failed: ${m.error}`));
    });
    child.once('exit', (code) => { clearTimeout(timer); fail(new Error(`Azurite exited early (code ${code}): ${stderr}`)); });
  });
  return child;
}
