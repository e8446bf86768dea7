/**
 * Tabs as the WAI-ARIA pattern has them: one tab stop for the tab list, arrow keys / Home / End
 * move between tabs and select them, each panel is labelled by its tab.
 */
import { h } from './dom.js';

/**
 * @param {{ idPrefix: string, label: string, items: { key: string, title: string, panel: HTMLElement }[],
 *           selected?: string, onSelect?: (key: string) => void }} o
 */
export function createTabs(o) {
  const tabButtons = new Map();
  const panels = new Map();
  const list = h('div', { role: 'tablist', 'aria-label': o.label, class: 'tablist' });
  const wrap = h('div', { class: 'tabs' }, list);
  let current = '';
  let ready = false;

  for (const item of o.items) {
    const tabId = `${o.idPrefix}-tab-${item.key}`;
    const panelId = `${o.idPrefix}-panel-${item.key}`;
    const tab = h('button', {
      type: 'button',
      role: 'tab',
      id: tabId,
      'aria-controls': panelId,
      'aria-selected': 'false',
      tabindex: '-1',
      class: 'tab',
      dataset: { tab: item.key },
      onclick: () => select(item.key, false),
      onkeydown: (e) => onKey(e, item.key),
    }, item.title);
    const panel = h('div', { role: 'tabpanel', id: panelId, 'aria-labelledby': tabId, tabindex: '0', class: 'tabpanel', hidden: true }, item.panel);
    tabButtons.set(item.key, tab);
    panels.set(item.key, panel);
    list.append(tab);
    wrap.append(panel);
  }

  function select(key, focus) {
    if (!tabButtons.has(key)) return;
    const changed = key !== current;
    current = key;
    for (const [k, tab] of tabButtons) {
      const on = k === key;
      tab.setAttribute('aria-selected', on ? 'true' : 'false');
      tab.tabIndex = on ? 0 : -1;
      panels.get(k).hidden = !on;
    }
    if (focus) tabButtons.get(key).focus();
    if (changed && ready) o.onSelect?.(key);
  }

  function onKey(e, key) {
    const keys = [...tabButtons.keys()];
    const i = keys.indexOf(key);
    let next;
    if (e.key === 'ArrowRight') next = keys[(i + 1) % keys.length];
    else if (e.key === 'ArrowLeft') next = keys[(i - 1 + keys.length) % keys.length];
    else if (e.key === 'Home') next = keys[0];
    else if (e.key === 'End') next = keys[keys.length - 1];
    if (next === undefined) return;
    e.preventDefault();
    select(next, true);
  }

  // The initial tab is not a user's choice: onSelect fires only for later changes.
  select(o.selected ?? o.items[0]?.key ?? '', false);
  ready = true;
  return { element: wrap, select, current: () => current, tab: (key) => tabButtons.get(key) };
}
