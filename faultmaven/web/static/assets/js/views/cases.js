// The case list: search, filter by status, create; newest activity first, paged with "Show more".

import { api, apiList, query } from '../api.js';
import { field, h, timeElement } from '../dom.js';
import { STATUS_KINDS, badge, errorNotice } from '../ui.js';

export const CASE_STATUSES = ['active', 'investigating', 'resolved', 'closed', 'archived'];
const PAGE_SIZE = 50;
const SEARCH_DELAY_MS = 250;

export async function renderCases(main, _params, signal) {
  const searchInput = h('input', { type: 'search', name: 'q', placeholder: 'Title or description', maxlength: 200 });
  const statusSelect = h('select', { name: 'status' },
    h('option', { value: '' }, 'Any status'),
    CASE_STATUSES.map((status) => h('option', { value: status }, status)));
  const list = h('ul', { class: 'case-list', 'aria-label': 'Cases' });
  const footer = h('div', { class: 'list-footer' });
  const summary = h('p', { class: 'muted', 'aria-live': 'polite' });

  main.append(
    h('div', { class: 'page-head' }, h('h1', {}, 'Cases')),
    newCaseForm(),
    h('section', { class: 'card', 'aria-label': 'Case list' },
      h('form', { class: 'filters', role: 'search', onsubmit: (event) => { event.preventDefault(); reload(); } },
        field('Search cases', searchInput), field('Status', statusSelect)),
      summary, list, footer));

  let shown = 0;
  let searchTimer = 0;

  async function load(offset) {
    const path = `/cases${query({ q: searchInput.value.trim(), status: statusSelect.value, limit: PAGE_SIZE, offset })}`;
    const { items, total } = await apiList(path, { signal });
    if (offset === 0) list.replaceChildren();
    list.append(...items.map(caseRow));
    shown = offset + items.length;
    const filtered = searchInput.value.trim() || statusSelect.value;
    summary.textContent = total === 0
      ? (filtered ? 'No case matches.' : 'No cases yet: create one above to start troubleshooting.')
      : `${total} case${total === 1 ? '' : 's'}`;
    footer.replaceChildren(shown < total
      ? h('button', { type: 'button', class: 'button', onclick: () => guarded(load(shown)) }, 'Show more')
      : '');
  }

  function guarded(promise) {
    return promise.catch((error) => {
      if (error.name !== 'AbortError') footer.replaceChildren(errorNotice(error, 'Could not list cases'));
    });
  }

  function reload() {
    return guarded(load(0));
  }

  searchInput.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(reload, SEARCH_DELAY_MS);
  });
  statusSelect.addEventListener('change', reload);
  signal.addEventListener('abort', () => clearTimeout(searchTimer));
  await reload();
}

function caseRow(item) {
  return h('li', { class: 'case-row', dataset: { caseId: item.case_id } },
    h('a', { class: 'case-title', href: `#/cases/${encodeURIComponent(item.case_id)}` }, item.title),
    h('div', { class: 'case-meta' },
      badge(item.status, STATUS_KINDS[item.status]),
      item.priority && item.priority !== 'medium' ? badge(item.priority, item.priority === 'critical' || item.priority === 'high' ? 'error' : 'neutral') : null,
      h('span', {}, `${item.message_count ?? 0} message${item.message_count === 1 ? '' : 's'}`),
      h('span', {}, 'last activity ', timeElement(item.last_activity_at || item.updated_at))));
}

function newCaseForm() {
  const title = h('input', { type: 'text', name: 'title', maxlength: 200, placeholder: 'e.g. Checkout returns 502 since 14:00' });
  const firstMessage = h('textarea', { name: 'initial_message', rows: 2, placeholder: 'What is happening? (optional)' });
  const status = h('div');
  const form = h('form', { class: 'stack new-case', 'aria-labelledby': 'new-case-title' },
    h('h2', { id: 'new-case-title' }, 'New case'),
    h('div', { class: 'new-case-fields' },
      field('Title', title, 'Leave empty to have one generated.'),
      field('First message', firstMessage)),
    status,
    h('div', {}, h('button', { type: 'submit', class: 'button primary' }, 'Create case')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    status.replaceChildren();
    const body = {};
    if (title.value.trim()) body.title = title.value.trim();
    if (firstMessage.value.trim()) body.initial_message = firstMessage.value.trim();
    try {
      const created = await api('/cases', { method: 'POST', body });
      location.hash = `#/cases/${encodeURIComponent(created.case.case_id)}`;
    } catch (error) {
      status.replaceChildren(errorNotice(error, 'Could not create the case'));
      button.disabled = false;
    }
  });
  return h('section', { class: 'card' }, form);
}
