/**
 * What `pgferry` exits with, so scripts can branch on it (docs/cli.md). Stable: changing a number
 * breaks every script that tests it.
 */
export const EXIT = {
  /** The command did what was asked; for watch, the migration Succeeded (or is ready for cutover with --until-cutover-ready). */
  ok: 0,
  /** watch: the migration ended Failed, ValidationFailed or Canceled. check-name: the name is not available. */
  migrationFailed: 1,
  /** The command line is wrong (unknown option, missing --server, unreadable properties file …). */
  usage: 2,
  /** The service answered with an error (4xx/5xx); its message, field and fix went to stderr. */
  api: 3,
  /** The service could not be reached (refused, DNS, timeout). */
  unreachable: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
