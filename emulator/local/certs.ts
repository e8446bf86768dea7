/**
 * A throwaway CA and a server certificate for `localhost` (SAN DNS:localhost only, so connecting
 * by 127.0.0.1 fails hostname verification — the VerifyFull case tests need both outcomes).
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ServerCerts {
  caCertPem: string;
  certFile: string;
  keyFile: string;
}

export async function makeServerCerts(dir: string): Promise<ServerCerts> {
  const p = (f: string) => join(dir, f);
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=pgferry test CA',
    '-keyout', p('ca.key'), '-out', p('ca.crt')]);
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost',
    '-keyout', p('server.key'), '-out', p('server.csr')]);
  writeFileSync(p('san.ext'), 'subjectAltName=DNS:localhost\n');
  await run('openssl', ['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'),
    '-CAcreateserial', '-days', '2', '-extfile', p('san.ext'), '-out', p('server.crt')]);
  const { chmodSync } = await import('node:fs');
  chmodSync(p('server.key'), 0o600);
  return { caCertPem: readFileSync(p('ca.crt'), 'utf8'), certFile: p('server.crt'), keyFile: p('server.key') };
}
