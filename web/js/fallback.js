/**
 * The fallback window on the details page (fallbackAfterCutover): after cutover the migration is
 * Succeeded / ReplicatingToSource while the target's writes flow back to the source. The page
 * shows each database's way back (state, latency, retained WAL on the target, conflicts) and offers
 * the two endings, each behind a confirmation: Fall back to source (the target drained, sequences
 * set, every table verified) and Finalize cutover (keep the target; nothing of pgferry is left).
 */
import { h } from './dom.js';
import { formatBytes, formatCount, formatDateTime, latencyMinutes } from './format.js';

const WINDOW = new Set(['ReplicatingToSource', 'FallingBack']);

/** Whether the migration is in its fallback window (Succeeded, still replicating or falling back). */
export function inFallbackWindow(props) {
  const s = props.currentStatus;
  return s.state === 'Succeeded' && WINDOW.has(s.currentSubStateDetails.currentSubState);
}

/** The two buttons' availability: fall back needs a replicating database and no ending asked. */
export function fallbackActions(props) {
  const open = inFallbackWindow(props);
  const fb = props.fallback ?? {};
  const sub = props.currentStatus.currentSubStateDetails.currentSubState;
  const finalizing = Boolean(fb.finalizeRequestedOn);
  const streams = reverseRows(props).map((r) => r.reverse.state);
  return {
    shown: open,
    fallBack: open && !finalizing && sub !== 'FallingBack' && streams.includes('Replicating'),
    finalize: open && !finalizing,
    finalizing,
  };
}

function reverseRows(props) {
  const details = props.currentStatus.currentSubStateDetails.dbDetails ?? {};
  return props.dbsToMigrate.map((name) => ({ name, reverse: details[name]?.reverseReplication })).filter((r) => r.reverse);
}

/** What the user should know in the window (or after it), in words; null when there is no way back. */
export function fallbackAdvice(props) {
  if (props.fallbackAfterCutover !== 'True' || props.currentStatus.state !== 'Succeeded') return null;
  const sub = props.currentStatus.currentSubStateDetails.currentSubState;
  const fb = props.fallback ?? {};
  if (sub === 'FallingBack') return 'Falling back: pgferry applies the target’s last changes to the source, sets its sequences and verifies every table.';
  if (sub === 'FellBackToSource') return `Fell back: the source is ready for the application again${fb.durationSeconds !== undefined ? ` (${fb.durationSeconds} s after the request)` : ''}. Point your applications’ connection strings back at the source server.`;
  if (sub !== 'ReplicatingToSource') return null;
  if (fb.finalizeRequestedOn) return 'Finalize was requested: the way back is being removed from both servers.';
  const failed = fb.error ? `The last fall back did not complete: ${fb.error} ` : '';
  return `${failed}The cutover is done and the target is the primary; its writes flow back to the source, so you can still go back. Finalize cutover keeps the target and removes the way back. To fall back, first stop the application’s writes to the target.`;
}

/** Each database's way back, and its recent conflicts (rows written on the source directly). */
export function fallbackPanel(props) {
  const rows = reverseRows(props);
  if (props.fallbackAfterCutover !== 'True' || rows.length === 0) return null;
  const cell = (v) => h('td', {}, v);
  const table = h('table', { class: 'grid', id: 'det-fallback-table' },
    h('caption', {}, 'Way back to the source'),
    h('thead', {}, h('tr', {}, ['Database', 'State', 'Latency (minutes)', 'Retained WAL on the target', 'Applied to the source', 'Conflicts'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows.map(({ name, reverse: r }) => h('tr', { dataset: { db: name, state: r.state } },
      h('th', { scope: 'row' }, name), cell(r.state), cell(latencyMinutes(r.latency)), cell(formatBytes(r.retainedWalBytes)), cell(formatCount(r.appliedChanges)), cell(formatCount(r.conflicts))))));
  const notes = rows.flatMap(({ name, reverse: r }) => [
    ...(r.message ? [h('li', {}, `${name}: ${r.message}`)] : []),
    ...r.recentConflicts.map((c) => h('li', { class: 'conflict', dataset: { db: name } }, `${name}: conflict — ${c.operation} on ${c.table} (${c.key}) at ${formatDateTime(c.at)}: ${c.reason}. The source row was kept.`)),
  ]);
  return h('section', { id: 'det-reverse', class: 'fallback' }, table, notes.length > 0 ? h('ul', { class: 'plain' }, notes) : null);
}
