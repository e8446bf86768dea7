/**
 * How the CLI prints: aligned tables, the grid's columns, one line per database for watch, and
 * API errors with their field and fix. Latency is shown in minutes, as the portal shows it.
 */
import type { DbMigrationStatus, MigrationResource, ValidationSummaryItem } from '../shared/model/migration-resource';
import type { ApiFailure } from './client';

/** Columns padded to their widest cell; the last column is not padded. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function duration(startIso?: string, endIso?: string, now = Date.now()): string {
  if (!startIso) return '';
  const start = Date.parse(startIso);
  const end = endIso ? Date.parse(endIso) : now;
  if (Number.isNaN(start) || Number.isNaN(end)) return '';
  let s = Math.max(0, Math.round((end - start) / 1000));
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return h > 0 ? `${h}h ${m}m ${s}s` : m > 0 ? `${m}m ${s}s` : `${s}s`;
}

/** Seconds → minutes as the portal's "Latency (minutes)" shows them (20 s → 0.33333). */
export function latencyMinutes(seconds: number | undefined): string {
  return seconds === undefined ? '-' : String(Number((seconds / 60).toFixed(5)));
}

export function bytes(n: number | undefined): string {
  if (n === undefined) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function count(n: number | undefined): string {
  return n === undefined ? '-' : n.toLocaleString('en-US');
}

/** `host:port@user` → `host:port`; an Azure resource id → its last segment. */
export function sourceServer(p: MigrationResource['properties']): string {
  if (p.sourceDbServerFullyQualifiedDomainName) return p.sourceDbServerFullyQualifiedDomainName;
  const id = p.sourceDbServerResourceId ?? '';
  if (id.startsWith('/')) return id.split('/').filter(Boolean).pop() ?? id;
  const at = id.indexOf('@');
  return at < 0 ? id : id.slice(0, at);
}

export function listTable(list: readonly MigrationResource[], now = Date.now()): string {
  if (list.length === 0) return 'No migrations.';
  return table(
    ['NAME', 'STATUS', 'SUBSTATE', 'MODE', 'TYPE', 'SOURCE SERVER', 'SOURCE TYPE', 'DATABASES', 'DURATION', 'START TIME'],
    list.map((m) => {
      const p = m.properties;
      return [
        m.name,
        p.currentStatus.state,
        p.currentStatus.currentSubStateDetails.currentSubState,
        p.migrationMode,
        p.migrationOption,
        sourceServer(p),
        p.sourceType,
        p.dbsToMigrate.join(','),
        duration(p.startedOn, p.endedOn, now),
        p.startedOn ?? '',
      ];
    }),
  );
}

function tables(d: DbMigrationStatus): string {
  const total = d.fullLoadTotalTables ?? (d.fullLoadQueuedTables ?? 0) + (d.fullLoadLoadingTables ?? 0) + (d.fullLoadCompletedTables ?? 0) + (d.fullLoadErroredTables ?? 0);
  return `${d.fullLoadCompletedTables ?? 0}/${total}${d.fullLoadErroredTables ? ` (${d.fullLoadErroredTables} errored)` : ''}`;
}

export function databaseTable(m: MigrationResource): string {
  const details = m.properties.currentStatus.currentSubStateDetails.dbDetails;
  const rows = m.properties.dbsToMigrate.map((name) => details[name]).filter((d): d is DbMigrationStatus => d !== undefined);
  if (rows.length === 0) return 'No database has started yet.';
  return table(
    ['DATABASE', 'STATE', 'OPERATION', 'TABLES', 'ROWS', 'COPIED', 'LATENCY (MIN)', 'INSERTS', 'UPDATES', 'DELETES', 'RETAINED WAL', 'PLUGIN'],
    rows.map((d) => [
      d.databaseName,
      d.migrationState,
      d.migrationOperation ?? '',
      tables(d),
      count(d.fullLoadRowsCopied),
      copyProgressText(d) || (d.fullLoadPercent !== undefined ? `${d.fullLoadPercent.toFixed(1)}%` : '-'),
      latencyMinutes(d.latency),
      count(d.cdcInsertCounter),
      count(d.cdcUpdateCounter),
      count(d.cdcDeleteCounter),
      bytes(d.retainedWalBytes),
      d.decodingPlugin ?? '',
    ]),
  );
}

/** 42 → "42s", 125 → "2m 5s", 7300 → "2h 1m": a time estimate, coarse on purpose. */
export function secondsText(s: number): string {
  const t = Math.max(0, Math.round(s));
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m ${t % 60}s`;
  return `${Math.floor(t / 3600)}h ${Math.floor((t % 3600) / 60)}m`;
}

/** "42.5% of ~1.2 GiB, ~3m 10s left" while a full load runs; '' before it is planned or once it is done. */
export function copyProgressText(d: DbMigrationStatus): string {
  if (d.fullLoadPercent === undefined || (d.fullLoadPercent >= 100 && !d.fullLoadRunningTables?.length)) return '';
  const eta = d.fullLoadSecondsRemaining !== undefined ? `, ~${secondsText(d.fullLoadSecondsRemaining)} left` : '';
  return `${d.fullLoadPercent.toFixed(1)}% of ~${bytes(d.fullLoadEstimatedBytes)}${eta}`;
}

/** A text bar: `[#######-------]`, `width` cells inside the brackets. */
export function bar(percent: number, width: number): string {
  const filled = Math.round((Math.min(100, Math.max(0, percent)) / 100) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

/**
 * The progress block of a database for watch on a terminal: a bar for the database while its
 * full load runs, and one per running table; [] when there is no copy to show.
 */
export function progressBars(d: DbMigrationStatus, width: number): string[] {
  const text = copyProgressText(d);
  if (!text) return [];
  const barWidth = Math.max(10, Math.min(40, width - 60));
  const lines = [`    ${bar(d.fullLoadPercent ?? 0, barWidth)} ${text}`];
  for (const t of d.fullLoadRunningTables ?? []) {
    lines.push(`      ${bar(t.percent, barWidth - 2)} ${t.percent.toFixed(1)}% ${t.schemaName}.${t.tableName}: ${count(t.rowsCopied)} of ~${count(t.estimatedRows)} rows, ${bytes(t.bytesCopied)}`);
  }
  return lines;
}

/** One line per database, for `watch` without a terminal: compare lines to print only changes. */
export function databaseLine(d: DbMigrationStatus): string {
  const progress = copyProgressText(d);
  return [
    `${d.databaseName}: ${d.migrationState}`,
    d.migrationOperation ? `(${d.migrationOperation})` : '',
    `tables ${tables(d)}`,
    `rows ${count(d.fullLoadRowsCopied)}`,
    progress ? `(${progress})` : '',
    `latency ${latencyMinutes(d.latency)} min`,
    `cdc +${count(d.cdcInsertCounter)} ~${count(d.cdcUpdateCounter)} -${count(d.cdcDeleteCounter)}`,
    // Waiting for cutover: how many tables a cutover now would not compare again.
    d.migrationState === 'WaitingForCutoverTrigger' && d.tablesVerifiedAhead !== undefined ? `verified ahead ${count(d.tablesVerifiedAhead)}/${count(d.fullLoadTotalTables)}` : '',
    d.migrationState === 'Failed' && d.message ? `— error: ${d.message}` : '',
    reverseText(d),
  ]
    .filter(Boolean)
    .join(' ');
}

/** A database step 3 holds back because it exists, not empty, on the target (shared/steps/gate.ts sets this operation). */
const OCCUPIED = 'Waiting for overwrite confirmation';

/**
 * What a waiting migration waits for and the command that releases it (the same PATCH the portal's
 * buttons send); undefined when it is not waiting on the user before its data migration or canceling.
 */
export function waitingAdvice(m: MigrationResource, server: string): string | undefined {
  const s = m.properties.currentStatus;
  const sub = s.currentSubStateDetails.currentSubState;
  const dbs = Object.values(s.currentSubStateDetails.dbDetails);
  const cmd = (flags: string) => `pgferry update --server ${server} --name ${m.name} ${flags}`;
  switch (sub) {
    case 'WaitingForTargetDBOverwriteConfirmation': {
      const occupied = dbs.filter((d) => d.migrationOperation?.startsWith(OCCUPIED)).map((d) => d.databaseName);
      const which = occupied.length > 0 ? occupied.join(', ') : 'Some databases to migrate';
      return `Waiting for overwrite confirmation: ${which} ${occupied.length === 1 ? 'exists' : 'exist'} on the target and ${occupied.length === 1 ? 'is' : 'are'} not empty. To replace ${occupied.length === 1 ? 'it' : 'them'}: ${cmd('--overwrite-dbs')} (or drop ${occupied.length === 1 ? 'it' : 'them'} on the target; or pgferry cancel).`;
    }
    case 'WaitingForDataMigrationScheduling':
      return `Waiting to be started (startDataMigration is False): ${cmd('--start-data-migration')}`;
    case 'WaitingForDataMigrationWindow':
      return `Waiting for the migration window, which opens at ${m.properties.migrationWindowStartTimeInUtc ?? '(unknown)'}; it starts on its own. To move it: ${cmd('--migration-window-start <UTC time>')}`;
    case 'CancelingRequestedDBMigrations': {
      const canceling = dbs.filter((d) => d.migrationState === 'Canceling').map((d) => d.databaseName);
      return `Canceling ${canceling.join(', ')}: each stops at its next step and drops its replication slot.`;
    }
    default:
      return undefined;
  }
}

/** The way back of a database (fallbackAfterCutover), in a few words: '' when it has none. */
export function reverseText(d: DbMigrationStatus): string {
  const r = d.reverseReplication;
  if (!r) return '';
  const conflicts = r.conflicts > 0 ? `, ${count(r.conflicts)} conflict(s)` : '';
  return `— back to the source: ${r.state}, latency ${latencyMinutes(r.latency)} min, retained WAL ${bytes(r.retainedWalBytes)}, applied ${count(r.appliedChanges)}${conflicts}`;
}

/** The fallback window of `show`: each database's reverse stream, its conflicts, the requests and outcome. */
function fallbackLines(m: MigrationResource): string[] {
  const p = m.properties;
  const details = p.currentStatus.currentSubStateDetails.dbDetails;
  const rows = p.dbsToMigrate.flatMap((db) => {
    const r = details[db]?.reverseReplication;
    return r ? [{ db, r }] : [];
  });
  if (p.fallbackAfterCutover !== 'True') return [];
  const lines = ['', 'Way back to the source (fallbackAfterCutover):'];
  if (rows.length === 0) lines.push('  made at cutover: a slot on the target captures its writes from then on');
  else {
    lines.push(table(['DATABASE', 'STATE', 'LATENCY (MIN)', 'RETAINED WAL', 'APPLIED', 'CONFLICTS'],
      rows.map(({ db, r }) => [db, r.state, latencyMinutes(r.latency), bytes(r.retainedWalBytes), count(r.appliedChanges), count(r.conflicts)])).split('\n').map((l) => `  ${l}`).join('\n'));
  }
  for (const { db, r } of rows) {
    if (r.message) lines.push(`  ${db}: ${r.message}`);
    for (const c of r.recentConflicts) lines.push(`  ${db}: conflict ${c.operation} on ${c.table} (${c.key}) at ${c.at}: ${c.reason}`);
  }
  const fb = p.fallback;
  if (fb?.fallbackRequestedOn) lines.push(`  fall back requested ${fb.fallbackRequestedOn}${fb.completedOn ? `, source ready ${fb.completedOn} (${fb.durationSeconds ?? 0} s)` : ''}`);
  if (fb?.finalizeRequestedOn) lines.push(`  finalize requested ${fb.finalizeRequestedOn}`);
  if (fb?.error) lines.push(`  error: ${fb.error}`);
  if (p.currentStatus.currentSubStateDetails.currentSubState === 'ReplicatingToSource') {
    lines.push('  Keep the target: `pgferry finalize`. Go back: stop the application\'s writes to the target, then `pgferry fallback`.');
  }
  return lines;
}

export function statusLine(m: MigrationResource): string {
  const s = m.properties.currentStatus;
  return `${m.name}: ${s.state} / ${s.currentSubStateDetails.currentSubState}`;
}

function checkLines(items: readonly ValidationSummaryItem[], indent: string): string[] {
  const out: string[] = [];
  for (const item of items) {
    out.push(`${indent}${item.state.padEnd(9)} ${item.type}`);
    for (const msg of item.messages) {
      if (msg.state === 'Succeeded') continue;
      out.push(`${indent}  ${msg.state}${msg.code ? ` ${msg.code}` : ''}: ${msg.message}`);
      if (msg.fix) out.push(`${indent}    fix: ${msg.fix}`);
    }
  }
  return out;
}

/** `show` as text: the resource's facts, its databases, and validation results with fixes. */
export function showText(m: MigrationResource, now = Date.now(), server = serverOf(m)): string {
  const p = m.properties;
  const s = p.currentStatus;
  const facts: [string, string][] = [
    ['Name', m.name],
    ['Status', `${s.state} / ${s.currentSubStateDetails.currentSubState}`],
    ['Migration mode', p.migrationMode],
    ['Migration type', p.migrationOption],
    ['Source server', sourceServer(p)],
    ['Source server type', p.sourceType],
    ['Target', p.targetDbServerFullyQualifiedDomainName],
    ...(p.startDataMigration === 'False' ? [['Start data migration', 'False (waits for pgferry update --start-data-migration)'] as [string, string]] : []),
    ...(p.migrationWindowStartTimeInUtc ? [['Migration window', `${p.migrationWindowStartTimeInUtc} – ${p.migrationWindowEndTimeInUtc ?? ''}`] as [string, string]] : []),
    ['Databases', p.dbsToMigrate.join(', ')],
    ['Start time', p.startedOn ?? ''],
    ['End time', p.endedOn ?? ''],
    ['Duration', duration(p.startedOn, p.endedOn, now)],
  ];
  if (s.error) facts.push(['Error', s.error]);
  const width = Math.max(...facts.map(([k]) => k.length));
  const lines = facts.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
  lines.push('', databaseTable(m));
  // Each database's own message (why it failed, what was canceled), in full: the table has no room for it.
  const details = s.currentSubStateDetails.dbDetails;
  const messages = p.dbsToMigrate.flatMap((db) => {
    const d = details[db];
    return d?.message ? [`  ${db} (${d.migrationState}): ${d.message}`] : [];
  });
  if (messages.length > 0) lines.push('', 'Database messages:', ...messages);
  const v = s.currentSubStateDetails.validationDetails;
  if (v) {
    lines.push('', `Validation: ${v.status}`);
    lines.push(...checkLines(v.serverLevelValidationDetails, '  '));
    for (const d of v.dbLevelValidationDetails) {
      lines.push(`  Database ${d.databaseName}`);
      lines.push(...checkLines(d.summary, '    '));
    }
  }
  lines.push(...fallbackLines(m));
  if (s.state === 'WaitingForUserAction' && s.currentSubStateDetails.currentSubState === 'WaitingForCutoverTrigger') {
    lines.push('', 'Ready for cutover: stop writes to the source, wait until latency is near 0, then run `pgferry cutover` (--dbs for some databases).');
  }
  const advice = waitingAdvice(m, server);
  if (advice) lines.push('', advice);
  return lines.join('\n');
}

/** The target server's name, from the resource id (`…/flexibleServers/{server}/migrations/{name}`). */
function serverOf(m: MigrationResource): string {
  return /\/flexibleServers\/([^/]+)\/migrations\//.exec(m.id)?.[1] ?? '<server>';
}

/** An API error for stderr: status and message, then each field with its fix. */
export function apiErrorText(e: ApiFailure): string {
  const lines = [`error: ${e.status} ${e.code}: ${e.message}`];
  for (const d of e.details) {
    lines.push(`  ${d.field}: ${d.message.startsWith(d.field) ? d.message.slice(d.field.length).trim() : d.message}`);
    if (d.fix) lines.push(`    fix: ${d.fix}`);
  }
  return lines.join('\n');
}
