/**
 * Azurite's Table service with its data in a folder, made safe for `npm start` (a child process
 * of emulator/local/azurite.ts, never started by hand).
 *
 * Azurite keeps its tables in memory and writes them to its folder every 5 s and on SIGINT, so
 * a SIGTERM, a SIGKILL or a lost parent forgot up to 5 s of writes the host had been told were
 * done. Here every write is on disk before it is acknowledged: Azurite listens on a private
 * loopback port and a proxy on the public port answers a write (any method but GET/HEAD) only
 * after a save that began after Azurite applied it (group commit: writes waiting together share
 * one save). Every catchable signal, and the parent going away, close the service after a last
 * save; a SIGKILL loses nothing acknowledged.
 *
 * argv: --location <dir> --host <addr> --port <public port>. Tells the parent over IPC
 * `{ ready: port }`, or `{ error }` and exits 2 when the public port is taken.
 */
import { createServer, request, Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { projectRoot } from './root';
import { freePort } from './ports';

interface LokiDb { saveDatabase(done: (err?: unknown) => void): void }
interface TableServerLike { start(): Promise<void>; close(): Promise<void>; metadataStore: { db: LokiDb } }

function arg(name: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  if (!v) throw new Error(`azurite-durable: --${name} is required`);
  return v;
}

function azuriteModule<T>(path: string): T {
  const load = createRequire(join(projectRoot(), 'package.json'));
  const mod = load(`azurite/dist/src/table/${path}`) as { default: T };
  return mod.default;
}

/** Saves that cover every write finished before `durable()` was called. */
function groupCommit(db: LokiDb): () => Promise<void> {
  let requested = 0;
  let saved = 0;
  let running = false;
  const waiters: Array<{ upTo: number; done: () => void; fail: (e: unknown) => void }> = [];
  const loop = async () => {
    running = true;
    while (saved < requested) {
      const upTo = requested;
      try {
        await new Promise<void>((done, fail) => db.saveDatabase((err) => (err ? fail(err) : done())));
        saved = upTo;
        for (const w of waiters.filter((x) => x.upTo <= saved)) { waiters.splice(waiters.indexOf(w), 1); w.done(); }
      } catch (err) {
        for (const w of waiters.splice(0)) w.fail(err);
        saved = upTo;
      }
    }
    running = false;
  };
  return () => new Promise<void>((done, fail) => {
    waiters.push({ upTo: ++requested, done, fail });
    if (!running) void loop();
  });
}

function proxy(privatePort: number, durable: () => Promise<void>) {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  return (req: IncomingMessage, res: ServerResponse) => {
    const write = req.method !== 'GET' && req.method !== 'HEAD';
    const upstream = request({ host: '127.0.0.1', port: privatePort, method: req.method, path: req.url, headers: req.headers, agent }, (up) => {
      if (!write) {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        return;
      }
      const body: Buffer[] = [];
      up.on('data', (b: Buffer) => body.push(b));
      up.on('end', () => {
        durable().then(
          () => { res.writeHead(up.statusCode ?? 502, up.headers); res.end(Buffer.concat(body)); },
          (err: unknown) => { res.writeHead(503, { 'content-type': 'text/plain' }); res.end(`pgferry: Azurite could not save its data: ${String(err)}`); },
        );
      });
    });
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`pgferry: Azurite is not answering: ${err.message}`);
    });
    req.pipe(upstream);
  };
}

async function main(): Promise<void> {
  const location = arg('location');
  const host = arg('host');
  const port = Number(arg('port'));
  const TableConfiguration = azuriteModule<new (...a: unknown[]) => unknown>('TableConfiguration');
  const TableServer = azuriteModule<new (c: unknown) => TableServerLike>('TableServer');
  const privatePort = await freePort();
  // host, port, keep-alive, Loki file, debug log, access log, log stream, debug file, loose, skip api version check
  const config = new TableConfiguration('127.0.0.1', privatePort, undefined, join(location, '__azurite_db_table__.json'), false, false, undefined, undefined, true, true);
  const server = new TableServer(config);
  await server.start();
  const durable = groupCommit(server.metadataStore.db);

  const front = createServer(proxy(privatePort, durable));
  let closing = false;
  const close = async (code: number) => {
    if (closing) return;
    closing = true;
    front.close();
    await server.close(); // saves the data a last time
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const) process.on(signal, () => void close(0));
  process.on('disconnect', () => void close(0)); // the parent went away, however it died
  process.on('message', (m) => { if (m === 'shutdown') void close(0); });
  front.once('error', (err: NodeJS.ErrnoException) => {
    process.send?.({ error: err.code === 'EADDRINUSE' ? `port ${host}:${port} is taken` : err.message });
    void close(2);
  });
  front.listen(port, host, () => process.send?.({ ready: port }));
}

main().catch((err: unknown) => {
  process.send?.({ error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
