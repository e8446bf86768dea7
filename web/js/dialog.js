/* global document, HTMLElement */
/**
 * A modal confirmation (the native <dialog>: focus trapped, Escape closes). The safe choice has
 * focus first, so Enter on an unread dialog never cuts over or cancels anything.
 */
import { h } from './dom.js';

let seq = 0;

/**
 * @param {{ title: string, body: (Node|string)[], confirmLabel: string, cancelLabel?: string, danger?: boolean }} o
 * @returns {Promise<boolean>} true when the user confirmed
 */
export function confirmDialog(o) {
  const id = `dlg-${++seq}`;
  const confirm = h('button', { type: 'button', class: o.danger ? 'danger' : 'primary', 'data-action': 'confirm' }, o.confirmLabel);
  const dismiss = h('button', { type: 'button', 'data-action': 'dismiss' }, o.cancelLabel ?? 'Not now');
  const dialog = h(
    'dialog',
    { class: 'dialog', 'aria-labelledby': `${id}-title`, 'aria-describedby': `${id}-body` },
    h('h2', { id: `${id}-title` }, o.title),
    h('div', { id: `${id}-body`, class: 'dialog-body' }, o.body),
    h('div', { class: 'dialog-actions' }, confirm, dismiss),
  );
  const opener = document.activeElement;
  document.body.append(dialog);
  return new Promise((resolve) => {
    confirm.addEventListener('click', () => dialog.close('confirm'));
    dismiss.addEventListener('click', () => dialog.close('dismiss'));
    dialog.addEventListener('close', () => {
      const ok = dialog.returnValue === 'confirm';
      dialog.remove();
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
      resolve(ok);
    });
    dialog.showModal();
    dismiss.focus();
  });
}
