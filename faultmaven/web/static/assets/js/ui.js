// Shared pieces of the interface: notices, the "not available" state, modal dialogs, confirmation.

import { h } from './dom.js';

export function notice(kind, ...content) {
  const role = kind === 'error' ? 'alert' : 'status';
  return h('div', { class: `notice notice-${kind}`, role }, ...content);
}

// What a page shows when its part of the API answers 404/501: the server predates that feature.
export function unavailable(what) {
  return notice('info', h('strong', {}, `${what} is not available on this server.`),
    ' This FaultMaven server does not offer it (yet); the rest of the console works.');
}

export function errorNotice(error, what) {
  const detail = error?.message || String(error);
  return notice('error', what ? `${what}: ${detail}` : detail);
}

export function spinner(label) {
  return h('span', { class: 'thinking', role: 'status' }, h('span', { class: 'dots', 'aria-hidden': 'true' },
    h('span', {}), h('span', {}), h('span', {})), h('span', { class: 'thinking-label' }, label));
}

// A modal <dialog>: focus is trapped by the browser, Esc closes it, focus returns to the opener.
export function openDialog(title, body, { wide = false } = {}) {
  const opener = document.activeElement;
  const closeButton = h('button', { type: 'button', class: 'icon-button', 'aria-label': 'Close' }, '✕');
  const heading = h('h2', { id: `dialog-title-${Date.now()}` }, title);
  const content = h('div', { class: 'dialog-body' }, body);
  const dialog = h('dialog', { class: wide ? 'modal wide' : 'modal', 'aria-labelledby': heading.id },
    h('div', { class: 'dialog-head' }, heading, closeButton), content);
  closeButton.addEventListener('click', () => dialog.close());
  dialog.addEventListener('click', (event) => {
    if (event.target === dialog) dialog.close();
  });
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (opener instanceof HTMLElement) opener.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, content };
}

// Resolves true when the user confirms; the destructive button is not the default focus.
export function confirmAction(title, message, actionLabel) {
  return new Promise((resolve) => {
    let confirmed = false;
    const cancel = h('button', { type: 'button', class: 'button' }, 'Cancel');
    const proceed = h('button', { type: 'button', class: 'button danger' }, actionLabel);
    const { dialog } = openDialog(title, [h('p', {}, message), h('div', { class: 'dialog-actions' }, cancel, proceed)]);
    dialog.classList.add('confirm');
    cancel.addEventListener('click', () => dialog.close());
    proceed.addEventListener('click', () => {
      confirmed = true;
      dialog.close();
    });
    dialog.addEventListener('close', () => resolve(confirmed));
    cancel.focus();
  });
}

export function badge(text, kind = 'neutral', title) {
  return h('span', { class: `badge badge-${kind}`, title }, text);
}

export const STATUS_KINDS = {
  active: 'info', investigating: 'warn', resolved: 'ok', closed: 'neutral', archived: 'neutral',
  pending: 'neutral', processing: 'info', completed: 'ok', failed: 'error',
};
