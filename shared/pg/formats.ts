/**
 * The value formats every pgferry session runs with, whatever the server, database or role
 * defaults are (ALTER DATABASE … SET DateStyle = 'SQL, DMY' is legal and common).
 *
 * pgferry moves values as text: COPY, logical decoding output, verification checksums and the
 * applier's parameters are all rendered by one server and parsed by another. Text means the same
 * on both sides only when both use the same styles: ISO dates (unambiguous day/month order),
 * the postgres IntervalStyle, UTC (a timestamptz's text then carries +00, not a local offset the
 * other side reads with its own rules), every float digit, hex bytea, lc_monetary C (money's text
 * depends on it), array_nulls on (NULL array elements parse as NULL), and standard conforming
 * strings (pgferry's SQL literals double quotes and nothing else).
 *
 * connect.ts applies them to every session it opens, walsender (replication=database) sessions
 * included: the decoding backend runs the output functions with its own session settings.
 */
export const VALUE_FORMATS: ReadonlyArray<readonly [string, string]> = [
  ['DateStyle', 'ISO, MDY'],
  ['IntervalStyle', 'postgres'],
  ['TimeZone', 'UTC'],
  ['extra_float_digits', '3'],
  ['bytea_output', 'hex'],
  ['lc_monetary', 'C'],
  ['array_nulls', 'on'],
  ['standard_conforming_strings', 'on'],
];

/** `SET name = 'value'; …` for settings whose names are constants of this code base. */
export function setStatements(settings: ReadonlyArray<readonly [string, string]>): string {
  return settings.map(([k, v]) => `SET ${k} = '${v.replace(/'/g, "''")}'`).join('; ');
}

/** One simple-protocol query setting every value format (a walsender accepts it too). */
export const VALUE_FORMATS_SQL = setStatements(VALUE_FORMATS);
