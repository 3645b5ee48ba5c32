// A case's evidence: drag-and-drop, file picker or pasted text; upload progress; the list with type and
// processing status (refreshed while the server is still processing).

import { api, apiList, enc, query } from '../api.js';
import { announce, field, formatBytes, h, timeElement } from '../dom.js';
import { uploadWithProgress } from '../upload.js';
import { STATUS_KINDS, badge, confirmAction, errorNotice, unavailable } from '../ui.js';
import { renderCaseHeader } from './case-header.js';

const REFRESH_MS = 1500;
const UNFINISHED = new Set(['pending', 'processing']);

export async function renderEvidence(main, { caseId }, signal) {
  await renderCaseHeader(main, caseId, 'evidence', signal);
  const listSection = h('section', { class: 'card', 'aria-labelledby': 'evidence-list-title' },
    h('h2', { id: 'evidence-list-title' }, 'Evidence'));
  const list = h('ul', { class: 'evidence-list' });
  const listStatus = h('div');
  listSection.append(listStatus, list);

  let refreshTimer = 0;
  signal.addEventListener('abort', () => clearTimeout(refreshTimer));

  async function refresh() {
    clearTimeout(refreshTimer);
    let items;
    try {
      ({ items } = await apiList(`/cases/${enc(caseId)}/data${query({ limit: 100 })}`, { signal }));
    } catch (error) {
      if (error.name === 'AbortError') return;
      if (error.featureMissing) {
        main.querySelector('.upload-card')?.remove();
        listSection.replaceChildren(unavailable('Evidence'));
        return;
      }
      listStatus.replaceChildren(errorNotice(error, 'Could not list the evidence'));
      return;
    }
    listStatus.replaceChildren(items.length ? '' : h('p', { class: 'muted' }, 'No evidence yet: add logs, configs or command output above.'));
    list.replaceChildren(...items.map((item) => evidenceRow(caseId, item, refresh)));
    if (items.some((item) => UNFINISHED.has(item.processing_status)) && !signal.aborted) {
      refreshTimer = setTimeout(refresh, REFRESH_MS);
    }
  }

  main.append(uploadCard(caseId, refresh), listSection);
  await refresh();
}

function evidenceRow(caseId, item, refresh) {
  const href = `#/cases/${enc(caseId)}/evidence/${enc(item.data_id)}`;
  const remove = async () => {
    if (!await confirmAction('Delete this evidence?', `“${item.filename}” will be removed from the case.`, 'Delete')) return;
    try {
      await api(`/cases/${enc(caseId)}/data/${enc(item.data_id)}`, { method: 'DELETE' });
      announce(`${item.filename} deleted`);
      refresh();
    } catch (error) {
      alertNear(row, error);
    }
  };
  const row = h('li', { class: 'evidence-row', dataset: { dataId: item.data_id, status: item.processing_status } },
    h('div', { class: 'evidence-main' },
      h('a', { class: 'evidence-name', href }, item.filename),
      h('div', { class: 'evidence-meta' },
        badge(item.data_type?.replaceAll('_', ' ') || 'unknown', 'neutral', 'Detected type'),
        badge(item.processing_status, STATUS_KINDS[item.processing_status], 'Processing status'),
        h('span', {}, formatBytes(item.file_size)),
        item.line_count ? h('span', {}, `${item.line_count.toLocaleString()} lines`) : null,
        h('span', {}, 'added ', timeElement(item.uploaded_at))),
      item.summary ? h('p', { class: 'evidence-summary muted' }, item.summary) : null,
      item.error ? h('p', { class: 'evidence-error' }, item.error) : null),
    h('div', { class: 'evidence-actions' },
      h('a', { class: 'button', href }, 'View'),
      h('button', { type: 'button', class: 'button danger-outline', onclick: remove, 'aria-label': `Delete ${item.filename}` }, 'Delete')));
  return row;
}

function alertNear(element, error) {
  element.querySelector('.notice')?.remove();
  element.append(errorNotice(error));
}

