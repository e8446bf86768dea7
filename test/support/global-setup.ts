/**
 * Vitest global setup of the integration and e2e projects: one source (PostgreSQL 15,
 * wal_level=logical, wal2json, SSL off), one target (PostgreSQL 15, SSL on with a test CA) and one
 * Azurite Table service, shared by every test file (each file makes its own databases and table
 * prefixes). Other majors are started on demand by the files that need them (startCluster({ major })).
 *
 * Vitest runs a project's global setup once per project; both projects run in one main process,
 * so the servers are kept on globalThis and started once, stopped when the last project tears down.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node' with { 'resolution-mode': 'import' };
import { startCluster, type Cluster, type ServerInfo } from './cluster';
import { startAzurite, type Azurite, type AzuriteInfo } from './azurite';
import { describeViolation, readViolations } from './action-watch';

declare module 'vitest' {
  export interface ProvidedContext {
    source: ServerInfo;
    target: ServerInfo;
    azurite: AzuriteInfo;
    /** Where every host's action watcher writes (test/support/action-watcher.cjs). */
    actionWatchDir: string;
  }
}

interface Rig {
  source: ServerInfo;
  target: ServerInfo;
  azurite: AzuriteInfo;
  actionWatchDir: string;
  stop(): Promise<void>;
}

async function startRig(): Promise<Rig> {
  const started: Array<Cluster | Azurite> = [];
  const stopAll = async () => {
    await Promise.allSettled(started.reverse().map((s) => s.stop()));
  };
  try {
    const [source, target, azurite] = await Promise.all([
      startCluster({ label: 'source', logical: true }),
      startCluster({ label: 'target', ssl: true, logical: true }),
      startAzurite(),
    ]);
    started.push(source, target, azurite);
    if (!source.info.wal2json) {
      throw new Error('wal2json is not installed for PostgreSQL 15: apt-get install -y postgresql-15-wal2json (as .ci/run does)');
    }
    const actionWatchDir = mkdtempSync(join(tmpdir(), 'pgferry-action-watch-'));
    return { source: source.info, target: target.info, azurite: azurite.info, actionWatchDir, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

const SHARED = Symbol.for('pgferry.test.rig');
type Holder = { [SHARED]?: { rig: Promise<Rig>; projects: number } };

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const holder = globalThis as Holder;
  const shared = (holder[SHARED] ??= { rig: startRig(), projects: 0 });
  shared.projects++;
  const rig = await shared.rig;
  project.provide('source', rig.source);
  project.provide('target', rig.target);
  project.provide('azurite', rig.azurite);
  project.provide('actionWatchDir', rig.actionWatchDir);
  return async () => {
    if (--shared.projects > 0) return;
    delete holder[SHARED];
    await rig.stop();
    checkActionWatch(rig.actionWatchDir);
  };
}

/**
 * The whole run's backstop for the per-file check in stopAllHosts(): any Task.any/Task.all that held a
 * task already yielded, in any host, fails the run (files named *.expected.jsonl were provoked on purpose).
 */
function checkActionWatch(dir: string): void {
  const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl') && !f.endsWith('.expected.jsonl'));
  const violations = files.flatMap((f) => readViolations(join(dir, f)).map((v) => `${f}: ${describeViolation(v)}`));
  rmSync(dir, { recursive: true, force: true });
  if (violations.length > 0) {
    process.exitCode = 1;
    throw new Error(`the Durable extension would schedule these tasks twice (azure-functions-durable-js#574):\n${violations.join('\n')}`);
  }
}
