/**
 * extractSchema: reads the source catalogs in one read-only snapshot (search_path empty, so every
 * server-side helper prints schema-qualified names) and turns them into an ordered SchemaPlan.
 *
 * 1. read every object family          (catalog/*)
 * 2. render objects, owners and ACLs   (render/*)
 * 3. add dependency edges from pg_depend, plus the ones pg_depend cannot know
 * 4. order them and split into phases   (order.ts)
 * 5. per-table access for the copy      (tables.ts)
 */
import type { ClientBase } from 'pg';
import { readDefaultAcls } from './catalog/acl';
import { readCollations, readSystemCollationsInUse } from './catalog/collations';
import { readComments } from './catalog/comments';
import { readChecks, readForeignKeys } from './catalog/constraints';
import { readDepends, readInternalDepends, type DependRow } from './catalog/depend';
import { readExtensionMembers, readExtensions } from './catalog/extensions';
import type { CatalogContext } from './catalog/filters';
import { readAggregates, readFunctions } from './catalog/functions';
import { readIndexes } from './catalog/indexes';
import { readPolicies } from './catalog/policies';
import { readSchemas } from './catalog/schemas';
import { readSequences } from './catalog/sequences';
import { readStatistics } from './catalog/statistics';
import { readColumns, readTables } from './catalog/tables';
import { readRules, readTriggers } from './catalog/triggers';
import { readComposites, readDomainConstraints, readDomains, readEnums, readRanges, readTypeAliases } from './catalog/types';
import { readUnsupported } from './catalog/unsupported';
import { readViewRules, readViews } from './catalog/views';
import { finishPlan } from './finish';
import type { SchemaPlan } from './model';
import { quoteQualified } from '../pg/ident';
import { address, PlanBuilder, type RenderOptions } from './render/builder';
import { renderForeignKeys } from './render/constraints';
import { renderDefaultAcls } from './render/default-acl';
import { renderFunctions } from './render/functions';
import { renderIndexes, type RelationNames } from './render/indexes';
import { renderCollations } from './render/collations';
import { renderExtensions } from './render/extensions';
import { renderSchemas } from './render/schemas';
import { renderSequences } from './render/sequences';
import { renderTables, tableId } from './render/tables';
import { renderPolicies } from './render/policies';
import { renderStatistics } from './render/statistics';
import { renderRules, renderTriggers } from './render/triggers';
import { renderComposites, renderDomains, renderEnums, renderRanges } from './render/types';
import { renderViews, viewId } from './render/views';

export interface ExtractOptions {
  /** server_version_num of the target; defaults to the source's. */
  targetVersionNum?: number;
  /** Roles that exist on the target; owners and grants naming others are reported and left out. */
  targetRoles?: Iterable<string> | null;
  /** Extension → versions the target can install (pg_available_extension_versions). */
  targetExtensions?: ReadonlyMap<string, readonly string[]> | null;
  /** Built-in collations of the target: those the source uses and the target lacks are reported. */
  targetCollations?: Iterable<string> | null;
  /** Read the catalogs in this exported snapshot (pg_export_snapshot / a slot's snapshot). */
  snapshot?: string;
  /** Build plain secondary indexes with CREATE INDEX CONCURRENTLY (no write lock during replay). */
  concurrentIndexes?: boolean;
  /** Create triggers and rules disabled until completion (RenderOptions.holdTriggers). */
  holdTriggers?: boolean;
  /** Create foreign keys at completion (RenderOptions.holdForeignKeys). */
  holdForeignKeys?: boolean;
  /** Identity ALWAYS columns BY DEFAULT until completion (RenderOptions.holdIdentity). */
  holdIdentity?: boolean;
}

export async function extractSchema(client: ClientBase, opts: ExtractOptions = {}): Promise<SchemaPlan> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    if (opts.snapshot !== undefined) {
      if (!/^[0-9A-F]+(-[0-9A-F]+)+$/i.test(opts.snapshot)) throw new Error(`not a snapshot id: ${opts.snapshot}`);
      await client.query(`SET TRANSACTION SNAPSHOT '${opts.snapshot}'`);
    }
    // Every pg_get_*def and format_type then qualifies names: the text is valid in any session.
    await client.query(`SELECT pg_catalog.set_config('search_path', '', true)`);
    const { rows } = await client.query<{ v: string }>(`SELECT pg_catalog.current_setting('server_version_num') AS v`);
    const ctx: CatalogContext = { client, versionNum: Number(rows[0]?.v) };
    const catalog = await readCatalog(ctx);
    return buildPlan(catalog, {
      sourceVersionNum: ctx.versionNum,
      targetVersionNum: opts.targetVersionNum ?? ctx.versionNum,
      targetRoles: opts.targetRoles ? new Set(opts.targetRoles) : null,
      targetExtensions: opts.targetExtensions ?? null,
      concurrentIndexes: opts.concurrentIndexes ?? false,
      targetCollations: opts.targetCollations ? new Set(opts.targetCollations) : null,
      holdTriggers: opts.holdTriggers ?? false,
      holdForeignKeys: opts.holdForeignKeys ?? false,
      holdIdentity: opts.holdIdentity ?? false,
    });
  } finally {
    await client.query('COMMIT');
  }
}

export type Catalog = Awaited<ReturnType<typeof readCatalog>>;

