/** A real Azurite Table service, in memory, telemetry off, on a free loopback port. */
import { spawn, type ChildProcess } from 'node:child_process';
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
  stop(): Promise<void>;
}

export interface AzuriteOptions {
  /** Keep data in this folder (npm start); in memory when absent (tests). */
  location?: string;
  /** Fixed port; a free one when absent. */
  port?: number;
}

export async function startAzurite(opts: AzuriteOptions = {}): Promise<Azurite> {
  const entry = join(projectRoot(), 'node_modules', 'azurite', 'dist', 'src', 'table', 'main.js');
  if (!existsSync(entry)) throw new Error(`Azurite not found at ${entry}: run npm ci (azurite is a devDependency)`);
  const port = opts.port ?? (await freePort());
  const storage = opts.location ? ['--location', opts.location] : ['--inMemoryPersistence'];
  const child: ChildProcess = spawn(
    process.execPath,
    [entry, ...storage, '--disableTelemetry', '--skipApiVersionCheck', '--loose',
      '--tableHost', '127.0.0.1', '--tablePort', String(port)],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => { stderr += b.toString(); });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`Azurite exited early (code ${code}): ${stderr}`))));
  await Promise.race([waitForPort(port, 30_000), exited]);
  exited.catch(() => undefined);
  const tableEndpoint = `http://127.0.0.1:${port}/${DEV_ACCOUNT}`;
  const stopOnExit = () => child.kill('SIGKILL');
  process.once('exit', stopOnExit);
  return {
    info: {
      tableEndpoint,
      accountName: DEV_ACCOUNT,
      accountKey: DEV_KEY,
      connectionString:
        `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};TableEndpoint=${tableEndpoint};`,
    },
    async stop() {
      process.off('exit', stopOnExit);
      if (child.exitCode !== null) return;
      // Azurite saves its data folder only on SIGINT (SIGTERM would lose the last writes of `npm start`).
      await new Promise<void>((done) => { child.once('exit', () => done()); child.kill('SIGINT'); });
    },
  };
}
