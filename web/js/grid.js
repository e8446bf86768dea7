/* global setInterval, clearInterval, localStorage, document */
/**
 * The migrations grid of one target server, as the portal's Migration blade: newest start first,
 * a refresh button and auto-refresh; the name opens the details.
 */
import { api, ApiError } from './api.js';
import { announce, fill, h, keepFocus } from './dom.js';
import { MIGRATION_OPTIONS, SOURCE_TYPES, failedDatabasesOf, formatDateTime, formatDuration, labelOf, sourceServerOf, toneOf } from './format.js';

const FILTER_KEY = 'pgferry.gridFilter';
const AUTO_KEY = 'pgferry.autoRefresh';
export const AUTO_REFRESH_MS = 5000;

function pref(key, fallback) {
  try {
    return localStorage.getItem(key) ?? fallback;
  } catch {
    return fallback;
  }
}

function savePref(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Preferences are a convenience; without storage they last for this page only.
  }
}

export function stateBadge(state, subState) {
  return h(
    'span',
    { class: 'state' },
    h('span', { class: `badge ${toneOf(state)}`, dataset: { state } }, state),
    subState ? h('span', { class: 'substate' }, subState) : null,
  );
}

/** A running migration with failed databases says so in its row, before anyone opens it. */
function failedNote(p) {
  const failed = failedDatabasesOf(p).map((d) => d.databaseName);
  if (failed.length === 0) return null;
  return h('span', { class: 'failed-dbs', dataset: { failed: failed.join(',') }, title: p.currentStatus.error ?? '' },
    `${failed.length} database${failed.length === 1 ? '' : 's'} failed: ${failed.join(', ')}`);
}

/**
 * While a full load runs: one bar per database being copied, with its percent (details has the
 * running tables). Nothing once every database's copy is done.
 */
function copyBars(p) {
  const details = p.currentStatus.currentSubStateDetails.dbDetails ?? {};
  const copying = p.dbsToMigrate
    .map((name) => details[name])
    .filter((d) => d && d.migrationState === 'InProgress' && d.fullLoadPercent !== undefined && (d.fullLoadRunningTables?.length ?? 0) > 0);
  if (copying.length === 0) return null;
  return h(
    'ul',
    { class: 'plain grid-progress' },
    copying.map((d) =>
      h(
        'li',
        { dataset: { db: d.databaseName } },
        h('progress', { max: '100', value: String(d.fullLoadPercent), 'aria-label': `Full load of ${d.databaseName}` }),
        ` ${d.databaseName} ${d.fullLoadPercent.toFixed(1)}%`,
      ),
    ),
  );
}

/**
 * @param {HTMLElement} root
 * @param {{ server: string, detailsHref: (name: string) => string, onCreate: () => void }} ctx
 * @returns {{ dispose: () => void }}
 */
