/* global setTimeout, clearTimeout, document */
/**
 * One migration: its status, a Validation tab and a Migration tab (per database progress), and
 * the actions the portal offers — Cutover (only while every database waits for it), Cancel (only
 * while the migration may still be canceled), and in a fallback window Fall back to source and
 * Finalize cutover (fallback.js) — each behind a confirmation.
 */
import { api, ApiError } from './api.js';
import { confirmDialog } from './dialog.js';
import { announce, clearStatus, fill, h, keepFocus } from './dom.js';
import { CANCELABLE_STATES, MIGRATION_OPTIONS, SOURCE_TYPES, TERMINAL_STATES, cutoverAllowed, failedDatabasesOf, formatDateTime, formatDuration, labelOf, sourceServerOf, toneOf } from './format.js';
import { stateBadge } from './grid.js';
import { inWords } from './labels.js';
import { createTabs } from './tabs.js';
import { migrationTable, validationView } from './details-tabs.js';
import { fallbackActions, fallbackAdvice, fallbackPanel, inFallbackWindow } from './fallback.js';

export const DETAILS_REFRESH_MS = 3000;

/** Owner of the status messages of the cutover and cancel buttons. */
const ACTION = 'details-action';

export const CUTOVER_ADVICE =
  'Before cutover, stop writes to the source and wait until Latency (minutes) is 0 or close to 0. Cutover applies every change made on the source up to that moment, then completes the migration; with a higher latency it just takes longer.';

/** What the user should know or do next, in the seed's words where it has them. */
function adviceFor(p, state, ready, requested) {
  switch (state) {
    case 'Succeeded':
      return 'The migration is complete. Verify the data on the target, then point your applications’ connection strings at the target server.';
    case 'Canceled':
      return 'Canceling does not drop or roll back anything on the target server: drop the databases of this migration on the target yourself.';
    case 'Failed':
    case 'ValidationFailed':
      return 'A failed migration cannot be retried: fix what the error and the Validation tab name, then create a new migration with a new name.';
    default:
      break;
  }
  const failed = failedDatabasesOf(p).map((d) => d.databaseName);
  if (failed.length > 0) {
    const which = `${failed.length === 1 ? 'Database' : 'Databases'} ${failed.join(', ')} failed (see the Migration tab for why): the migration will end Failed and is not ready for cutover.`;
    if (requested) return `${which} Cutover of the other databases was requested.`;
    if (ready) return h('span', {}, h('strong', {}, `${which} `), `You can still cut over the other databases: Cutover skips the failed ones. ${CUTOVER_ADVICE}`);
    return `${which} The other databases keep running; you can cut them over once each waits for it, or cancel.`;
  }
  if (p.migrationMode !== 'Online') return 'An Offline migration completes on its own after the copy; there is no cutover.';
  if (requested) return 'Cutover was requested: pgferry applies the remaining changes and completes the migration.';
  if (ready) return h('span', {}, h('strong', {}, 'Ready for cutover. '), CUTOVER_ADVICE);
  return `Cutover becomes available when the migration reaches WaitingForCutoverTrigger. ${CUTOVER_ADVICE}`;
}

/** Cutover is offered once every database still running waits for it (failed ones are skipped). */
export function canCutover(m) {
  return cutoverAllowed(m.properties);
}

/**
 * @param {HTMLElement} root
 * @param {{ server: string, name: string, gridHref: string }} ctx
 * @returns {{ dispose: () => void }}
 */