function uploadCard(caseId, refresh) {
  const fileInput = h('input', { type: 'file', multiple: true, class: 'sr-only', id: 'evidence-file' });
  const dropZone = h('div', { class: 'drop-zone', tabindex: 0, 'aria-describedby': 'drop-hint' },
    h('p', {}, h('strong', {}, 'Drop log files here'), ' or paste them, or ',
      h('label', { for: 'evidence-file', class: 'link-like' }, 'choose files'), '.'),
    h('p', { class: 'muted', id: 'drop-hint' }, 'Logs, configs, command output, stack traces. Large files show their progress.'),
    fileInput);
  const uploads = h('ul', { class: 'upload-list', 'aria-label': 'Uploads', 'aria-live': 'polite' });

  const pasteText = h('textarea', { name: 'content', rows: 5, placeholder: 'Paste log lines or command output' });
  const pasteName = h('input', { type: 'text', name: 'filename', value: 'pasted.log', maxlength: 200 });
  const pasteStatus = h('div');
  const pasteForm = h('form', { class: 'stack paste-form' },
    field('Pasted text', pasteText), field('Name it', pasteName), pasteStatus,
    h('div', {}, h('button', { type: 'submit', class: 'button' }, 'Add pasted text')));

  function uploadFiles(files) {
    for (const file of files) uploads.prepend(uploadRow(caseId, file, refresh));
  }

  fileInput.addEventListener('change', () => {
    uploadFiles([...fileInput.files]);
    fileInput.value = '';
  });
  for (const name of ['dragenter', 'dragover']) {
    dropZone.addEventListener(name, (event) => {
      event.preventDefault();
      dropZone.classList.add('dragging');
    });
  }
  for (const name of ['dragleave', 'drop']) dropZone.addEventListener(name, () => dropZone.classList.remove('dragging'));
  dropZone.addEventListener('drop', (event) => {
    event.preventDefault();
    uploadFiles([...(event.dataTransfer?.files || [])]);
  });
  dropZone.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      fileInput.click();
    }
  });
  // Pasting files uploads them; pasting text fills the paste form so it can be named first.
  dropZone.addEventListener('paste', (event) => {
    const files = [...(event.clipboardData?.files || [])];
    event.preventDefault();
    if (files.length) {
      uploadFiles(files);
      return;
    }
    pasteText.value = event.clipboardData?.getData('text/plain') || '';
    pasteText.focus();
  });
  pasteForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!pasteText.value.trim()) return;
    const button = pasteForm.querySelector('button[type=submit]');
    button.disabled = true;
    pasteStatus.replaceChildren();
    try {
      const filename = pasteName.value.trim() || 'pasted.log';
      await api(`/cases/${enc(caseId)}/data`, { method: 'POST', body: { content: pasteText.value, filename } });
      pasteText.value = '';
      announce(`${filename} added`);
      refresh();
    } catch (error) {
      pasteStatus.replaceChildren(errorNotice(error, 'Could not add the text'));
    } finally {
      button.disabled = false;
    }
  });

  return h('section', { class: 'card upload-card', 'aria-labelledby': 'upload-title' },
    h('h2', { id: 'upload-title' }, 'Add evidence'),
    h('div', { class: 'upload-grid' }, h('div', {}, dropZone, uploads), pasteForm));
}

function uploadRow(caseId, file, refresh) {
  const progress = h('progress', { max: 100, value: 0, 'aria-label': `Uploading ${file.name}` });
  const state = h('span', { class: 'upload-state' }, `0% of ${formatBytes(file.size)}`);
  const cancel = h('button', { type: 'button', class: 'button small' }, 'Cancel');
  const row = h('li', { class: 'upload-row' }, h('span', { class: 'upload-name' }, file.name), progress, state, cancel);
  const form = new FormData();
  form.append('file', file, file.name);
  const upload = uploadWithProgress(`/cases/${enc(caseId)}/data`, form, (loaded, total) => {
    const percent = Math.round((loaded / total) * 100);
    progress.value = percent;
    state.textContent = `${percent}% of ${formatBytes(total)}`;
  });
  cancel.addEventListener('click', upload.cancel);
  upload.done.then(() => {
    progress.value = 100;
    state.textContent = 'Uploaded';
    row.classList.add('done');
    cancel.remove();
    announce(`${file.name} uploaded`);
    refresh();
  }, (error) => {
    cancel.remove();
    progress.remove();
    state.replaceChildren(error.name === 'AbortError' ? 'Cancelled'
      : error.featureMissing ? 'Evidence is not available on this server.' : `Failed: ${error.message}`);
    row.classList.add('failed');
  });
  return row;
}
