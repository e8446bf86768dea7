/**
 * Measures what the host adds per activity: 200 trivial activities run one after another and
 * then fanned out (Task.all), against an in-memory Azurite it starts itself.
 *
 *   node dist/emulator/bench-overhead.js [--count 200] [--app test/fixtures/durable-app]
 *
 * Prints ms per activity for both shapes. The fixture's host.json bounds activity concurrency at 4;
 * activities run in the host's worker processes (2 by default), so each one includes its IPC round
 * trip, and a fan-out's answers reach the orchestration in batches (one episode per batch).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

import { startHost } from './host';

const DEV_ACCOUNT = 'devstoreaccount1';
// Azurite's published development key (documented, not a secret).
const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const addr = srv.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  await new Promise((r) => srv.close(r));
  return port;
}

async function startAzurite(root: string): Promise<{ connectionString: string; stop(): void }> {
  const port = await freePort();
  const entry = resolve(root, 'node_modules', 'azurite', 'dist', 'src', 'table', 'main.js');
  const child = spawn(process.execPath, [entry, '--inMemoryPersistence', '--disableTelemetry', '--skipApiVersionCheck', '--loose', '--tableHost', '127.0.0.1', '--tablePort', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((ok, fail) => {
    child.stdout?.on('data', (b: Buffer) => { if (b.toString().includes('successfully started')) ok(); });
    child.once('exit', (code) => fail(new Error(`Azurite exited (${code})`)));
  });
  return {
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};TableEndpoint=http://127.0.0.1:${port}/${DEV_ACCOUNT};`,
    stop: () => child.kill('SIGKILL'),
  };
}

async function run(url: string, name: string, count: number): Promise<number> {
  const t0 = performance.now();
  const started = await fetch(`${url}/runtime/webhooks/durabletask/orchestrators/${name}`, { method: 'POST', body: JSON.stringify(count), headers: { 'content-type': 'application/json' } });
  const { id } = (await started.json()) as { id: string };
  for (;;) {
    const s = (await (await fetch(`${url}/runtime/webhooks/durabletask/instances/${id}`)).json()) as { runtimeStatus: string; output: unknown };
    if (s.runtimeStatus === 'Completed') break;
    if (s.runtimeStatus !== 'Running' && s.runtimeStatus !== 'Pending') throw new Error(`${name} ended ${s.runtimeStatus}: ${JSON.stringify(s.output)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const root = resolve(__dirname, '..', '..');
  const count = Number(arg('--count', '200'));
  const azurite = await startAzurite(root);
  const host = await startHost({ appDir: arg('--app', resolve(root, 'test', 'fixtures', 'durable-app')), port: 0, storage: azurite.connectionString, hub: `Bench${Date.now()}`, logLevel: 'warn' });
  try {
    await run(host.url, 'BenchSequence', 5); // warm-up: module caches, table creation, JIT
    const seq = await run(host.url, 'BenchSequence', count);
    const fan = await run(host.url, 'BenchFanOut', count);
    console.log(`activities: ${count}, concurrency limit ${host.config.maxConcurrentActivityFunctions}`);
    console.log(`sequential: ${seq.toFixed(0)} ms total, ${(seq / count).toFixed(2)} ms per activity`);
    console.log(`fan-out:    ${fan.toFixed(0)} ms total, ${(fan / count).toFixed(2)} ms per activity`);
  } finally {
    await host.stop();
    azurite.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
