/**
 * `npm start`: pgferry on this machine, no Azure needed. Starts Azurite with its data under
 * .azurite/ (unless AzureWebJobsStorage points elsewhere), makes a local secret key under .pgferry/
 * on first start (unless PGFERRY_SECRET_KEY is set), then runs the app in the offline host and
 * prints the API URL. Ctrl-C stops both; a later start resumes every running migration.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAzurite, type Azurite } from './local/azurite';
import { projectRoot } from './local/root';
import { startHost } from './host';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** A key kept beside the data it protects, for local use only; Azure uses a Key Vault reference. */
function localSecretKey(root: string): string {
  const dir = join(root, '.pgferry');
  const file = join(dir, 'secret.key');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    console.log(`created a local secret key in ${file} (keep it: stored passwords need it)`);
  }
  return readFileSync(file, 'utf8').trim();
}

async function main(): Promise<void> {
  const root = projectRoot();
  let azurite: Azurite | undefined;
  if (!process.env.AzureWebJobsStorage) {
    const location = join(root, '.azurite');
    mkdirSync(location, { recursive: true });
    azurite = await startAzurite({ location, port: Number(flag('azurite-port') ?? 10002) });
    process.env.AzureWebJobsStorage = azurite.info.connectionString;
    console.log(`Azurite (Table service) on ${azurite.info.tableEndpoint}, data in ${location}`);
  }
  process.env.PGFERRY_SECRET_KEY ??= localSecretKey(root);
  const host = await startHost({ appDir: root, port: Number(flag('port') ?? 7071), host: flag('host') ?? '127.0.0.1' });
  console.log(`pgferry API: ${host.url}/api/flexibleServers/{server}/migrations  (docs/api.md)`);
  const stop = async () => {
    await host.stop();
    await azurite?.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