/** Step 1: one query per family, one after another (a client runs one query at a time). */
export async function readCatalog(ctx: CatalogContext) {
  return {
    schemas: await readSchemas(ctx),
    extensions: await readExtensions(ctx),
    extensionMembers: await readExtensionMembers(ctx),
    collations: await readCollations(ctx),
    collationsInUse: await readSystemCollationsInUse(ctx),
    enums: await readEnums(ctx),
    domains: await readDomains(ctx),
    domainConstraints: await readDomainConstraints(ctx),
    composites: await readComposites(ctx),
    ranges: await readRanges(ctx),
    typeAliases: await readTypeAliases(ctx),
    functions: await readFunctions(ctx),
    aggregates: await readAggregates(ctx),
    sequences: await readSequences(ctx),
    tables: await readTables(ctx),
    columns: await readColumns(ctx),
    checks: await readChecks(ctx),
    foreignKeys: await readForeignKeys(ctx),
    indexes: await readIndexes(ctx),
    views: await readViews(ctx),
    viewRules: await readViewRules(ctx),
    triggers: await readTriggers(ctx),
    rules: await readRules(ctx),
    policies: await readPolicies(ctx),
    statistics: await readStatistics(ctx),
    defaultAcls: await readDefaultAcls(ctx),
    comments: await readComments(ctx),
    depends: await readDepends(ctx),
    internalDepends: await readInternalDepends(ctx),
    unsupported: await readUnsupported(ctx),
  };
}

/** Steps 2–5, pure: the catalog rows in, the plan out. */
export function buildPlan(catalog: Catalog, options: RenderOptions): SchemaPlan {
  const b = new PlanBuilder(options, catalog.comments);
  for (const m of catalog.extensionMembers) b.alias(address(m.catalog, m.objid), `extension:${m.extension}`);
  for (const t of catalog.typeAliases) b.aliases.set(address('pg_type', t.oid), address(t.catalog, t.target));
  for (const d of catalog.internalDepends) b.aliases.set(address(d.catalog, d.objid), address(d.ref_catalog, d.refobjid));

  const tableNames = new Map(catalog.tables.map((t) => [t.oid, quoteQualified(t.schema, t.name)]));
  const relations = new Map<number, { id: string; qualified: string }>();
  for (const [oid, qualified] of tableNames) relations.set(oid, { id: tableId(oid), qualified });
  for (const v of catalog.views) relations.set(v.oid, { id: viewId(v.oid), qualified: quoteQualified(v.schema, v.name) });

  renderSchemas(b, catalog.schemas);
  renderExtensions(b, catalog.extensions);
  renderCollations(b, catalog.collations);
  renderEnums(b, catalog.enums);
  renderDomains(b, catalog.domains, catalog.domainConstraints);
  renderComposites(b, catalog.composites);
  renderRanges(b, catalog.ranges);
  renderFunctions(b, catalog.functions, catalog.aggregates);
  renderSequences(b, catalog.sequences, tableNames);
  const tables = renderTables(b, {
    tables: catalog.tables,
    columns: catalog.columns,
    checks: catalog.checks,
    sequences: catalog.sequences,
    callsUserFunction: callsUserFunction(catalog.depends, new Set(catalog.functions.map((f) => f.oid))),
  });
  renderViews(b, catalog.views);
  for (const r of catalog.viewRules) b.alias(address('pg_rewrite', r.oid), viewId(r.view));
  renderIndexes(b, catalog.indexes, relations as RelationNames);
  renderForeignKeys(b, catalog.foreignKeys, relations, new Set(catalog.tables.filter((t) => t.relkind === 'p').map((t) => t.oid)));
  renderTriggers(b, catalog.triggers, relations);
  renderRules(b, catalog.rules, relations);
  renderPolicies(b, catalog.policies, relations);
  renderStatistics(b, catalog.statistics, relations);
  renderDefaultAcls(b, catalog.defaultAcls);

  addDependEdges(b, catalog.depends);
  const targetCollations = options.targetCollations;
  for (const c of catalog.collationsInUse) {
    if (targetCollations && !targetCollations.has(c.name)) {
      b.warn({ code: 'missing-collation', object: `collation "${c.name}"`, message: `collation "${c.name}" (used ${c.uses} time(s)) does not exist on the target: objects using it will fail` });
    }
  }
  for (const u of catalog.unsupported) {
    b.warn({ code: 'unsupported-object', message: `${u.count} user-defined ${u.kind}${u.count === 1 ? '' : 's'} not migrated` });
  }
  return finishPlan(b, tables, catalog.indexes);
}

/** Column defaults and CHECKs whose expression calls a user function (see render/tables.ts). */
function callsUserFunction(depends: readonly DependRow[], functions: ReadonlySet<number>): Set<string> {
  const out = new Set<string>();
  for (const d of depends) {
    if ((d.catalog === 'pg_attrdef' || d.catalog === 'pg_constraint') && d.ref_catalog === 'pg_proc' && functions.has(d.refobjid)) {
      out.add(address(d.catalog, d.objid));
    }
  }
  return out;
}

/** Step 3: each normal pg_depend row between two migrated objects becomes an edge. */
function addDependEdges(b: PlanBuilder, depends: readonly DependRow[]): void {
  for (const d of depends) {
    const from = b.resolve(address(d.catalog, d.objid));
    const to = b.resolve(address(d.ref_catalog, d.refobjid));
    if (!from || !to || from === to) continue;
    b.byId.get(from)?.deps.push(to);
  }
}
