// The head of a case's pages: title (rename), status (change), delete with confirmation, and the
// Conversation / Evidence / Timeline tabs.

import { api, enc } from '../api.js';
import { announce, field, h, timeElement } from '../dom.js';
import { STATUS_KINDS, badge, confirmAction, errorNotice } from '../ui.js';
import { CASE_STATUSES } from './cases.js';

export async function renderCaseHeader(container, caseId, activeTab, signal) {
  let current = await api(`/cases/${enc(caseId)}`, { signal });
  const head = h('div', { class: 'case-head' });
  const status = h('div', { class: 'case-head-status' });
  container.append(head, status);

  function show() {
    const statusSelect = h('select', { name: 'status', class: 'compact' },
      CASE_STATUSES.map((value) => h('option', { value, selected: value === current.status }, value)));
    statusSelect.addEventListener('change', () => update({ status: statusSelect.value }, `Status changed to ${statusSelect.value}`));
    head.replaceChildren(
      h('div', { class: 'crumbs' }, h('a', { href: '#/cases' }, '← Cases')),
      h('div', { class: 'case-title-row' },
        h('h1', { class: 'case-heading' }, current.title),
        h('div', { class: 'case-actions' },
          h('button', { type: 'button', class: 'button', onclick: startRename }, 'Rename'),
          field('Status', statusSelect),
          h('button', { type: 'button', class: 'button danger-outline', onclick: remove }, 'Delete'))),
      h('p', { class: 'case-sub muted' },
        badge(current.status, STATUS_KINDS[current.status]), ' ',
        `priority ${current.priority} · ${current.message_count ?? 0} messages · last activity `,
        timeElement(current.last_activity_at || current.updated_at)),
      tabs(caseId, activeTab));
  }

  function startRename() {
    const input = h('input', { type: 'text', name: 'title', value: current.title, required: true, maxlength: 200 });
    const form = h('form', { class: 'rename-form' },
      field('Case title', input),
      h('button', { type: 'submit', class: 'button primary' }, 'Save'),
      h('button', { type: 'button', class: 'button', onclick: show }, 'Cancel'));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      update({ title: input.value.trim() }, 'Case renamed');
    });
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') show();
    });
    head.querySelector('.case-title-row').replaceWith(form);
    input.select();
  }

  async function update(changes, message) {
    status.replaceChildren();
    try {
      current = await api(`/cases/${enc(caseId)}`, { method: 'PATCH', body: changes });
      announce(message);
    } catch (error) {
      const allowed = error.body?.allowed_transitions;
      const hint = Array.isArray(allowed) && allowed.length ? ` Allowed next: ${allowed.join(', ')}.` : '';
      status.replaceChildren(errorNotice({ message: error.message + hint }, 'Not changed'));
    }
    show();
  }

  async function remove() {
    const confirmed = await confirmAction('Delete this case?',
      `“${current.title}” and its conversation and evidence will be deleted. This cannot be undone.`, 'Delete case');
    if (!confirmed) return;
    try {
      await api(`/cases/${enc(caseId)}`, { method: 'DELETE' });
      announce('Case deleted');
      location.hash = '#/cases';
    } catch (error) {
      status.replaceChildren(errorNotice(error, 'Could not delete the case'));
    }
  }

  show();
  return {
    get current() { return current; },
    async refresh() {
      current = await api(`/cases/${enc(caseId)}`);
      show();
    },
  };
}

function tabs(caseId, active) {
  const tab = (name, label, href) => h('a', {
    class: 'tab', href, 'aria-current': name === active ? 'page' : null,
  }, label);
  return h('nav', { class: 'tabs', 'aria-label': 'Case sections' },
    tab('conversation', 'Conversation', `#/cases/${enc(caseId)}`),
    tab('evidence', 'Evidence', `#/cases/${enc(caseId)}/evidence`),
    tab('timeline', 'Timeline', `#/cases/${enc(caseId)}/timeline`));
}
