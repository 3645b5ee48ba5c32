// The knowledge base: search, the document list, add (file or pasted text) and delete. Global documents
// are for administrators: others add personal ones, and the server refuses what they may not change.

import { api, enc, query, request } from '../api.js';
import { announce, field, h, timeElement } from '../dom.js';
import { isAdmin } from '../session.js';
import { badge, confirmAction, errorNotice, unavailable } from '../ui.js';
import { openDocument } from './citations.js';

const DOCUMENT_TYPES = ['playbook', 'troubleshooting_guide', 'reference', 'how_to'];
const PAGE_SIZE = 50;

export async function renderKnowledge(main, _params, signal) {
  main.append(h('div', { class: 'page-head' }, h('h1', {}, 'Knowledge base')));
  const listSection = h('section', { class: 'card', 'aria-labelledby': 'documents-title' });
  const list = h('ul', { class: 'document-list' });

  async function refresh() {
    const body = await api(`/knowledge/documents${query({ limit: PAGE_SIZE })}`, { signal });
    listSection.replaceChildren(
      h('h2', { id: 'documents-title' }, `Documents (${body.total_count})`),
      body.documents.length ? list : h('p', { class: 'muted' }, 'No documents yet: add runbooks and guides below.'));
    list.replaceChildren(...body.documents.map((document_) => documentRow(document_, refresh)));
  }

  try {
    await refresh();
  } catch (error) {
    if (error.featureMissing) {
      main.append(unavailable('The knowledge base'));
      return;
    }
    throw error;
  }
  main.append(searchSection(signal), addSection(refresh), listSection);
}

function documentRow(document_, refresh) {
  const remove = async () => {
    if (!await confirmAction('Delete this document?', `“${document_.title}” will be removed from the knowledge base.`, 'Delete')) return;
    try {
      await api(`/knowledge/documents/${enc(document_.document_id)}`, { method: 'DELETE' });
      announce(`${document_.title} deleted`);
      await refresh();
    } catch (error) {
      row.append(errorNotice(error, 'Not deleted'));
    }
  };
  const mayDelete = document_.scope !== 'global' || isAdmin();
  const row = h('li', { class: 'document-row', dataset: { documentId: document_.document_id } },
    h('div', {},
      h('button', { type: 'button', class: 'link-button document-title', onclick: () => openDocument(document_.document_id) }, document_.title),
      h('div', { class: 'evidence-meta' },
        badge(document_.document_type.replaceAll('_', ' ')),
        badge(document_.scope, document_.scope === 'global' ? 'info' : 'neutral', 'Who sees it'),
        document_.category ? h('span', {}, document_.category) : null,
        document_.tags?.length ? h('span', {}, document_.tags.map((tag) => `#${tag}`).join(' ')) : null,
        h('span', {}, 'updated ', timeElement(document_.updated_at)))),
    mayDelete ? h('button', { type: 'button', class: 'button danger-outline', onclick: remove, 'aria-label': `Delete ${document_.title}` }, 'Delete') : null);
  return row;
}

function searchSection(signal) {
  const input = h('input', { type: 'search', name: 'query', required: true, maxlength: 2000, placeholder: 'e.g. connection pool exhausted' });
  const results = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'filters', role: 'search' }, field('Search the knowledge base', input),
    h('button', { type: 'submit', class: 'button primary' }, 'Search'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const body = await api('/knowledge/search', { method: 'POST', body: { query: input.value.trim(), limit: 10 }, signal });
      results.replaceChildren(body.results.length
        ? h('ol', { class: 'search-results' }, body.results.map(searchHit))
        : h('p', { class: 'muted' }, 'Nothing matches.'));
    } catch (error) {
      results.replaceChildren(error.featureMissing ? unavailable('Knowledge search') : errorNotice(error, 'Search failed'));
    }
  });
  return h('section', { class: 'card', 'aria-label': 'Search' }, form, results);
}

function searchHit(hit) {
  const meta = hit.metadata || {};
  // The heading path starts with the document's own title: show only the section within it.
  const section = (meta.heading_path || '').split(' > ').filter((part) => part !== meta.title).join(' > ');
  return h('li', { class: 'search-hit' },
    h('button', { type: 'button', class: 'link-button', onclick: () => openDocument(hit.document_id) }, meta.title || hit.document_id),
    section ? h('span', { class: 'muted' }, ` · ${section}`) : null,
    typeof hit.similarity_score === 'number' ? h('span', { class: 'muted' }, ` · score ${hit.similarity_score.toFixed(2)}`) : null,
    h('p', { class: 'snippet-preview' }, hit.content.slice(0, 300)));
}

function addSection(refresh) {
  const title = h('input', { type: 'text', name: 'title', maxlength: 300, placeholder: 'Taken from the first heading when empty' });
  const type = h('select', { name: 'document_type' }, DOCUMENT_TYPES.map((value) => h('option', { value }, value.replaceAll('_', ' '))));
  const category = h('input', { type: 'text', name: 'category', maxlength: 100 });
  const tags = h('input', { type: 'text', name: 'tags', placeholder: 'comma, separated' });
  const scope = h('select', { name: 'scope' },
    h('option', { value: 'personal' }, 'personal (only me)'),
    isAdmin() ? h('option', { value: 'global', selected: true }, 'global (everyone)') : null);
  const file = h('input', { type: 'file', name: 'file', accept: '.md,.markdown,.txt,.rst,.text,text/*' });
  const content = h('textarea', { name: 'content', rows: 6, placeholder: 'Or paste Markdown here' });
  const status = h('div');
  const form = h('form', { class: 'stack add-document' },
    h('div', { class: 'form-grid' }, field('Title', title), field('Type', type), field('Category', category),
      field('Tags', tags), field('Visible to', scope, isAdmin() ? null : 'Only administrators publish global documents.')),
    field('File', file, 'Markdown or text, or paste the content below.'),
    field('Content', content), status,
    h('div', {}, h('button', { type: 'submit', class: 'button primary' }, 'Add document')));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    status.replaceChildren();
    const data = new FormData();
    const picked = file.files[0];
    if (!picked && !content.value.trim()) {
      status.replaceChildren(errorNotice({ message: 'Choose a file or paste the content.' }));
      return;
    }
    data.append('file', picked || new File([content.value], `${title.value.trim() || 'document'}.md`, { type: 'text/markdown' }));
    for (const [name, control] of Object.entries({ title, document_type: type, category, tags, scope })) {
      if (control.value.trim()) data.append(name, control.value.trim());
    }
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const response = await request('/knowledge/documents', { method: 'POST', body: data });
      const created = await response.json();
      form.reset();
      announce(`${created.title} added`);
      await refresh();
    } catch (error) {
      status.replaceChildren(errorNotice(error, 'Could not add the document'));
    } finally {
      button.disabled = false;
    }
  });
  return h('details', { class: 'card add-document-card' },
    h('summary', {}, h('h2', {}, 'Add a document')), form);
}
