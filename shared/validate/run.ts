/**
 * Pre-migration validation (the seed's Validate and ValidateAndMigrate options): every check that
 * can tell up front that a migration would fail halfway. Reads only; never changes either server
 * (the plugin probe makes a temporary slot that disappears with its session).
 *
 * 1. connect to both servers          → AuthenticationAndConnectivityValidation
 * 2. versions                          → SourceVersionValidation
 * 3. source parameters and plugin      → ServerParametersValidation
 * 4. per selected database, in parallel → DatabaseValidation, SchemaValidation,
 *                                         ExtensionsValidation, CollationsValidation
 */
import type { Client } from 'pg';
import type { MigrationMode } from '../model/states';
import { closeQuietly, withClient } from '../pg/connect';
import { PgConnectionError } from '../pg/classify';
import { hostPort, type ServerEndpoint } from '../pg/endpoint';
import { mapLimit } from '../util/map-limit';
import { finding, type Finding } from './codes';
import * as dbFacts from './db-facts';
import { collationFindings, extensionFindings, presenceFindings, readSchemaInputs, schemaFindings, type DbCheckContext } from './db-checks';
import { openForValidation, type ConnectionOutcome } from './connectivity';
import { rethrowInterrupted } from './interrupted';
import { item, overallStatus, type DbLevelValidation, type ValidationDetails, type ValidationItem } from './report';
import { canProbePlugin, connectivityFindings, parameterFindings, versionFindings } from './server-checks';
import { databasesSizeMb, probeDecodingPlugin, readServerParams, type PluginProbe } from './source-facts';
import { publicationFindings } from './publication-checks';
import { readTargetFacts } from './target-facts';
import { fallbackSourceFindings, fallbackTargetFindings } from './fallback-checks';

export interface ValidationRequest {
  source: ServerEndpoint;
  target: ServerEndpoint;
  databases: readonly string[];
  mode: MigrationMode;
  overwriteDbsInTarget: boolean;
  /** Decoding plugin to prefer (PGFERRY_DECODER): pgoutput unless wal2json is asked for. */
  decoder?: 'wal2json' | 'pgoutput';
  /** The migration creates missing roles first (migrateRoles). */
  migrateRoles?: boolean;
  /** Bound on each connection attempt. */
  timeoutMs?: number;
  /** How long the plugin probe may wait for running transactions before it reports them. */
  probeWaitMs?: number;
  /** Databases checked at once (two connections each). */
  concurrency?: number;
  /** fallbackAfterCutover: the target must allow logical decoding and the source login must write its tables. */
  fallbackAfterCutover?: boolean;
  /** The target server's name, for the `az postgres flexible-server` commands in fixes. */
  targetServerName?: string;
}

export interface ValidationOutcome {
  details: ValidationDetails;
  /** The decoding plugin the migration will use (Online, when the source allows one). */
  plugin?: 'wal2json' | 'pgoutput';
}

export async function validateMigration(req: ValidationRequest, now: () => Date = () => new Date()): Promise<ValidationOutcome> {
  const startedAt = now().toISOString();
  const timeoutMs = req.timeoutMs ?? 10_000;
  const finish = (server: ValidationItem[], dbs: DbLevelValidation[], plugin?: ValidationOutcome['plugin']): ValidationOutcome => {
    const partial = { serverLevelValidationDetails: server, dbLevelValidationDetails: dbs };
    const details: ValidationDetails = {
      status: overallStatus(partial),
      validationStartTimeInUtc: startedAt,
      validationEndTimeInUtc: now().toISOString(),
      ...partial,
    };
    return plugin ? { details, plugin } : { details };
  };

  // 1. Connectivity
  const [src, tgt] = await openBoth(req, timeoutMs);
  const connectivity = item('AuthenticationAndConnectivityValidation', [
    ...connectivityFindings('source', req.source.user, hostPort(req.source), src),
    ...connectivityFindings('target', req.target.user, hostPort(req.target), tgt),
  ]);
  if (!src.ok || !tgt.ok) {
    if (src.ok) await closeQuietly(src.client);
    if (tgt.ok) await closeQuietly(tgt.client);
    return finish([connectivity], []);
  }

  try {
    // 2. Versions
    const [sp, tp] = await Promise.all([readServerParams(src.client), readServerParams(tgt.client)]);
    const version = item('SourceVersionValidation', versionFindings(sp, tp));

    // 3. Parameters and the plugin, probed in the first selected database that exists
    const existing = await sourceDatabases(src.client, req.databases);
    const probeDb = req.databases.find((d) => existing.has(d));
    let plugin: PluginProbe | undefined;
    const probeWaitMs = req.probeWaitMs ?? 5000;
    if (req.mode === 'Online' && probeDb !== undefined && canProbePlugin(sp)) {
      plugin = await withClient({ ...req.source, database: probeDb }, timeoutMs, (c) => probeDecodingPlugin(c, sp.versionNum, probeWaitMs, req.decoder ?? 'pgoutput'))
        .catch((err: unknown) => ({ ok: false as const, reason: errorText(rethrowInterrupted(err)) }));
    }
    const sizeMb = await databasesSizeMb(src.client, req.databases);
    const parameters = item('ServerParametersValidation', [
      ...parameterFindings({ mode: req.mode, databases: req.databases.length, source: sp, plugin, sizeMb, probeWaitSeconds: probeWaitMs / 1000 }),
      ...(req.fallbackAfterCutover ? fallbackTargetFindings(tp, req.databases.length, req.targetServerName ?? '<server>') : []),
    ]);

    // 4. Per database
    const target = await readTargetFacts(tgt.client);
    const dbLevel = await mapLimit(req.databases, req.concurrency ?? 4, async (db): Promise<DbLevelValidation> => {
      const dbStarted = now().toISOString();
      const ctx: DbCheckContext = {
        db, mode: req.mode, overwrite: req.overwriteDbsInTarget, sourceVersionNum: sp.versionNum, targetVersionNum: tp.versionNum,
        target, migrateRoles: req.migrateRoles ?? false, targetUser: tp.currentUser, targetCanCreateDb: tp.canCreateDb, targetIsSuperuser: tp.isSuperuser,
        sourcePreload: sp.sharedPreloadLibraries,
        ...(plugin?.ok ? { plugin: plugin.plugin } : {}),
        onTargetDb: (fn) => (target.databases.has(db) ? withClient({ ...req.target, database: db }, timeoutMs, fn) : Promise.resolve(undefined)),
      };
      const needsPublication = req.mode === 'Online' && plugin?.ok === true && plugin.plugin === 'pgoutput';
      const summary = existing.has(db) ? await checkDatabase(ctx, req.source, timeoutMs, sp.currentUser, existing.get(db) ?? 0, needsPublication, req.fallbackAfterCutover === true)
        : [item('DatabaseValidation', [finding('603102', { db })])];
      return { databaseName: db, startedOn: dbStarted, endedOn: now().toISOString(), summary };
    });

    const chosen = plugin?.ok ? plugin.plugin : undefined;
    return finish([connectivity, version, parameters], dbLevel, chosen);
  } catch (err) {
    rethrowInterrupted(err);
    // A catalog read that fails is a finding, not a crash: the user sees what could not be read.
    return finish([connectivity, item('ServerParametersValidation', [finding('603927', { reason: errorText(err) })])], []);
  } finally {
    await Promise.all([closeQuietly(src.client), closeQuietly(tgt.client)]);
  }
}

