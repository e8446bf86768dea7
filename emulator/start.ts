/**
 * `npm start`: pgferry on this machine, no Azure needed. Starts Azurite with its data under
 * .azurite/ (unless AzureWebJobsStorage points elsewhere), makes a local secret key and a function
 * key under .pgferry/ on first start (unless PGFERRY_SECRET_KEY / PGFERRY_FUNCTION_KEY are set, in
 * the environment or local.settings.json), then runs the app in the offline host with function
 * keys enforced and prints the API URL. Ctrl-C, SIGTERM or SIGHUP, to this process or its whole
 * process group, stop both without losing a write Azurite acknowledged (every write is on disk
 * first); a later start resumes every running migration.
 *
 * Options: --port <n> (7071), --host <addr> (127.0.0.1: nothing is exposed beyond this machine),
 * --azurite-port <n> (10002; when the default is taken, a free port, printed; when a given port
 * is taken, an error), --storage <connection string> (use that Table storage instead of starting
 * Azurite; AzureWebJobsStorage does the same), --auth on|off (default on; PGFERRY_AUTH=off too).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyLocalSettings } from './config';
import { KEY_HEADER, newKey, parseAuthMode } from './http/auth';
import { PortTakenError, startAzurite, type Azurite } from './local/azurite';
import { freePort } from './local/ports';
import { projectRoot } from './local/root';
import { startHost } from './host';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/**
 * A key file under `<root>/.pgferry/` (directory 0700, file 0600), created with `make()` when
 * missing; `created` says whether this call made it.
 */
export function localKeyFile(root: string, name: string, make: () => string): { key: string; file: string; created: boolean } {
  const dir = join(root, '.pgferry');
  const file = join(dir, name);
  let created = false;
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(file, `${make()}\n`, { mode: 0o600, flag: 'wx' });
    created = true;
  }
  // Whatever made the file, only its owner may read it.
  chmodSync(dir, 0o700);
  chmodSync(file, 0o600);
  return { key: readFileSync(file, 'utf8').trim(), file, created };
}

/** A key kept beside the data it protects, for local use only; Azure uses a Key Vault reference. */
function localSecretKey(root: string): string {
  const k = localKeyFile(root, 'secret.key', () => randomBytes(32).toString('base64'));
  if (k.created) console.log(`created a local secret key in ${k.file} (keep it: stored passwords need it)`);
  return k.key;
}

/** The local function key: callers send it as the x-functions-key header or ?code=. */
function localFunctionKey(root: string): string {
  const k = localKeyFile(root, 'function.key', newKey);
  if (k.created) console.log(`created a function key in ${k.file}:\n  ${k.key}`);
  console.log(`function key in ${k.file}: send it as -H "${KEY_HEADER}: $(cat ${k.file})" or ?code=<key>`);
  return k.key;
}

async function main(): Promise<void> {
  const root = projectRoot();
  // local.settings.json may hold the keys; the host would load it too, but the defaults below need it first.
  applyLocalSettings(root, process.env);
  const auth = parseAuthMode(flag('auth'), '--auth') ?? parseAuthMode(process.env.PGFERRY_AUTH, 'PGFERRY_AUTH') ?? 'on';
  const storage = flag('storage');
  if (storage) process.env.AzureWebJobsStorage = storage;
  const azurite = process.env.AzureWebJobsStorage ? undefined : await ownAzurite(root);
  process.env.PGFERRY_SECRET_KEY ??= localSecretKey(root);
  if (auth !== 'off' && !process.env.PGFERRY_FUNCTION_KEY?.trim()) process.env.PGFERRY_FUNCTION_KEY = localFunctionKey(root);
  const host = await startHost({ appDir: root, port: Number(flag('port') ?? 7071), host: flag('host') ?? '127.0.0.1', auth });
  console.log(`pgferry API: ${host.url}/api/flexibleServers/{server}/migrations  (docs/api.md)`);
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    // Bounded: when the whole group got the signal, Azurite may be gone and the host's last writes fail.
    await Promise.race([host.stop(), new Promise((r) => setTimeout(r, 10_000))]).catch(() => undefined);
    await azurite?.stop();
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => void stop(0));
  void azurite?.exited.then(() => {
    if (stopping) return;
    console.error('Azurite stopped: pgferry stops too (its state is saved; npm start resumes it)');
    void stop(1);
  });
}

/** This checkout's Azurite, data in .azurite/; never another process's Azurite on the same port. */
async function ownAzurite(root: string): Promise<Azurite> {
  const location = join(root, '.azurite');
  mkdirSync(location, { recursive: true });
  const asked = flag('azurite-port');
  let azurite: Azurite;
  try {
    azurite = await startAzurite({ location, port: Number(asked ?? 10002) });
  } catch (err) {
    if (!(err instanceof PortTakenError)) throw err;
    if (asked) throw new Error(`--azurite-port ${asked}: the port is taken by another process. Pick a free port, or pass --storage <connection string> to use that storage on purpose.`);
    const port = await freePort();
    console.log(`port 10002 is taken by another process (another checkout's Azurite?): this checkout's Azurite uses ${port}`);
    azurite = await startAzurite({ location, port });
  }
  process.env.AzureWebJobsStorage = azurite.info.connectionString;
  console.log(`Azurite (Table service) on ${azurite.info.tableEndpoint}, data in ${location}`);
  return azurite;
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
