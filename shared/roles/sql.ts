/**
 * Text helpers for role DDL, where PostgreSQL takes no $n parameters (CREATE ROLE, ALTER ROLE SET,
 * COMMENT ON ROLE): literals are quoted here the way the server's quote_literal does, and list
 * settings are split the way pg_dumpall splits them.
 */

/** `it's` → `'it''s'`; a backslash makes it an E'' literal with backslashes doubled (quote_literal). */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new Error('a SQL literal cannot contain a NUL character');
  const body = value.replace(/'/g, "''");
  return value.includes('\\') ? `E'${body.replace(/\\/g, '\\\\')}'` : `'${body}'`;
}

/**
 * Settings whose value is a list of (possibly double-quoted) names: ALTER ROLE … SET takes each
 * element as its own literal, or the server would quote the whole text as one name (pg_dumpall's
 * variable_is_guc_list_quote).
 */
const LIST_QUOTE = new Set(['local_preload_libraries', 'search_path', 'session_preload_libraries', 'shared_preload_libraries', 'temp_tablespaces', 'unix_socket_directories']);

/** Splits a stored list value (`app, "$user", public`) into its elements, unquoting "…" ones. */
export function splitGucList(value: string): string[] {
  const out: string[] = [];
  let i = 0;
  const n = value.length;
  const skipSpace = () => {
    while (i < n && /\s/.test(value[i] as string)) i++;
  };
  skipSpace();
  if (i >= n) return out;
  for (;;) {
    let item = '';
    if (value[i] === '"') {
      i++;
      for (;;) {
        if (i >= n) break;
        if (value[i] === '"') {
          if (value[i + 1] === '"') {
            item += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        item += value[i++];
      }
    } else {
      while (i < n && value[i] !== ',' && !/\s/.test(value[i] as string)) item += value[i++];
    }
    out.push(item);
    skipSpace();
    if (i >= n || value[i] !== ',') break;
    i++;
    skipSpace();
  }
  return out;
}

/** One `name=value` element of a setconfig array, as `SET "name" TO …` text (after ALTER ROLE …). */
export function setClause(element: string): { name: string; clause: string } {
  const eq = element.indexOf('=');
  const name = eq < 0 ? element : element.slice(0, eq);
  const value = eq < 0 ? '' : element.slice(eq + 1);
  const values = LIST_QUOTE.has(name.toLowerCase()) ? splitGucList(value) : [value];
  const rendered = values.length === 0 ? "''" : values.map(quoteLiteral).join(', ');
  return { name, clause: `SET ${quoteGucName(name)} TO ${rendered}` };
}

/** GUC names are identifiers, possibly dotted (`pg_stat_statements.track`): quoted as one. */
export function quoteGucName(name: string): string {
  if (name.length === 0 || name.includes('\0')) throw new Error(`invalid setting name ${JSON.stringify(name)}`);
  return `"${name.replace(/"/g, '""')}"`;
}