export function renderDetails(root, ctx) {
  let timer;
  let disposed = false;
  let current;
  let lastError = '';
  const status = h('div', { id: 'det-status', class: 'status-line' });
  const failure = h('div', { id: 'det-error', class: 'result bad', role: 'alert', hidden: true });
  const facts = h('dl', { id: 'det-facts', class: 'facts' });
  const updated = h('span', { id: 'det-updated', class: 'hint' });
  const refreshButton = h('button', { type: 'button', id: 'det-refresh', class: 'secondary', onclick: () => void refresh(true) }, 'Refresh');
  const cutoverButton = h('button', { type: 'button', id: 'det-cutover', class: 'primary', disabled: true, 'aria-describedby': 'det-cutover-advice', onclick: () => void cutover() }, 'Cutover');
  const cancelButton = h('button', { type: 'button', id: 'det-cancel', class: 'danger', hidden: true, onclick: () => void cancel() }, 'Cancel migration');
  const fallBackButton = h('button', { type: 'button', id: 'det-fallback', class: 'danger', hidden: true, onclick: () => void fallBack() }, 'Fall back to source');
  const finalizeButton = h('button', { type: 'button', id: 'det-finalize', class: 'primary', hidden: true, onclick: () => void finalize() }, 'Finalize cutover');
  const advice = h('p', { id: 'det-cutover-advice', class: 'advice' });
  const wayBack = h('div', { id: 'det-way-back' });
  const validationPanel = h('div', { id: 'det-validation' });
  const migrationPanel = h('div', { id: 'det-migration' });
  const tabs = createTabs({
    idPrefix: 'det',
    label: 'Migration details',
    items: [
      { key: 'validation', title: 'Validation', panel: validationPanel },
      { key: 'migration', title: 'Migration', panel: migrationPanel },
    ],
    selected: 'migration',
  });
  let tabChosen = false;
  tabs.element.addEventListener('click', () => { tabChosen = true; });
  tabs.element.addEventListener('keydown', () => { tabChosen = true; });

  document.title = `${ctx.name} · pgferry`;
  fill(
    root,
    h('p', { class: 'crumbs' }, h('a', { href: ctx.gridHref, id: 'det-back' }, `← Migrations on ${ctx.server}`)),
    h('h2', { id: 'view-title', tabindex: '-1' }, ctx.name),
    status,
    failure,
    facts,
    h('div', { class: 'toolbar' }, refreshButton, cutoverButton, cancelButton, finalizeButton, fallBackButton, updated),
    advice,
    wayBack,
    tabs.element,
  );

  function render(m) {
    current = m;
    const p = m.properties;
    const s = p.currentStatus;
    const sub = s.currentSubStateDetails;
    fill(status, h('span', { class: 'label' }, 'Status '), stateBadge(s.state, sub.currentSubState));
    if ((s.error ?? '') !== lastError) {
      lastError = s.error ?? '';
      fill(failure, h('p', {}, h('strong', {}, 'Error: '), inWords(lastError)));
      failure.hidden = lastError === '';
    }
    const fact = (label, value) => [h('dt', {}, label), h('dd', {}, value || '—')];
    fill(
      facts,
      fact('Migration mode', p.migrationMode),
      fact('Migration type', labelOf(MIGRATION_OPTIONS, p.migrationOption)),
      fact('Source server', sourceServerOf(p)),
      fact('Source server type', labelOf(SOURCE_TYPES, p.sourceType)),
      fact('Target server', `${ctx.server} (${p.targetDbServerFullyQualifiedDomainName})`),
      fact('Databases', p.dbsToMigrate.join(', ')),
      fact('Start time', formatDateTime(p.startedOn)),
      fact('End time', formatDateTime(p.endedOn)),
      fact('Duration', formatDuration(p.startedOn, p.endedOn)),
    );

    const requested = p.triggerCutover === 'True';
    const ready = canCutover(m);
    const finished = TERMINAL_STATES.has(s.state);
    // "Cutover/Cancel requested" is done with once the migration ended; its state says the rest.
    if (finished && !inFallbackWindow(p)) clearStatus(ACTION);
    cutoverButton.disabled = !ready || requested;
    cutoverButton.textContent = requested && !finished ? 'Cutover requested' : 'Cutover';
    cutoverButton.hidden = p.migrationMode !== 'Online' || finished;
    const windowAdvice = fallbackAdvice(p);
    fill(advice, windowAdvice ?? adviceFor(p, s.state, ready, requested));
    advice.dataset.tone = windowAdvice && inFallbackWindow(p) ? (p.fallback?.error ? 'bad' : 'ready') : finished ? toneOf(s.state) : failedDatabasesOf(p).length > 0 ? 'bad' : ready && !requested ? 'ready' : 'wait';
    const endings = fallbackActions(p);
    fallBackButton.hidden = !endings.shown;
    fallBackButton.disabled = !endings.fallBack;
    finalizeButton.hidden = !endings.shown;
    finalizeButton.disabled = !endings.finalize;
    finalizeButton.textContent = endings.finalizing ? 'Finalize requested' : 'Finalize cutover';
    fill(wayBack, fallbackPanel(p));
    const cancelable = CANCELABLE_STATES.has(s.state);
    cancelButton.hidden = !cancelable;
    cancelButton.disabled = p.cancel === 'True';
    cancelButton.textContent = p.cancel === 'True' ? 'Cancel requested' : 'Cancel migration';

    if (!tabChosen) {
      const validating = p.migrationOption === 'Validate' || sub.currentSubState === 'ValidationInProgress' || s.state === 'ValidationFailed';
      tabs.select(validating ? 'validation' : 'migration', false);
    }
    keepFocus(() => {
      fill(validationPanel, validationView(p, sub.validationDetails));
      fill(migrationPanel, migrationTable(p, sub.dbDetails));
    });
    updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
  }

  async function refresh(byUser = false) {
    clearTimeout(timer);
    try {
      const m = await api.getMigration(ctx.server, ctx.name);
      if (disposed) return;
      render(m);
      if (byUser) announce(`${ctx.name} is ${m.properties.currentStatus.state}.`, 'ok');
    } catch (e) {
      if (disposed) return;
      const message = e instanceof ApiError ? `${e.code}: ${e.message}` : String(e);
      fill(failure, h('p', {}, message));
      failure.hidden = false;
      lastError = message;
      if (byUser) announce('Could not read the migration.', 'bad');
    }
    // A fallback window is Succeeded but still moving: keep reading it until it ends.
    if (!disposed && !(current && TERMINAL_STATES.has(current.properties.currentStatus.state) && !inFallbackWindow(current.properties))) {
      timer = setTimeout(() => void refresh(), DETAILS_REFRESH_MS);
    }
  }

  async function cutover() {
    if (!current || !canCutover(current)) return;
    const dbs = Object.values(current.properties.currentStatus.currentSubStateDetails.dbDetails).filter((d) => d.migrationState === 'WaitingForCutoverTrigger');
    const failed = failedDatabasesOf(current.properties).map((d) => d.databaseName);
    const ok = await confirmDialog({
      title: `Cutover ${ctx.name}?`,
      body: [
        failed.length > 0 ? h('p', { class: 'warn-text' }, `Failed, not cut over: ${failed.join(', ')}. The migration ends Failed; the databases below are cut over.`) : null,
        h('p', {}, CUTOVER_ADVICE),
        h('ul', { class: 'plain' }, dbs.map((d) => h('li', {}, `${d.databaseName}: Latency (minutes) ${d.latency === undefined ? '—' : String(Number((d.latency / 60).toFixed(5)))}`))),
        h('p', {}, 'After cutover, point your applications at the target server.'),
      ],
      confirmLabel: 'Cutover',
      cancelLabel: 'Not now',
    });
    if (!ok) return;
    try {
      await api.patchMigration(ctx.server, ctx.name, { triggerCutover: 'True' });
      announce(`Cutover requested for ${ctx.name}.`, 'ok', { owner: ACTION });
    } catch (e) {
      announce(`Cutover was not accepted: ${e instanceof ApiError ? e.message : String(e)}`, 'bad');
    }
    await refresh();
  }

  async function cancel() {
    if (!current || !CANCELABLE_STATES.has(current.properties.currentStatus.state)) return;
    const ok = await confirmDialog({
      title: `Cancel ${ctx.name}?`,
      body: [
        h('p', {}, 'Canceling stops the migration and drops its replication slots on the source.'),
        h('p', {}, 'It does not drop or roll back anything on the target server: drop the target databases of this migration yourself.'),
      ],
      confirmLabel: 'Cancel migration',
      cancelLabel: 'Keep running',
      danger: true,
    });
    if (!ok) return;
    try {
      await api.patchMigration(ctx.server, ctx.name, { cancel: 'True' });
      announce(`Cancel requested for ${ctx.name}.`, 'ok', { owner: ACTION });
    } catch (e) {
      announce(`Cancel was not accepted: ${e instanceof ApiError ? e.message : String(e)}`, 'bad');
    }
    await refresh();
  }

  async function fallBack() {
    if (!current || !fallbackActions(current.properties).fallBack) return;
    const ok = await confirmDialog({
      title: `Fall back ${ctx.name} to the source?`,
      body: [
        h('p', {}, 'First stop the application’s writes to the target server.'),
        h('p', {}, 'pgferry applies the target’s last changes to the source, sets the source’s sequences from the target and verifies every table with the same checks as cutover. Then the source is ready: point your applications back at it.'),
        h('p', {}, 'If a table differs (for example a row written on the source directly), the target keeps replicating to the source and the tables are named; you can fall back again once they match.'),
      ],
      confirmLabel: 'Fall back to source',
      cancelLabel: 'Not now',
      danger: true,
    });
    if (!ok) return;
    await ask({ triggerFallback: 'True' }, 'Fall back');
  }

  async function finalize() {
    if (!current || !fallbackActions(current.properties).finalize) return;
    const ok = await confirmDialog({
      title: `Finalize the cutover of ${ctx.name}?`,
      body: [
        h('p', {}, 'The target stays the primary. The way back is removed: the replication slot and publication on the target and pgferry’s bookkeeping on the source; nothing of pgferry is left on either server.'),
        h('p', {}, 'After this, going back to the source means migrating again.'),
      ],
      confirmLabel: 'Finalize cutover',
      cancelLabel: 'Not now',
    });
    if (!ok) return;
    await ask({ finalizeCutover: 'True' }, 'Finalize');
  }

  async function ask(properties, what) {
    try {
      await api.patchMigration(ctx.server, ctx.name, properties);
      announce(`${what} requested for ${ctx.name}.`, 'ok', { owner: ACTION });
    } catch (e) {
      announce(`${what} was not accepted: ${e instanceof ApiError ? e.message : String(e)}`, 'bad');
    }
    await refresh();
  }

  void refresh();
  return {
    dispose: () => {
      disposed = true;
      clearTimeout(timer);
    },
  };
}