export function renderGrid(root, ctx) {
  let timer;
  let loading = false;
  const filter = h(
    'select',
    { id: 'grid-filter', onchange: () => { savePref(FILTER_KEY, filter.value); void refresh(); } },
    h('option', { value: 'All' }, 'All'),
    h('option', { value: 'Active' }, 'Active'),
  );
  filter.value = pref(FILTER_KEY, 'All') === 'Active' ? 'Active' : 'All';
  const auto = h('input', { type: 'checkbox', id: 'grid-auto', checked: pref(AUTO_KEY, 'on') === 'on', onchange: () => { savePref(AUTO_KEY, auto.checked ? 'on' : 'off'); schedule(); } });
  const refreshButton = h('button', { type: 'button', id: 'grid-refresh', class: 'secondary', onclick: () => void refresh(true) }, 'Refresh');
  const updated = h('span', { id: 'grid-updated', class: 'hint' });
  const body = h('tbody', { id: 'grid-body' });
  const problem = h('div', { id: 'grid-error', class: 'result bad', hidden: true, role: 'alert' });

  fill(
    root,
    h('div', { class: 'view-head' },
      h('h2', { id: 'view-title', tabindex: '-1' }, 'Migrations'),
      h('button', { type: 'button', id: 'grid-create', class: 'primary', onclick: () => ctx.onCreate() }, '+ Create')),
    h('p', { class: 'lead' }, 'Migrations into target server ', h('strong', {}, ctx.server), '. Select a name for its details.'),
    h('div', { class: 'toolbar' },
      refreshButton,
      h('span', { class: 'inline-field' }, h('label', { for: 'grid-filter' }, 'Show'), filter),
      h('span', { class: 'check' }, auto, h('label', { for: 'grid-auto' }, `Auto-refresh every ${AUTO_REFRESH_MS / 1000} s`)),
      updated),
    problem,
    h('div', { class: 'table-wrap' },
      h('table', { class: 'grid', id: 'migrations-grid' },
        h('caption', { class: 'sr-only' }, `Migrations into ${ctx.server}, newest first`),
        h('thead', {}, h('tr', {}, ['Name', 'Status', 'Migration mode', 'Migration type', 'Source server', 'Source server type', 'Databases', 'Duration', 'Start time'].map((c) => h('th', { scope: 'col' }, c)))),
        body)),
  );

  function row(m) {
    const p = m.properties;
    const s = p.currentStatus;
    const dbsText = p.dbsToMigrate.join(', ');
    return h(
      'tr',
      { dataset: { migration: m.name } },
      h('th', { scope: 'row' }, h('a', { href: ctx.detailsHref(m.name), dataset: { focusKey: `grid-${m.name}` } }, m.name)),
      h('td', {}, stateBadge(s.state, s.currentSubStateDetails.currentSubState), failedNote(p), copyBars(p)),
      h('td', {}, p.migrationMode),
      h('td', {}, labelOf(MIGRATION_OPTIONS, p.migrationOption)),
      h('td', {}, sourceServerOf(p)),
      h('td', {}, labelOf(SOURCE_TYPES, p.sourceType)),
      h('td', { title: dbsText }, `${p.dbsToMigrate.length}: ${dbsText}`),
      h('td', { class: 'num' }, formatDuration(p.startedOn, p.endedOn)),
      h('td', {}, formatDateTime(p.startedOn)),
    );
  }

  async function refresh(byUser = false) {
    if (loading) return;
    loading = true;
    refreshButton.setAttribute('aria-busy', 'true');
    if (byUser) announce('Refreshing migrations…', 'busy');
    try {
      const r = await api.listMigrations(ctx.server, filter.value);
      const list = Array.isArray(r?.value) ? r.value : [];
      // The API sorts newest first; sorting again keeps the grid right whatever the server sends.
      list.sort((a, b) => String(b.properties.startedOn ?? '').localeCompare(String(a.properties.startedOn ?? '')));
      problem.hidden = true;
      keepFocus(() =>
        fill(
          body,
          list.length === 0
            ? h('tr', {}, h('td', { colspan: '9', class: 'empty' }, filter.value === 'Active' ? 'No active migrations. Select All to see finished ones, or + Create to start one.' : 'No migrations on this server yet. Select + Create to start your first migration.'))
            : list.map(row),
        ),
      );
      updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
      if (byUser) announce(`${list.length} migration${list.length === 1 ? '' : 's'} listed.`, 'ok');
    } catch (e) {
      fill(problem, h('p', {}, e instanceof ApiError ? `${e.code}: ${e.message}` : String(e)));
      problem.hidden = false;
      if (byUser) announce('Could not list the migrations.', 'bad');
    } finally {
      loading = false;
      refreshButton.removeAttribute('aria-busy');
    }
  }

  function schedule() {
    clearInterval(timer);
    timer = undefined;
    if (auto.checked) {
      timer = setInterval(() => {
        if (document.visibilityState !== 'hidden') void refresh();
      }, AUTO_REFRESH_MS);
    }
  }

  void refresh();
  schedule();
  return { dispose: () => clearInterval(timer) };
}
