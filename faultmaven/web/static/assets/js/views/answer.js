// One message of the conversation. An agent answer shows its Markdown, the marker of a response type
// that asks the user to act, the degraded-answer notice, the quality notice (an answer cut off at the model's
// output limit, or one that mostly repeats its prompt, instructions or tool descriptions), evidence
// requests, plan and numbered citations.

import { enc } from '../api.js';
import { appendChildren, h, timeElement } from '../dom.js';
import { renderMarkdown } from '../markdown.js';
import { addCopyButtons, badge } from '../ui.js';
import { openSource, sourceLabel } from './citations.js';

const RESPONSE_MARKERS = {
  CLARIFICATION_REQUEST: ['Action required: please clarify', 'action'],
  CONFIRMATION_REQUEST: ['Action required: please confirm', 'action'],
  NEEDS_MORE_DATA: ['Action required: more evidence needed', 'action'],
  ESCALATION_REQUIRED: ['Escalation required', 'error'],
  SOLUTION_READY: ['Solution ready', 'ok'],
  PLAN_PROPOSAL: ['Plan proposed', 'info'],
};
const SNIPPET_CHARS = 140;
const QUALITY_FLAGS = {
  truncated: 'it was cut off at the model\'s output limit and may be incomplete',
  echoes_prompt: 'it mostly repeats the question and the conversation',
  echoes_instructions: 'it mostly repeats FaultMaven\'s instructions to the model',
  echoes_tool_descriptions: 'it mostly repeats the descriptions of FaultMaven\'s tools',
  repetitive: 'it keeps repeating itself',
};

export function messageArticle(role, createdAt) {
  const who = role === 'user' ? 'You' : role === 'agent' ? 'FaultMaven' : 'System';
  return h('article', { class: `message message-${role}`, dataset: { role } },
    h('header', { class: 'message-head' }, h('span', { class: 'message-author' }, who), ' ',
      createdAt ? timeElement(createdAt) : null),
    h('div', { class: 'message-body' }));
}

export function renderUserMessage(message) {
  const article = messageArticle(message.role, message.created_at);
  article.querySelector('.message-body').append(h('p', { class: 'plain' }, message.content));
  return article;
}

// `response` is an AgentResponse, or what a stored message knows of one (content + metadata).
export function renderAgentAnswer(article, response, caseId) {
  const metadata = response.metadata || {};
  const responseType = response.response_type || metadata.response_type || 'ANSWER';
  article.dataset.responseType = responseType;
  article.dataset.degraded = String(Boolean(metadata.degraded));
  article.removeAttribute('aria-busy');
  const head = article.querySelector('.message-head');
  head.querySelectorAll('.badge').forEach((node) => node.remove());
  const marker = RESPONSE_MARKERS[responseType];
  if (marker) head.append(badge(marker[0], marker[1]));
  if (metadata.degraded) head.append(badge('Degraded answer', 'warn'));
  const flags = qualityFlags(metadata);
  if (flags.length) head.append(badge(flags.includes('truncated') && flags.length === 1 ? 'Cut off' : 'Unreliable answer', 'warn'));
  article.dataset.qualityFlags = flags.join(' ');

  const body = article.querySelector('.message-body');
  body.replaceChildren();
  appendChildren(body, [
    metadata.degraded ? degradedNotice(metadata) : null,
    flags.length ? qualityNotice(flags) : null,
    h('div', { class: 'markdown' }, renderMarkdown(response.content)),
    planList(response.plan),
    evidenceRequests(response.evidence_requests, caseId),
    suggestedActions(response.suggested_actions, response.next_action_hint),
    sourceList(response.sources, response.content, caseId),
    answerFooter(response, metadata)]);
  addCopyButtons(body);
}

function qualityFlags(metadata) {
  return (Array.isArray(metadata.quality_flags) ? metadata.quality_flags : [])
    .concat(metadata.truncated && !(metadata.quality_flags || []).includes('truncated') ? ['truncated'] : []);
}

function qualityNotice(flags) {
  const reasons = flags.map((flag) => QUALITY_FLAGS[flag] || flag.replaceAll('_', ' '));
  return h('div', { class: 'notice notice-warn quality', role: 'note' },
    h('strong', {}, 'Check this answer: '), `${reasons.join('; ')}. `,
    'A larger model, or the compact profile for a small one, usually does better. See ',
    h('a', { href: '#/settings' }, 'Settings'), '.');
}

