// One evidence item: its log digest (totals, error signatures, bursts, time line, event templates with
// counts) and a raw-lines viewer, opened on a cited range when the URL carries ?start=&end=.

import { api, enc } from '../api.js';
import { absoluteTime, field, formatBytes, h } from '../dom.js';
import { STATUS_KINDS, badge, errorNotice, unavailable } from '../ui.js';
import { renderCaseHeader } from './case-header.js';
import { CONTEXT_LINES, fetchLines, lineRange, linesTable, openLines } from './citations.js';

const PAGE_LINES = 100;
const TEMPLATE_ROWS = 50;

export async function renderEvidenceItem(main, { caseId, dataId, search }, signal) {
  await renderCaseHeader(main, caseId, 'evidence', signal);
  let item;
  try {
    item = await api(`/cases/${enc(caseId)}/data/${enc(dataId)}`, { signal });
  } catch (error) {
    if (error.featureMissing) {
      main.append(unavailable('Evidence'));
      return;
    }
    throw error;
  }
  const citedStart = Number(search.get('start')) || null;
  const citedEnd = Number(search.get('end')) || citedStart;
  main.append(
    h('section', { class: 'card', 'aria-labelledby': 'item-title' },
      h('p', { class: 'crumbs' }, h('a', { href: `#/cases/${enc(caseId)}/evidence` }, '← All evidence')),
      h('h2', { id: 'item-title' }, item.filename),
      h('p', { class: 'evidence-meta' },
        badge(item.data_type?.replaceAll('_', ' ') || 'unknown'),
        badge(item.processing_status, STATUS_KINDS[item.processing_status]),
        h('span', {}, formatBytes(item.file_size)),
        item.line_count ? h('span', {}, `${item.line_count.toLocaleString()} lines`) : null,
        h('span', {}, `added ${absoluteTime(item.uploaded_at)}`)),
      item.summary ? h('p', {}, item.summary) : null,
      item.error ? errorNotice({ message: item.error }, 'Processing failed') : null),
    item.digest ? digestSection(caseId, dataId, item.digest) : h('section', { class: 'card' },
      h('h2', {}, 'Digest'), h('p', { class: 'muted' }, item.processing_status === 'completed'
        ? 'This evidence is not a log, so it has no digest.' : 'The digest appears when processing completes.')),
    linesBrowser(caseId, dataId, item.line_count, citedStart, citedEnd, signal));
}

function digestSection(caseId, dataId, digest) {
  const totals = digest.totals || {};
  const levels = Object.entries(totals.level_counts || {}).map(([level, count]) => `${level} ${count.toLocaleString()}`);
  const lineButton = (first, last, label) => h('button', {
    type: 'button', class: 'link-button', onclick: () => openLines(caseId, dataId, first, last || first),
  }, label || (last && last !== first ? `lines ${first}–${last}` : `line ${first}`));
  return h('section', { class: 'card digest', 'aria-labelledby': 'digest-title' },
    h('h2', { id: 'digest-title' }, 'Log digest'),
    h('dl', { class: 'totals' },
      term('Lines', (totals.lines ?? 0).toLocaleString()),
      term('Events', (totals.events ?? 0).toLocaleString()),
      term('Templates', (totals.templates ?? digest.templates?.length ?? 0).toLocaleString()),
      totals.first_timestamp ? term('From', absoluteTime(totals.first_timestamp)) : null,
      totals.last_timestamp ? term('To', absoluteTime(totals.last_timestamp)) : null,
      levels.length ? term('Levels', levels.join(', ')) : null),
    digest.errors?.length ? [h('h3', {}, 'Errors'), table(['Signature', 'Count', 'Severity', 'Where'],
      digest.errors.map((error) => [h('code', {}, error.signature), error.count.toLocaleString(), error.severity,
        lineButton(error.first_line, error.first_line + Math.max((error.sample?.length || 1) - 1, 0))]))] : null,
    digest.bursts?.length ? [h('h3', {}, 'Error bursts'), table(['From', 'To', 'Errors', 'Peak / baseline'],
      digest.bursts.map((burst) => [absoluteTime(burst.start), absoluteTime(burst.end), burst.error_count.toLocaleString(),
        `${burst.peak_per_window} / ${burst.baseline_per_window.toFixed(1)} per ${burst.window_seconds}s`]))] : null,
    digest.first_errors?.length ? [h('h3', {}, 'Time line'), h('ol', { class: 'timeline' },
      digest.first_errors.map((entry) => h('li', {},
        h('span', { class: 'timeline-when' }, entry.timestamp ? absoluteTime(entry.timestamp) : `line ${entry.line_number}`),
        ' ', lineButton(entry.line_number), ' ', h('code', {}, entry.signature))))] : null,
    digest.templates?.length ? [h('h3', {}, 'Event templates'), table(['Template', 'Count', 'Severity', 'Lines'],
      digest.templates.slice(0, TEMPLATE_ROWS).map((template) => [h('code', {}, template.template),
        template.count.toLocaleString(), template.severity || '—', lineButton(template.first_line, template.first_line,
          template.first_line === template.last_line ? `line ${template.first_line}` : `first ${template.first_line}, last ${template.last_line}`)]))]
      : null);
}

