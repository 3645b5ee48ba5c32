// A case's timeline, oldest first: questions, answers, evidence uploads and status changes, from the
// case's messages and (for its owners, who may read it) its audit trail.

import { api, enc, query } from '../api.js';
import { absoluteTime, h, timeElement } from '../dom.js';
import { badge, errorNotice } from '../ui.js';
import { renderCaseHeader } from './case-header.js';

const PAGE = 100;
const MAX_PAGES = 10;
const SUMMARY_CHARS = 160;
const AUDIT_LABELS = {
  status_change: (details) => `Status changed to ${details.status}`,
  share: (details) => `Shared with ${details.name || details.principal_id || 'someone'}${details.role ? ` (${details.role})` : ''}`,
  unshare: () => 'Access removed',
  transfer: () => 'Ownership transferred',
  export: (details) => `Report exported (${details.format || 'json'})`,
};

function summary(text) {
  const line = (text || '').replace(/\s+/g, ' ').trim();
  return line.length > SUMMARY_CHARS ? `${line.slice(0, SUMMARY_CHARS - 1)}…` : line;
}

async function allMessages(caseId, signal) {
  const messages = [];
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const body = await api(`/cases/${enc(caseId)}/messages${query({ limit: PAGE, offset: page * PAGE })}`, { signal });
    messages.push(...body.messages);
    if (!body.has_more) break;
  }
  return messages;
}

async function auditEvents(caseId, signal) {
  try {
    return await api(`/cases/${enc(caseId)}/audit${query({ limit: PAGE })}`, { signal });
  } catch (error) {
    if (error.status === 403 || error.featureMissing) return [];
    throw error;
  }
}

function messageEntry(message) {
  const kinds = {
    user_query: ['Question', 'info'],
    agent_response: [message.metadata?.degraded ? 'Answer (without AI)' : 'Answer', 'ok'],
    data_upload: ['Evidence', 'neutral'],
    case_note: ['Note', 'neutral'],
    system: ['System', 'neutral'],
  };
  const [label, kind] = kinds[message.message_type] || ['Message', 'neutral'];
  return { at: message.created_at, label, kind, text: summary(message.content) };
}

function auditEntry(event) {
  const describe = AUDIT_LABELS[event.action];
  return describe ? { at: event.created_at, label: 'Case', kind: 'warn', text: describe(event.details || {}) } : null;
}

export async function renderTimeline(main, { caseId }, signal) {
  await renderCaseHeader(main, caseId, 'timeline', signal);
  const section = h('section', { class: 'card', 'aria-labelledby': 'timeline-title' },
    h('h2', { id: 'timeline-title' }, 'Timeline'));
  main.append(section);
  try {
    const [messages, events] = await Promise.all([allMessages(caseId, signal), auditEvents(caseId, signal)]);
    const entries = [...messages.map(messageEntry), ...events.map(auditEntry).filter(Boolean)]
      .sort((a, b) => new Date(a.at) - new Date(b.at));
    if (!entries.length) {
      section.append(h('p', { class: 'muted' }, 'Nothing has happened in this case yet.'));
      return;
    }
    section.append(h('ol', { class: 'timeline' }, entries.map((entry) => h('li', { class: 'timeline-entry' },
      h('span', { class: 'timeline-when', title: absoluteTime(entry.at) }, timeElement(entry.at)),
      badge(entry.label, entry.kind),
      h('span', { class: 'timeline-text' }, entry.text)))));
  } catch (error) {
    if (error.name !== 'AbortError') section.append(errorNotice(error, 'Could not load the timeline'));
  }
}
