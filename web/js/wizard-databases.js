/**
 * "Select databases for migration": the source's user databases with their sizes, at most
 * MAX_DATABASES selected (the portal's limit). The list loads when the tab opens and again only
 * when the source connection changed.
 */
import { api } from './api.js';
import { confirmDialog } from './dialog.js';
import { announce, fill, h } from './dom.js';
import { formatBytes } from './format.js';
import { connectionKey, connectionOf, connectionProblems, renderApiError } from './wizard-connect.js';

export const MAX_DATABASES = 8;

export function databasesPanel() {
  /** Names the user ticked; kept across reloads of the list. */
  const selected = new Set();
  let loadedFor = '';
  let seq = 0;
  /** The last list shown, so the selection comes back in the server's order. */
  let shown = [];
  const status = h('div', { id: 'wiz-dbs-status', class: 'test-result', role: 'status', 'aria-live': 'polite' });
  const count = h('p', { id: 'wiz-dbs-count', class: 'count', 'aria-live': 'polite' });
  const body = h('tbody');
  const table = h(
    'table',
    { class: 'grid' },
    h('caption', { class: 'sr-only' }, 'User databases on the source server'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Database'), h('th', { scope: 'col', class: 'num' }, 'Size'), h('th', { scope: 'col' }, 'Owner'), h('th', { scope: 'col' }, 'Encoding'))),
    body,
  );
  const fieldset = h(
    'fieldset',
    { id: 'wiz-dbs', class: 'dbs', 'aria-describedby': 'wiz-dbs-count wiz-dbs-error' },
    h('legend', {}, `Databases to migrate (at most ${MAX_DATABASES})`),
    table,
    h('p', { id: 'wiz-dbs-error', class: 'field-error', hidden: true }),
  );
  const refresh = h('button', { type: 'button', id: 'wiz-dbs-refresh', class: 'secondary', onclick: () => void load(true) }, 'Refresh list');
  const overwrite = h(
    'div',
    { class: 'check' },
    h('input', { type: 'checkbox', id: 'wiz-overwrite', 'aria-describedby': 'wiz-overwrite-hint wiz-overwrite-error', onchange: (e) => void confirmOverwrite(e.currentTarget) }),
    h('label', { for: 'wiz-overwrite' }, 'Overwrite databases that already exist on the target'),
    h('p', { id: 'wiz-overwrite-hint', class: 'hint' }, 'Drops each selected database that already exists on the target, with all its data, and creates it again. Without this, validation fails for a target database that exists and is not empty.'),
    h('p', { id: 'wiz-overwrite-error', class: 'field-error', hidden: true }),
  );

  /** Dropping target databases is destructive: ticking the box asks first, and stays unticked unless confirmed. */
  async function confirmOverwrite(box) {
    if (!box.checked) return;
    box.checked = false;
    const names = shown.filter((d) => selected.has(d.name)).map((d) => d.name);
    const ok = await confirmDialog({
      title: 'Overwrite existing target databases?',
      body: [
        h('p', {}, 'Each selected database that already exists on the target server is dropped — with all its data — and created again from the source. This cannot be undone.'),
        names.length > 0 ? h('ul', { class: 'plain' }, names.map((n) => h('li', {}, n))) : h('p', {}, 'This applies to every database you select.'),
      ],
      confirmLabel: 'Overwrite',
      cancelLabel: 'Keep them',
      danger: true,
    });
    box.checked = ok;
    announce(ok ? 'Existing target databases will be dropped and created again.' : 'Overwrite left off: existing target databases are kept.', ok ? 'warn' : 'info');
  }

  function updateCount() {
    fill(count, `${selected.size} of at most ${MAX_DATABASES} selected`);
    const full = selected.size >= MAX_DATABASES;
    for (const box of body.querySelectorAll('input[type=checkbox]')) {
      box.disabled = full && !box.checked;
    }
  }

  function render(list) {
    // Names no longer on the server cannot be migrated: forget them.
    for (const name of [...selected]) if (!list.some((d) => d.name === name)) selected.delete(name);
    shown = list;
    fill(
      body,
      list.length === 0
        ? h('tr', {}, h('td', { colspan: '4' }, 'The source server has no user databases.'))
        : list.map((d, i) => {
            const id = `wiz-db-${i}`;
            const box = h('input', {
              type: 'checkbox',
              id,
              value: d.name,
              checked: selected.has(d.name),
              dataset: { db: d.name },
              onchange: (e) => {
                const el = e.currentTarget;
                if (el.checked && selected.size >= MAX_DATABASES) {
                  el.checked = false;
                  announce(`At most ${MAX_DATABASES} databases per migration: start another migration for the rest.`, 'warn');
                  return;
                }
                if (el.checked) selected.add(d.name);
                else selected.delete(d.name);
                updateCount();
              },
            });
            return h(
              'tr',
              {},
              h('td', {}, h('span', { class: 'check' }, box, h('label', { for: id }, d.name))),
              h('td', { class: 'num' }, d.sizeBytes === null ? 'no access' : formatBytes(d.sizeBytes)),
              h('td', {}, d.owner),
              h('td', {}, d.encoding),
            );
          }),
    );
    updateCount();
  }

  async function load(force) {
    const problems = connectionProblems('src');
    if (problems.length > 0) {
      fill(status, h('p', { class: 'result bad' }, 'Fill in Connect to source first: the databases are listed from the source server.'));
      return;
    }
    const conn = connectionOf('src');
    const key = connectionKey(conn);
    if (!force && key === loadedFor) return;
    const mine = ++seq;
    refresh.disabled = true;
    fill(status, h('p', { class: 'result busy' }, `Listing databases on ${conn.host}:${conn.port}…`));
    try {
      const r = await api.listDatabases(conn);
      if (mine !== seq) return;
      if (r && r.ok === false) {
        loadedFor = '';
        fill(status, h('div', { class: 'result bad' }, h('p', {}, h('strong', { class: 'kind' }, r.kind), ' — ', r.message), h('p', { class: 'fix' }, h('strong', {}, 'Fix: '), r.fix)));
        render([]);
        return;
      }
      loadedFor = key;
      const list = Array.isArray(r?.value) ? r.value : [];
      render(list);
      fill(status, h('p', { class: 'result ok' }, `${list.length} user database${list.length === 1 ? '' : 's'} on ${conn.host}:${conn.port}.`));
    } catch (e) {
      if (mine === seq) fill(status, renderApiError(e));
    } finally {
      if (mine === seq) refresh.disabled = false;
    }
  }

  updateCount();
  return {
    element: h(
      'div',
      { class: 'panel-body' },
      h('p', { class: 'lead' }, `User databases on the source server. Select up to ${MAX_DATABASES}; for more, run another migration for the next set.`),
      h('div', { class: 'actions' }, refresh),
      status,
      fieldset,
      count,
      overwrite,
    ),
    load,
    selected: () => shown.filter((d) => selected.has(d.name)).map((d) => d.name),
    overwrite: () => Boolean(overwrite.querySelector('input')?.checked),
  };
}