function degradedNotice(metadata) {
  if (metadata.degraded_reason === 'invalid_model_output') {
    return h('div', { class: 'notice notice-warn degraded', role: 'note' },
      h('strong', {}, 'The AI model\'s output could not be used: '),
      'the model answered, but not in a form FaultMaven could use, so this answer was built without an LLM. ',
      'Asking again may help; a small model may need the compact profile. See ', h('a', { href: '#/settings' }, 'Settings'), '.');
  }
  const noProvider = metadata.degraded_reason === 'no_llm_configured';
  return h('div', { class: 'notice notice-warn degraded', role: 'note' },
    h('strong', {}, noProvider ? 'No AI model is configured: ' : 'No AI model answered: '),
    noProvider
      ? 'this answer was built from what the server knows, without an LLM. To get AI answers, set '
      : 'every configured provider failed, so this answer was built without an LLM. Check the providers in ',
    noProvider ? [h('code', {}, 'FAULTMAVEN_LLM_PROVIDERS'), ' (for example ', h('code', {}, 'ollama:llama3.1'),
      ', or ', h('code', {}, 'openai:gpt-4.1-mini'), ' with ', h('code', {}, 'FAULTMAVEN_LLM_OPENAI_API_KEY'),
      ') and restart the server. See '] : null,
    h('a', { href: '#/settings' }, 'Settings'), '.');
}

function planList(plan) {
  if (!plan?.length) return null;
  return h('section', { class: 'answer-section' }, h('h3', {}, 'Proposed plan'),
    h('ol', {}, plan.map((step) => h('li', {}, step.description || String(step)))));
}

function evidenceRequests(requests, caseId) {
  if (!requests?.length) return null;
  return h('section', { class: 'answer-section evidence-requests' },
    h('h3', {}, 'Evidence requested'),
    h('ul', { class: 'request-list' }, requests.map((request) => {
      const commands = request.guidance?.commands || [];
      return h('li', { class: 'request' },
        h('strong', {}, request.label || 'Evidence'),
        request.category ? [' ', badge(request.category.replaceAll('_', ' '))] : null,
        request.description ? h('p', {}, request.description) : null,
        commands.length ? h('pre', { class: 'commands' }, h('code', {}, commands.join('\n'))) : null);
    })),
    h('a', { class: 'button', href: `#/cases/${enc(caseId)}/evidence` }, 'Upload evidence'));
}

function suggestedActions(actions, hint) {
  const items = (actions || []).map((action) => (typeof action === 'string' ? action : action.label || action.description))
    .filter(Boolean);
  if (!items.length && !hint) return null;
  return h('section', { class: 'answer-section' },
    items.length ? [h('h3', {}, 'Suggested next steps'), h('ul', {}, items.map((item) => h('li', {}, item)))] : null,
    hint ? h('p', { class: 'muted' }, hint) : null);
}

// Whether the answer's text cites a source: it quotes the source's first line, or names the document or
// file (for a log, with a line in the cited range, when it names lines; with one log file among the
// sources, "line 4" alone is enough). The server sends everything the tools retrieved; only what the
// answer relies on is listed as its sources.
export function citedBy(content, source, onlyLogFile = false) {
  const text = (content || '').toLowerCase();
  const meta = source.metadata || {};
  const quoted = (source.content || '').split('\n')[0].trim().toLowerCase();
  if (quoted.length >= 20 && text.includes(quoted)) return true;
  const names = [meta.title, meta.document_id, meta.evidence_id].filter(Boolean).map((name) => String(name).toLowerCase());
  const named = names.some((name) => text.includes(name));
  if (!meta.line_start) return named;
  const lines = [...text.matchAll(/\blines?\s+(\d+)(?:\s*(?:-|–|to)\s*(\d+))?/g)];
  if (!lines.length) return named;
  const end = meta.line_end || meta.line_start;
  const inRange = lines.some(([, from, to]) => Number(from) <= end && Number(to || from) >= meta.line_start);
  return inRange && (named || onlyLogFile);
}

function sourceItem(source, number, caseId) {
  const snippet = (source.content || '').split('\n')[0].slice(0, SNIPPET_CHARS);
  return h('li', { value: number },
    h('button', {
      type: 'button', class: 'citation', dataset: { sourceType: source.type },
      onclick: () => openSource(caseId, source),
    }, h('span', { class: 'citation-number' }, `[${number}]`), ' ', sourceLabel(source)),
    snippet ? h('span', { class: 'snippet-preview' }, snippet) : null);
}

function sourceList(sources, content, caseId) {
  if (!sources?.length) return null;
  const logFiles = new Set(sources.map((source) => source.metadata?.evidence_id).filter(Boolean));
  const cited = sources.filter((source) => citedBy(content, source, logFiles.size === 1));
  const others = sources.filter((source) => !cited.includes(source));
  const list = (items, offset) => h('ol', { class: 'source-list' },
    items.map((source, index) => sourceItem(source, offset + index + 1, caseId)));
  return h('section', { class: 'answer-section sources' },
    cited.length ? [h('h3', {}, 'Sources'), list(cited, 0)] : null,
    others.length ? h('details', { class: 'also-retrieved' },
      h('summary', {}, `${cited.length ? 'Also retrieved' : 'Retrieved, not cited'} (${others.length})`),
      list(others, cited.length)) : null);
}

function answerFooter(response, metadata) {
  const parts = [];
  if (metadata.provider) parts.push(`${metadata.provider}${metadata.model ? ` · ${metadata.model}` : ''}`);
  if (typeof response.confidence_score === 'number') parts.push(`confidence ${Math.round(response.confidence_score * 100)}%`);
  return parts.length ? h('p', { class: 'answer-footer muted' }, parts.join(' · ')) : null;
}
