/**
 * The extracted object model: what schema migration knows about each object it will create on the
 * target. Catalog readers (catalog/*) produce rows, renderers (render/*) turn them into
 * SchemaObjects, order.ts sorts them by their real dependencies and apply.ts runs them.
 */

/**
 * pre-data: everything rows need to load (no secondary index, FK or trigger).
 * keys:     primary keys and replica-identity indexes, needed before change replay.
 * post-data: the rest — indexes, unique/exclusion constraints, FKs, triggers, rules, policies,
 *            materialized-view refresh, ANALYZE.
 */
export type Phase = 'pre-data' | 'keys' | 'post-data';
export const PHASES: readonly Phase[] = ['pre-data', 'keys', 'post-data'];

export function phaseRank(phase: Phase): number {
  return PHASES.indexOf(phase);
}

export type ObjectKind =
  | 'schema'
  | 'extension'
  | 'collation'
  | 'type'
  | 'domain-constraint'
  | 'sequence'
  | 'sequence-owned-by'
  | 'function'
  | 'aggregate'
  | 'table'
  | 'partition-attach'
  | 'column-default'
  | 'check-constraint'
  | 'view'
  | 'materialized-view'
  | 'primary-key'
  | 'index'
  | 'index-attach'
  | 'constraint'
  | 'foreign-key'
  | 'trigger'
  | 'rule'
  | 'row-security'
  | 'policy'
  | 'statistics'
  | 'refresh'
  | 'analyze'
  | 'owner'
  | 'acl'
  | 'default-acl';

/**
 * When an object may run, for callers that schedule finer than a phase:
 * schema       — as soon as its dependencies exist (pre-data);
 * table-loaded — once its own table's rows are loaded (PK, plain indexes, ANALYZE);
 * consistent   — once every table is loaded and replay passed the consistency point (unique
 *                indexes and constraints could collide on transient states before; FKs, triggers…);
 * drained      — once replay has drained at completion (FKs on a target whose login cannot set
 *                session_replication_role: their ON DELETE/UPDATE actions would fire on replay).
 */
export type Readiness = 'schema' | 'table-loaded' | 'consistent' | 'drained';

/** A query on the target telling whether an object is already there (idempotent re-runs). */
export interface ExistsCheck {
  /** Returns one row with a text column `state`: 'done', 'absent' or 'broken'. */
  sql: string;
  /** Values only (names as text), never spliced into the SQL. */
  params: unknown[];
  /** Removes a broken leftover (an invalid index from a crashed build) before creating again. */
  repair?: string;
}

export interface SchemaObject {
  /** Unique in the plan, e.g. `table:16385`, `acl:table:16385`. */
  id: string;
  kind: ObjectKind;
  /** What a DBA reads in a report, e.g. `index app."Order Items by price"`. */
  name: string;
  phase: Phase;
  readiness: Readiness;
  /** Statements, run in order — in one transaction when `transactional`. */
  sql: string[];
  transactional: boolean;
  /** Absent for statements that are idempotent by nature (COMMENT, GRANT, ALTER … OWNER). */
  check?: ExistsCheck;
  /** Ids of objects that must exist first (same or earlier phase). */
  deps: string[];
  /**
   * Those of `deps` that only order the work: their failure does not skip this object (privileges
   * still apply when changing the owner failed).
   */
  orderOnly?: string[];
  /** Id of the table or materialized view the object belongs to, for per-table scheduling. */
  table?: string;
}

export interface ColumnPlan {
  name: string;
  /** format_type() text, schema-qualified where needed. */
  type: string;
  notNull: boolean;
  /** A generated (stored) column: never copied, the target computes it. */
  generated: boolean;
  identity: 'always' | 'by-default' | null;
}

/** What the copy phase needs per table. */
export interface TablePlan {
  /** Id of the table's pre-data object. */
  id: string;
  schema: string;
  name: string;
  /** Quoted, schema-qualified name. */
  qualified: string;
  /** A partitioned table holds no rows itself; its leaf partitions do. */
  partitioned: boolean;
  /** Quoted name of the parent when this is a partition. */
  partitionOf: string | null;
  unlogged: boolean;
  /** Columns in attribute order (dropped ones excluded). */
  columns: ColumnPlan[];
  primaryKey: string[] | null;
  /** A PK or unique NOT NULL single integer column, to split the copy into ranges. */
  chunkKey: { column: string; type: 'smallint' | 'integer' | 'bigint' } | null;
  replicaIdentity: 'default' | 'full' | 'nothing' | 'index';
  /**
   * Ids of this table's keys-phase objects (primary key, replica-identity index). For a
   * partitioned table, run its lists after those of its partitions: they attach theirs.
   */
  keys: string[];
  /** Ids of post-data objects that may run as soon as this table is loaded. */
  afterLoad: string[];
  /** Ids of post-data objects of this table that must wait for the consistency point. */
  afterConsistency: string[];
}

export interface PlanWarning {
  code:
    | 'missing-role'
    | 'unsupported-object'
    | 'extension-version'
    | 'extension-unavailable'
    | 'missing-collation'
    | 'dependency-cycle'
    | 'dropped-oids'
    | 'invalid-index'
    | 'phase-promoted'
    | 'target-older';
  message: string;
  object?: string;
}

export interface SchemaPlan {
  sourceVersionNum: number;
  targetVersionNum: number;
  /** Every object, phase by phase, each after its dependencies. */
  objects: SchemaObject[];
  tables: TablePlan[];
  warnings: PlanWarning[];
}

/** Builds an object with the defaults most kinds share. */
export function makeObject(o: Omit<SchemaObject, 'transactional' | 'readiness' | 'deps'> & Partial<SchemaObject>): SchemaObject {
  const readiness = o.readiness ?? (o.phase === 'pre-data' ? 'schema' : o.phase === 'keys' ? 'table-loaded' : 'consistent');
  return { transactional: true, deps: [], ...o, readiness };
}
