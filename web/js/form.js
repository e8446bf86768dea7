/* global document, HTMLInputElement, HTMLSelectElement, HTMLElement */
/**
 * Labelled form fields with a hint and an error line, both tied to the input by
 * aria-describedby; errors set aria-invalid so screen readers say which field is wrong.
 */
import { fill, h } from './dom.js';
import { inWords } from './labels.js';

/**
 * A labelled input. `input` is created here unless given.
 * @param {{ id: string, label: string, hint?: string, type?: string, value?: string, input?: HTMLElement, attrs?: object }} o
 */
export function field(o) {
  const input = o.input ?? h('input', { id: o.id, name: o.id, type: o.type ?? 'text', value: o.value ?? '', ...(o.attrs ?? {}) });
  if (!input.id) input.id = o.id;
  const hint = o.hint ? h('p', { id: `${o.id}-hint`, class: 'hint' }, o.hint) : null;
  const error = h('p', { id: `${o.id}-error`, class: 'field-error', hidden: true });
  input.setAttribute('aria-describedby', [hint ? `${o.id}-hint` : '', `${o.id}-error`].filter(Boolean).join(' '));
  return h('div', { class: 'field', dataset: { field: o.id } }, h('label', { for: o.id }, o.label), input, hint, error);
}

/** A <select> with [value, label] options. */
export function select(id, options, value) {
  return h('select', { id, name: id }, options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)));
}

/**
 * Radio buttons in a fieldset; `choices` are [value, label, description].
 * The fieldset's id takes errors for the group.
 */
export function radioGroup(id, legend, choices, value) {
  return h(
    'fieldset',
    { id, class: 'radios', 'aria-describedby': `${id}-error` },
    h('legend', {}, legend),
    choices.map(([v, label, description]) =>
      h(
        'div',
        { class: 'radio' },
        h('input', { type: 'radio', id: `${id}-${v}`, name: id, value: v, checked: v === value, 'aria-describedby': description ? `${id}-${v}-desc` : undefined }),
        h('label', { for: `${id}-${v}` }, label),
        description ? h('span', { id: `${id}-${v}-desc`, class: 'hint inline' }, description) : null,
      ),
    ),
    h('p', { id: `${id}-error`, class: 'field-error', hidden: true }),
  );
}

export function radioValue(id) {
  const checked = document.querySelector(`input[name="${id}"]:checked`);
  return checked instanceof HTMLInputElement ? checked.value : '';
}

export function inputValue(id) {
  const el = document.getElementById(id);
  return el instanceof HTMLInputElement || el instanceof HTMLSelectElement ? el.value : '';
}

/** Shows `message` (and its fix) under the field with `id`, API field names in words; an empty message clears it. */
export function setFieldError(id, message, fix) {
  const error = document.getElementById(`${id}-error`);
  const control = document.getElementById(id);
  if (!error || !control) return false;
  if (!message) {
    error.hidden = true;
    error.textContent = '';
    control.removeAttribute('aria-invalid');
    return true;
  }
  // fill() skips a missing fix; replaceChildren would have written the word "null".
  fill(error, h('span', { class: 'sr-only' }, 'Error: '), inWords(message), fix ? h('span', { class: 'fix' }, ` ${inWords(fix)}`) : null);
  error.hidden = false;
  control.setAttribute('aria-invalid', 'true');
  return true;
}

export function clearFieldErrors(root) {
  for (const el of root.querySelectorAll('.field-error')) {
    el.hidden = true;
    el.textContent = '';
  }
  for (const el of root.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

/** Focuses a field (or the first radio of a group). */
export function focusField(id) {
  const el = document.getElementById(id);
  if (!el) return;
  const target = el.tagName === 'FIELDSET' ? el.querySelector('input:not([disabled])') ?? el : el;
  if (target instanceof HTMLElement) {
    if (target === el && el.tagName === 'FIELDSET') el.tabIndex = -1;
    target.focus();
  }
}
