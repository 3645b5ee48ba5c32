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

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Plain http on another host has no Clipboard API: copy through a selected, off-screen text area.
  const area = h('textarea', { class: 'sr-only', readonly: true }, text);
  document.body.append(area);
  area.select();
  const copied = document.execCommand('copy');
  area.remove();
  if (!copied) throw new Error('copy refused');
}

// A "Copy" button for a block of commands or code; it says "Copied" (to screen readers too) when done.
export function copyButton(block, label = 'Copy') {
  const status = h('span', { class: 'sr-only', role: 'status' });
  const button = h('button', { type: 'button', class: 'copy-button', 'aria-label': `${label} to the clipboard` }, label);
  button.addEventListener('click', async () => {
    try {
      await copyText(block.textContent);
      button.textContent = 'Copied';
      status.textContent = 'Copied to the clipboard';
    } catch {
      button.textContent = 'Select and copy';
      status.textContent = 'Could not copy: select the text and copy it';
    }
    setTimeout(() => { button.textContent = label; status.textContent = ''; }, 2000);
  });
  return h('div', { class: 'copy-wrap' }, button, status);
}

// Adds a copy button before every code block under `root` (answers, commands).
export function addCopyButtons(root) {
  for (const pre of root.querySelectorAll('pre')) {
    if (pre.previousElementSibling?.classList.contains('copy-wrap')) continue;
    pre.before(copyButton(pre));
  }
  return root;
}
