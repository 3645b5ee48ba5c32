// What a citation opens: the cited evidence lines with context, a knowledge-base document, or the
// quoted snippet when the source points nowhere else.

import { api, enc, query } from '../api.js';
import { h } from '../dom.js';
import { renderMarkdown } from '../markdown.js';
import { errorNotice, openDialog, spinner, unavailable } from '../ui.js';

export const CONTEXT_LINES = 10;

export function lineRange(start, end) {
  return end && end !== start ? `lines ${start}–${end}` : `line ${start}`;
}

export function sourceLabel(source) {
  const meta = source.metadata || {};
  const title = meta.title || meta.document_id || meta.evidence_id || source.type.replaceAll('_', ' ');
  return meta.line_start ? `${title} · ${lineRange(meta.line_start, meta.line_end)}` : title;
}

export function openSource(caseId, source) {
  const meta = source.metadata || {};
  if (meta.evidence_id && meta.line_start) {
    return openLines(caseId, meta.evidence_id, meta.line_start, meta.line_end || meta.line_start, meta.title);
  }
  if (meta.document_id) return openDocument(meta.document_id);
  return openDialog(sourceLabel(source), h('pre', { class: 'snippet' }, source.content || ''));
}

// A table of numbered lines; the cited range is marked (and announced) and scrolled into view.
export function linesTable(lines, citedStart, citedEnd) {
  const body = h('tbody', {}, lines.map((line) => {
    const cited = line.line_number >= citedStart && line.line_number <= citedEnd;
    return h('tr', { class: cited ? 'cited' : null, dataset: { line: line.line_number } },
      h('th', { scope: 'row' }, String(line.line_number)),
      h('td', {}, cited ? h('mark', {}, line.text) : line.text));
  }));
  return h('div', { class: 'lines-scroll', tabindex: 0, 'aria-label': 'Log lines' },
    h('table', { class: 'lines' },
      h('thead', { class: 'sr-only' }, h('tr', {}, h('th', { scope: 'col' }, 'Line'), h('th', { scope: 'col' }, 'Text'))),
      body));
}

export async function fetchLines(caseId, dataId, start, end, signal) {
  return api(`/cases/${enc(caseId)}/data/${enc(dataId)}/lines${query({ start, end })}`, { signal });
}

export async function openLines(caseId, dataId, start, end, title) {
  const range = lineRange(start, end);
  const { content } = openDialog(title ? `${title} · ${range}` : range, spinner('Loading lines…'), { wide: true });
  content.classList.add('lines-dialog');
  try {
    const from = Math.max(1, start - CONTEXT_LINES);
    const result = await fetchLines(caseId, dataId, from, end + CONTEXT_LINES);
    const table = linesTable(result.lines, start, end);
    content.replaceChildren(
      h('p', { class: 'muted' }, `Highlighted: the cited ${range}, with up to ${CONTEXT_LINES} lines around it`
        + (result.line_count ? ` (the file has ${result.line_count.toLocaleString()} lines).` : '.')),
      table,
      h('p', {}, h('a', {
        href: `#/cases/${enc(caseId)}/evidence/${enc(dataId)}${query({ start, end })}`,
        onclick: () => content.closest('dialog').close(),
      }, 'Open in the evidence viewer')));
    table.querySelector('tr.cited')?.scrollIntoView({ block: 'center' });
  } catch (error) {
    content.replaceChildren(error.featureMissing ? unavailable('Evidence') : errorNotice(error, 'Could not read the lines'));
  }
}

export async function openDocument(documentId) {
  const { content } = openDialog('Knowledge base document', spinner('Loading document…'), { wide: true });
  try {
    const document_ = await api(`/knowledge/documents/${enc(documentId)}`);
    content.closest('dialog').querySelector('h2').textContent = document_.title;
    content.replaceChildren(
      h('p', { class: 'muted' }, [document_.document_type?.replaceAll('_', ' '), document_.category, document_.scope]
        .filter(Boolean).join(' · ')),
      h('div', { class: 'markdown' }, renderMarkdown(document_.content)));
  } catch (error) {
    content.replaceChildren(error.featureMissing ? unavailable('The knowledge base') : errorNotice(error, 'Could not open the document'));
  }
}
