/* global setTimeout, clearTimeout, document */
/**
 * One migration: its status, a Validation tab and a Migration tab (per database progress), and
 * the actions the portal offers, each behind a confirmation and each the PATCH the API documents:
 * Cutover (while every database still running waits for it; of all of them or those ticked);
 * Cancel (while the migration may still be canceled; all databases or those ticked); while it
 * waits before its data migration, the action that releases it (Overwrite target databases, Start
 * data migration); and in a fallback window, Fall back to source and Finalize cutover (fallback.js).
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

/** Operation step 3 gives a database in the way on the target (shared/steps/gate.ts). */
const OCCUPIED = 'Waiting for overwrite confirmation';

/** Databases not yet ended nor being canceled: what a cancel may still name. */
const STOPPABLE = new Set(['InProgress', 'WaitingForCutoverTrigger']);

/** What a migration waiting before its data migration (or canceling) waits for, and the way out. */
export function waitingAdvice(p) {
  const sub = p.currentStatus.currentSubStateDetails.currentSubState;
  const dbs = Object.values(p.currentStatus.currentSubStateDetails.dbDetails ?? {});
  switch (sub) {
    case 'WaitingForTargetDBOverwriteConfirmation': {
      const occupied = dbs.filter((d) => (d.migrationOperation ?? '').startsWith(OCCUPIED)).map((d) => d.databaseName);
      return `Waiting for overwrite confirmation: ${occupied.join(', ') || 'a database to migrate'} already exists on the target and is not empty. Overwrite target databases drops and copies ${occupied.length === 1 ? 'it' : 'them'} again; or drop ${occupied.length === 1 ? 'it' : 'them'} on the target yourself (the migration then goes on), or cancel.`;
    }
    case 'WaitingForDataMigrationScheduling':
      return 'Waiting to be started: the migration was created with startDataMigration False. Start data migration copies the data now.';
    case 'WaitingForDataMigrationWindow':
      return `Waiting for the migration window: the data migration starts on its own at ${formatDateTime(p.migrationWindowStartTimeInUtc)}.`;
    case 'CancelingRequestedDBMigrations': {
      const canceling = dbs.filter((d) => d.migrationState === 'Canceling').map((d) => d.databaseName);
      return `Canceling ${canceling.join(', ')}: each stops at its next step and drops its replication slot; the target is not rolled back.`;
    }
    default:
      return undefined;
  }
}

/** The button that releases a waiting migration: its label, the PATCH and the confirmation. */
function releaseOf(p) {
  switch (p.currentStatus.currentSubStateDetails.currentSubState) {
    case 'WaitingForTargetDBOverwriteConfirmation':
      return { label: 'Overwrite target databases', properties: { overwriteDbsInTarget: 'True' }, danger: true, body: 'The databases that already exist on the target are dropped, with all their data, and copied again from the source.' };
    case 'WaitingForDataMigrationScheduling':
      return { label: 'Start data migration', properties: { startDataMigration: 'True' }, danger: false, body: 'The data migration starts now: the target databases are prepared and the data is copied.' };
    default:
      return undefined;
  }
}

/** Checkboxes for the databases an action may name, all ticked; returns the list and how to read it. */
function databaseChoice(name, dbs) {
  const boxes = dbs.map((d) => h('input', { type: 'checkbox', name, value: d, checked: true, id: `${name}-${d}` }));
  const list = h('ul', { class: 'plain db-choice' }, boxes.map((box, i) => h('li', {}, box, h('label', { for: box.id }, ` ${dbs[i]}`))));
  return { list, chosen: () => boxes.filter((b) => b.checked).map((b) => b.value) };
}

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

/** The databases of a migration a cancel may still name: running, and not already being canceled. */
function stoppableDatabases(p) {
  const details = p.currentStatus.currentSubStateDetails.dbDetails ?? {};
  return p.dbsToMigrate.filter((name) => STOPPABLE.has(details[name]?.migrationState ?? 'InProgress'));
}

