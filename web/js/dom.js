/* global document, Node, HTMLElement, CSS */
/**
 * Tiny DOM helpers. Text always goes in through textContent, never innerHTML, so a database or
 * migration name can never become markup.
 */

/**
 * h('button', { class: 'primary', onclick: fn }, 'Start') → an element.
 * Attributes: `class`, `text`, `on<event>` handlers, booleans (true → present, false → absent),
 * `dataset` (object), anything else via setAttribute. Children: nodes, strings, arrays, null.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = String(v);
    else if (k === 'text') el.textContent = String(v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' && 'value' in el) el.value = String(v);
    else if (k === 'checked' || k === 'disabled' || k === 'hidden' || k === 'selected') el[k] = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el;
}

/**
 * Rebuilds part of the page while keeping keyboard focus: the focused element's
 * data-focus-key is looked up again after `rebuild` and focused, so auto-refresh never throws a
 * keyboard user back to the top of the page.
 */
export function keepFocus(rebuild) {
  const active = document.activeElement;
  const key = active instanceof HTMLElement ? active.dataset.focusKey : undefined;
  rebuild();
  if (key === undefined) return;
  const again = document.querySelector(`[data-focus-key="${CSS.escape(key)}"]`);
  if (again instanceof HTMLElement && again !== document.activeElement) again.focus();
}

/**
 * Announces `text` in the page's polite live region (and shows it in the status bar).
 * A message belongs to the view that showed it: the next view clears it (clearStatus on every
 * route change) unless `o.carry` says it is about the view that comes next (e.g. "created").
 * `o.owner` names who may take it back once it no longer applies.
 * @param {string} text
 * @param {string} [tone]
 * @param {{ owner?: string, carry?: boolean }} [o]
 */
export function announce(text, tone = 'info', o = {}) {
  const status = document.getElementById('status');
  if (!status) return;
  status.dataset.tone = tone;
  status.dataset.owner = o.owner ?? '';
  status.dataset.carry = o.carry ? '1' : '';
  // Clearing first makes screen readers repeat an identical message.
  status.textContent = '';
  status.textContent = text;
}

/**
 * Removes the status message: any message (no owner given), or only one announced by `owner`.
 * @param {string} [owner]
 */
export function clearStatus(owner) {
  const status = document.getElementById('status');
  if (!status || (owner !== undefined && status.dataset.owner !== owner)) return;
  status.textContent = '';
  for (const k of ['tone', 'owner', 'carry']) delete status.dataset[k];
}

/** On a route change: the old view's message goes, one announced for the new view stays once. */
export function statusForNewView() {
  const status = document.getElementById('status');
  if (!status) return;
  if (status.dataset.carry === '1') status.dataset.carry = '';
  else clearStatus();
}