async function checkDatabase(ctx: DbCheckContext, source: ServerEndpoint, timeoutMs: number, sourceUser: string, sizeBytes: number, needsPublication: boolean, fallback: boolean): Promise<ValidationItem[]> {
  try {
    return await withClient({ ...source, database: ctx.db }, timeoutMs, async (c) => {
      const locale = await dbFacts.databaseLocale(c, ctx.sourceVersionNum);
      const presence: Finding[] = await presenceFindings(ctx, locale.encoding);
      if (!presence.some((f) => f.state !== 'Succeeded')) {
        const target = ctx.target.databases.has(ctx.db) ? 'exists and is empty' : 'will be created';
        presence.unshift(finding('603926', { db: ctx.db, size: formatBytes(sizeBytes), target }));
      }
      const schema = schemaFindings(ctx, await readSchemaInputs(c, ctx.sourceVersionNum, sourceUser));
      if (needsPublication) schema.push(...(await publicationFindings(c, ctx.db, sourceUser)));
      if (fallback) schema.push(...(await fallbackSourceFindings(c, ctx.db, sourceUser, ctx.sourceVersionNum)));
      const extensions = extensionFindings(ctx, await dbFacts.extensions(c));
      const collations = collationFindings(ctx, locale, await dbFacts.usedCollations(c, ctx.sourceVersionNum));
      return [
        item('DatabaseValidation', presence),
        item('SchemaValidation', schema),
        item('ExtensionsValidation', extensions),
        item('CollationsValidation', collations),
      ];
    });
  } catch (err) {
    rethrowInterrupted(err);
    const fix = err instanceof PgConnectionError ? err.classification.fix : '';
    return [item('DatabaseValidation', [finding('603925', { db: ctx.db, reason: errorText(err), fix })])];
  }
}

/** Opens both sides; when one side's session was cut (thrown, to be retried), the other is closed first. */
async function openBoth(req: ValidationRequest, timeoutMs: number): Promise<[ConnectionOutcome, ConnectionOutcome]> {
  const [src, tgt] = await Promise.allSettled([openForValidation(req.source, timeoutMs), openForValidation(req.target, timeoutMs)]);
  if (src.status === 'fulfilled' && tgt.status === 'fulfilled') return [src.value, tgt.value];
  const both = [src, tgt];
  await Promise.all(both.map((o) => (o.status === 'fulfilled' && o.value.ok ? closeQuietly(o.value.client) : undefined)));
  throw both.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []))[0];
}

/** Selected databases that exist on the source, with their size in bytes (0 when not readable). */
async function sourceDatabases(client: Client, dbs: readonly string[]): Promise<Map<string, number>> {
  const { rows } = await client.query<{ name: string; size: string | null }>(`
    SELECT datname AS name, CASE WHEN has_database_privilege(oid, 'CONNECT') THEN pg_database_size(oid) END AS size
      FROM pg_database WHERE datname = ANY($1::text[]) AND NOT datistemplate`, [dbs]);
  return new Map(rows.map((r) => [r.name, Number(r.size ?? 0)]));
}


function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MB`;
  return `${Math.ceil(n / 1024)} kB`;
}