function term(name, value) {
  return h('div', {}, h('dt', {}, name), h('dd', {}, value));
}

function table(headings, rows) {
  return h('div', { class: 'table-scroll' }, h('table', { class: 'data-table' },
    h('thead', {}, h('tr', {}, headings.map((heading) => h('th', { scope: 'col' }, heading)))),
    h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((cell) => h('td', {}, cell)))))));
}

function linesBrowser(caseId, dataId, lineCount, citedStart, citedEnd, signal) {
  const initialStart = citedStart ? Math.max(1, citedStart - CONTEXT_LINES) : 1;
  const startInput = h('input', { type: 'number', name: 'start', min: 1, value: String(initialStart), class: 'compact' });
  const endInput = h('input', {
    type: 'number', name: 'end', min: 1, class: 'compact',
    value: String(citedStart ? citedEnd + CONTEXT_LINES : PAGE_LINES),
  });
  const output = h('div', { class: 'lines-output' });
  const form = h('form', { class: 'filters range-form' }, field('From line', startInput), field('To line', endInput),
    h('button', { type: 'submit', class: 'button' }, 'Show lines'));
  const previous = h('button', { type: 'button', class: 'button' }, '← Previous');
  const next = h('button', { type: 'button', class: 'button' }, 'Next →');

  async function show(start, end) {
    startInput.value = String(start);
    endInput.value = String(end);
    try {
      const result = await fetchLines(caseId, dataId, start, end, signal);
      output.replaceChildren(result.lines.length ? linesTable(result.lines, citedStart || 0, citedEnd || -1)
        : h('p', { class: 'muted' }, 'No lines in this range.'));
      output.querySelector('tr.cited')?.scrollIntoView({ block: 'center' });
    } catch (error) {
      if (error.name !== 'AbortError') output.replaceChildren(errorNotice(error, 'Could not read the lines'));
    }
  }

  function range() {
    const start = Math.max(1, Number(startInput.value) || 1);
    return [start, Math.max(start, Number(endInput.value) || start)];
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    show(...range());
  });
  previous.addEventListener('click', () => {
    const [start, end] = range();
    const size = end - start + 1;
    const from = Math.max(1, start - size);
    show(from, from + size - 1);
  });
  next.addEventListener('click', () => {
    const [start, end] = range();
    const size = end - start + 1;
    if (lineCount && end >= lineCount) return;
    show(end + 1, end + size);
  });
  show(...range());
  return h('section', { class: 'card', 'aria-labelledby': 'lines-title' },
    h('h2', { id: 'lines-title' }, citedStart ? `Raw lines around ${lineRange(citedStart, citedEnd)}` : 'Raw lines'),
    form, output, h('div', { class: 'pager' }, previous, next));
}
