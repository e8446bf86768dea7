/**
 * Vitest global setup of the integration project: one source (PostgreSQL 15, wal_level=logical,
 * wal2json, SSL off), one target (PostgreSQL 15, SSL on with a test CA) and one Azurite Table
 * service, shared by every test file (each file makes its own databases and table prefixes).
 * Other majors are started on demand by the files that need them (startCluster({ major })).
 */
import type { TestProject } from 'vitest/node' with { 'resolution-mode': 'import' };
import { startCluster, type Cluster, type ServerInfo } from './cluster';
import { startAzurite, type Azurite, type AzuriteInfo } from './azurite';

declare module 'vitest' {
  export interface ProvidedContext {
    source: ServerInfo;
    target: ServerInfo;
    azurite: AzuriteInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
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
    project.provide('source', source.info);
    project.provide('target', target.info);
    project.provide('azurite', azurite.info);
  } catch (err) {
    await stopAll();
    throw err;
  }
  return stopAll;
}