/** The databases still running that no cutover request covers yet (a request without a list covers all). */
function cutoverPending(p) {
  const details = p.currentStatus.currentSubStateDetails.dbDetails ?? {};
  const asked = p.triggerCutover === 'True' ? (p.dbsToTriggerCutoverOn ?? p.dbsToMigrate) : [];
  return p.dbsToMigrate.filter((name) => STOPPABLE.has(details[name]?.migrationState ?? 'InProgress') && !asked.includes(name));
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
  const releaseButton = h('button', { type: 'button', id: 'det-release', class: 'primary', hidden: true, onclick: () => void release() }, '');
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
    h('div', { class: 'toolbar' }, refreshButton, releaseButton, cutoverButton, cancelButton, finalizeButton, fallBackButton, updated),
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

    // Requested: a cutover covers every database still running (a cutover of some leaves the others to cut over).
    const requested = cutoverPending(p).length === 0 && p.triggerCutover === 'True';
    const ready = canCutover(m);
    const finished = TERMINAL_STATES.has(s.state);
    // "Cutover/Cancel requested" is done with once the migration ended; its state says the rest.
    if (finished && !inFallbackWindow(p)) clearStatus(ACTION);
    cutoverButton.disabled = !ready || requested;
    cutoverButton.textContent = requested && !finished ? 'Cutover requested' : 'Cutover';
    cutoverButton.hidden = p.migrationMode !== 'Online' || finished;
    const waiting = finished ? undefined : waitingAdvice(p);
    const windowAdvice = fallbackAdvice(p);
    fill(advice, windowAdvice ?? waiting ?? adviceFor(p, s.state, ready, requested));
    advice.dataset.tone = windowAdvice && inFallbackWindow(p) ? (p.fallback?.error ? 'bad' : 'ready') : finished ? toneOf(s.state) : failedDatabasesOf(p).length > 0 ? 'bad' : waiting ? 'warn' : ready && !requested ? 'ready' : 'wait';
    const releasing = finished ? undefined : releaseOf(p);
    releaseButton.hidden = !releasing;
    if (releasing) {
      releaseButton.textContent = releasing.label;
      releaseButton.className = releasing.danger ? 'danger' : 'primary';
    }
    const endings = fallbackActions(p);
    fallBackButton.hidden = !endings.shown;
    fallBackButton.disabled = !endings.fallBack;
    finalizeButton.hidden = !endings.shown;
    finalizeButton.disabled = !endings.finalize;
    finalizeButton.textContent = endings.finalizing ? 'Finalize requested' : 'Finalize cutover';
    fill(wayBack, fallbackPanel(p));
    const cancelable = CANCELABLE_STATES.has(s.state);
    const stoppable = stoppableDatabases(p);
    cancelButton.hidden = !cancelable;
    cancelButton.disabled = stoppable.length === 0;
    cancelButton.textContent = p.cancel === 'True' && stoppable.length === 0 ? 'Cancel requested' : 'Cancel migration';

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
    const pending = cutoverPending(current.properties);
    const dbs = Object.values(current.properties.currentStatus.currentSubStateDetails.dbDetails).filter((d) => d.migrationState === 'WaitingForCutoverTrigger' && pending.includes(d.databaseName));
    const failed = failedDatabasesOf(current.properties).map((d) => d.databaseName);
    const latency = (d) => `Latency (minutes) ${d.latency === undefined ? '—' : String(Number((d.latency / 60).toFixed(5)))}`;
    const choice = databaseChoice('det-cutover-db', dbs.map((d) => d.databaseName));
    choice.list.querySelectorAll('label').forEach((label, i) => label.append(`: ${latency(dbs[i])}`));
    const ok = await confirmDialog({
      title: `Cutover ${ctx.name}?`,
      body: [
        failed.length > 0 ? h('p', { class: 'warn-text' }, `Failed, not cut over: ${failed.join(', ')}. The migration ends Failed; the databases below are cut over.`) : null,
        h('p', {}, CUTOVER_ADVICE),
        h('p', { class: 'hint' }, 'Databases to cut over (untick some to cut them over later):'),
        choice.list,
        h('p', {}, 'After cutover, point your applications at the target server.'),
      ],
      confirmLabel: 'Cutover',
      cancelLabel: 'Not now',
    });
    if (!ok) return;
    const chosen = choice.chosen();
    if (chosen.length === 0) {
      announce('No database was ticked: nothing was cut over.', 'bad');
      return;
    }
    const some = chosen.length < dbs.length;
    try {
      await api.patchMigration(ctx.server, ctx.name, { triggerCutover: 'True', ...(some ? { dbsToTriggerCutoverOn: chosen } : {}) });
      announce(`Cutover requested for ${some ? chosen.join(', ') : ctx.name}.`, 'ok', { owner: ACTION });
    } catch (e) {
      announce(`Cutover was not accepted: ${e instanceof ApiError ? e.message : String(e)}`, 'bad');
    }
    await refresh();
  }

  async function cancel() {
    if (!current || !CANCELABLE_STATES.has(current.properties.currentStatus.state)) return;
    const stoppable = stoppableDatabases(current.properties);
    const choice = databaseChoice('det-cancel-db', stoppable);
    const ok = await confirmDialog({
      title: `Cancel ${ctx.name}?`,
      body: [
        h('p', {}, 'Canceling stops the migration of the databases ticked and drops their replication slots on the source; the others go on.'),
        choice.list,
        h('p', {}, 'It does not drop or roll back anything on the target server: drop the target databases of this migration yourself.'),
      ],
      confirmLabel: 'Cancel migration',
      cancelLabel: 'Keep running',
      danger: true,
    });
    if (!ok) return;
    const chosen = choice.chosen();
    if (chosen.length === 0) {
      announce('No database was ticked: nothing was canceled.', 'bad');
      return;
    }
    const some = chosen.length < stoppable.length;
    try {
      await api.patchMigration(ctx.server, ctx.name, { cancel: 'True', ...(some ? { dbsToCancelMigrationOn: chosen } : {}) });
      announce(`Cancel requested for ${some ? chosen.join(', ') : ctx.name}.`, 'ok', { owner: ACTION });
    } catch (e) {
      announce(`Cancel was not accepted: ${e instanceof ApiError ? e.message : String(e)}`, 'bad');
    }
    await refresh();
  }

  async function release() {
    const releasing = current && releaseOf(current.properties);
    if (!releasing) return;
    const ok = await confirmDialog({
      title: `${releasing.label} for ${ctx.name}?`,
      body: [h('p', {}, waitingAdvice(current.properties) ?? ''), h('p', {}, releasing.body)],
      confirmLabel: releasing.label,
      cancelLabel: 'Not now',
      danger: releasing.danger,
    });
    if (!ok) return;
    try {
      await api.patchMigration(ctx.server, ctx.name, releasing.properties);
      announce(`${releasing.label}: requested for ${ctx.name}.`, 'ok', { owner: ACTION });
    } catch (e) {
      announce(`${releasing.label} was not accepted: ${e instanceof ApiError ? e.message : String(e)}`, 'bad');
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
