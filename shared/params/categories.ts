/**
 * The server parameters an application can feel, by category, with why a difference matters.
 * Parameters outside these lists (WAL, replication, logging, paths, SSL …) are the platform's
 * business and are not reported. Names are lower case; pg_settings spells some in mixed case.
 */

export type Category = 'locale-and-formatting' | 'session-defaults' | 'timeouts' | 'memory' | 'query-planning' | 'extensions' | 'capacity';

interface CategoryDef {
  names: readonly string[];
  /** Names matched by prefix (enable_* planner switches). */
  prefixes?: readonly string[];
  reason: string;
}

export const CATEGORIES: Record<Category, CategoryDef> = {
  'locale-and-formatting': {
    names: ['timezone', 'datestyle', 'intervalstyle', 'lc_messages', 'lc_monetary', 'lc_numeric', 'lc_time', 'default_text_search_config',
      'extra_float_digits', 'bytea_output', 'xmlbinary', 'xmloption', 'standard_conforming_strings', 'backslash_quote', 'array_nulls',
      'transform_null_equals', 'escape_string_warning', 'quote_all_identifiers'],
    reason: 'changes how values are parsed or printed (dates, times, numbers, money, strings, messages)',
  },
  'session-defaults': {
    names: ['search_path', 'default_transaction_isolation', 'default_transaction_read_only', 'default_transaction_deferrable', 'row_security',
      'check_function_bodies', 'default_table_access_method', 'default_toast_compression', 'synchronous_commit', 'session_replication_role',
      'client_min_messages', 'gin_fuzzy_search_limit', 'vacuum_freeze_min_age'],
    reason: 'a default every session starts with; application code may rely on it',
  },
  timeouts: {
    names: ['statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout', 'idle_session_timeout', 'deadlock_timeout',
      'tcp_keepalives_idle', 'tcp_keepalives_interval', 'tcp_keepalives_count', 'client_connection_check_interval', 'transaction_timeout'],
    reason: 'queries or sessions may be cut off on the target where they ran on the source, or the reverse',
  },
  memory: {
    names: ['work_mem', 'maintenance_work_mem', 'hash_mem_multiplier', 'temp_buffers', 'autovacuum_work_mem', 'logical_decoding_work_mem'],
    reason: 'sorts, hashes and index builds spill to disk at different sizes, so plans and timings change',
  },
  'query-planning': {
    names: ['random_page_cost', 'seq_page_cost', 'effective_cache_size', 'effective_io_concurrency', 'default_statistics_target',
      'cpu_tuple_cost', 'cpu_index_tuple_cost', 'cpu_operator_cost', 'parallel_setup_cost', 'parallel_tuple_cost',
      'max_parallel_workers_per_gather', 'from_collapse_limit', 'join_collapse_limit', 'geqo', 'geqo_threshold', 'jit',
      'plan_cache_mode', 'constraint_exclusion', 'cursor_tuple_fraction', 'min_parallel_table_scan_size', 'min_parallel_index_scan_size'],
    prefixes: ['enable_'],
    reason: 'the planner may choose different plans',
  },
  extensions: {
    names: ['shared_preload_libraries', 'session_preload_libraries'],
    reason: "an extension's behaviour (or whether it loads at all) depends on it",
  },
  capacity: {
    names: ['max_connections', 'max_prepared_transactions', 'max_locks_per_transaction', 'max_pred_locks_per_transaction',
      'max_worker_processes', 'max_parallel_workers', 'max_parallel_maintenance_workers'],
    reason: 'the target allows less than the source: the application may hit the limit (advice: size the target accordingly)',
  },
};

/** Capacity limits matter only when the target is lower. */
export const ONLY_WHEN_LOWER: ReadonlySet<Category> = new Set(['capacity']);

export function categoryOf(name: string): Category | undefined {
  const n = name.toLowerCase();
  for (const [cat, def] of Object.entries(CATEGORIES) as Array<[Category, CategoryDef]>) {
    if (def.names.includes(n) || def.prefixes?.some((p) => n.startsWith(p))) return cat;
  }
  // Custom and extension settings (pg_stat_statements.track, auto_explain.*, plpgsql.*) are dotted.
  return n.includes('.') ? 'extensions' : undefined;
}
