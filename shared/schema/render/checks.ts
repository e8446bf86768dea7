/**
 * Existence checks run on the target before each CREATE, so a phase re-run after a crash skips
 * what is there and rebuilds what a crash left half-made. Names travel as $n values: relation
 * names as quoted, qualified text for to_regclass, others as raw catalog names.
 */
import type { ExistsCheck } from '../model';

function exists(condition: string, params: unknown[]): ExistsCheck {
  return { sql: `SELECT CASE WHEN ${condition} THEN 'done' ELSE 'absent' END AS state`, params };
}

export function schemaExists(name: string): ExistsCheck {
  return exists('EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)', [name]);
}

export function extensionExists(name: string): ExistsCheck {
  return exists('EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = $1)', [name]);
}

/** Tables, views, sequences: by quoted qualified name. */
export function relationExists(qualified: string): ExistsCheck {
  return exists('pg_catalog.to_regclass($1) IS NOT NULL', [qualified]);
}

export function typeExists(schema: string, name: string): ExistsCheck {
  return exists(
    `EXISTS (SELECT 1 FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
              WHERE n.nspname = $1 AND t.typname = $2)`,
    [schema, name],
  );
}

export function collationExists(schema: string, name: string): ExistsCheck {
  return exists(
    `EXISTS (SELECT 1 FROM pg_catalog.pg_collation c JOIN pg_catalog.pg_namespace n ON n.oid = c.collnamespace
              WHERE n.nspname = $1 AND c.collname = $2)`,
    [schema, name],
  );
}

export function functionExists(schema: string, name: string, identityArgs: string): ExistsCheck {
  return exists(
    `EXISTS (SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
              WHERE n.nspname = $1 AND p.proname = $2 AND pg_catalog.pg_get_function_identity_arguments(p.oid) = $3)`,
    [schema, name, identityArgs],
  );
}

export function statisticsExists(schema: string, name: string): ExistsCheck {
  return exists(
    `EXISTS (SELECT 1 FROM pg_catalog.pg_statistic_ext s JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace
              WHERE n.nspname = $1 AND s.stxname = $2)`,
    [schema, name],
  );
}

export function tableConstraintExists(table: string, name: string): ExistsCheck {
  return exists(
    'EXISTS (SELECT 1 FROM pg_catalog.pg_constraint WHERE conrelid = pg_catalog.to_regclass($1) AND conname = $2)',
    [table, name],
  );
}

export function domainConstraintExists(schema: string, domain: string, name: string): ExistsCheck {
  return exists(
    `EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_type t ON t.oid = c.contypid
              JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
              WHERE n.nspname = $1 AND t.typname = $2 AND c.conname = $3)`,
    [schema, domain, name],
  );
}

export function triggerExists(table: string, name: string): ExistsCheck {
  return exists('EXISTS (SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = pg_catalog.to_regclass($1) AND tgname = $2)', [table, name]);
}

export function ruleExists(table: string, name: string): ExistsCheck {
  return exists('EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite WHERE ev_class = pg_catalog.to_regclass($1) AND rulename = $2)', [table, name]);
}

export function policyExists(table: string, name: string): ExistsCheck {
  return exists('EXISTS (SELECT 1 FROM pg_catalog.pg_policy WHERE polrelid = pg_catalog.to_regclass($1) AND polname = $2)', [table, name]);
}

/** A partition or an index attached to its parent. */
export function inheritsExists(child: string, parent: string): ExistsCheck {
  return exists(
    'EXISTS (SELECT 1 FROM pg_catalog.pg_inherits WHERE inhrelid = pg_catalog.to_regclass($1) AND inhparent = pg_catalog.to_regclass($2))',
    [child, parent],
  );
}

/**
 * An index: done when valid (a partitioned index counts once it exists: it turns valid only when
 * every partition's index is attached); broken when a crashed CONCURRENTLY build left it invalid.
 */
export function indexState(index: string): ExistsCheck {
  return {
    sql: `SELECT COALESCE((SELECT CASE WHEN i.indisvalid OR c.relkind = 'I' THEN 'done' ELSE 'broken' END
                             FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
                            WHERE i.indexrelid = pg_catalog.to_regclass($1)), 'absent') AS state`,
    params: [index],
    repair: `DROP INDEX IF EXISTS ${index}`,
  };
}

/** A constraint built from an index (PK, UNIQUE … USING INDEX): an index without it is a leftover. */
export function indexConstraintState(table: string, name: string, index: string): ExistsCheck {
  return {
    sql: `SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_constraint WHERE conrelid = pg_catalog.to_regclass($1) AND conname = $2)
                      THEN 'done'
                      WHEN pg_catalog.to_regclass($3) IS NOT NULL THEN 'broken' ELSE 'absent' END AS state`,
    params: [table, name, index],
    repair: `DROP INDEX IF EXISTS ${index}`,
  };
}

export function matviewPopulated(qualified: string): ExistsCheck {
  return exists('COALESCE((SELECT relispopulated FROM pg_catalog.pg_class WHERE oid = pg_catalog.to_regclass($1)), false)', [qualified]);
}

/**
 * ANALYZE of a table: done once the target says it was analyzed (pg_stat_user_tables, also for a
 * table without rows) or holds column statistics for it (pg_stats, which survive a stats reset).
 * The table's own ANALYZE runs as soon as it is loaded; post-data then finds it done instead of
 * sampling every table again.
 */
export function analyzed(qualified: string, schema: string, table: string): ExistsCheck {
  return exists(
    `(SELECT last_analyze FROM pg_catalog.pg_stat_user_tables WHERE relid = pg_catalog.to_regclass($1)) IS NOT NULL
      OR EXISTS (SELECT 1 FROM pg_catalog.pg_stats WHERE schemaname = $2 AND tablename = $3)`,
    [qualified, schema, table],
  );
}
