// A case's conversation: its stored messages, a composer, and answers streamed as they are generated.
//
// A query is POSTed with `Accept: text/event-stream`. A streaming server answers with events
// (status, tool_call, tool_result, text_delta, reset, complete, error, cancelled) read from the fetch
// body; a server without streaming answers 201 JSON (rendered at once, after a "thinking" state) or
// 202 (polled until done). Both paths end in the same rendering of the final AgentResponse.

import { api, enc, query, request } from '../api.js';
import { announce, field, h } from '../dom.js';
import { renderMarkdown } from '../markdown.js';
import { readServerSentEvents } from '../sse.js';
import { errorNotice, notice, spinner } from '../ui.js';
import { messageArticle, renderAgentAnswer, renderUserMessage } from './answer.js';
import { renderCaseHeader } from './case-header.js';

const MESSAGE_PAGE = 100;
const MAX_MESSAGES = 2000;
const DETAIL_FETCHES = 6;
const POLL_INTERVAL_MS = 1000;
const POLL_LIMIT_MS = 10 * 60 * 1000;
const STATUS_LABELS = { pending: 'Queued…', processing: 'Thinking…' };
const TOOL_LABELS = {
  search_case_evidence: 'Searching the case’s evidence',
  get_evidence_digest: 'Reading the log digest',
  search_knowledge_base: 'Searching the knowledge base',
};

export async function renderConversation(main, { caseId }, signal) {
  const header = await renderCaseHeader(main, caseId, 'conversation', signal);
  const list = h('div', { class: 'messages', role: 'log', 'aria-label': 'Conversation', 'aria-live': 'off' });
  const composer = createComposer((text) => ask(text));
  main.append(h('section', { class: 'conversation' }, list), composer.element);
  await loadMessages(caseId, list, signal);

  async function ask(text) {
    list.querySelector('.empty-conversation')?.remove();
    list.append(renderUserMessage({ role: 'user', content: text, created_at: new Date().toISOString() }));
    const pending = new PendingAnswer(caseId);
    list.append(pending.article);
    pending.article.scrollIntoView({ block: 'nearest' });
    const controller = new AbortController();
    signal.addEventListener('abort', () => controller.abort());
    composer.busy(() => pending.stop(controller));
    try {
      await submitQuery(caseId, text, pending, controller.signal);
      header.refresh().catch(() => {});
    } finally {
      composer.idle();
    }
  }
}

async function loadMessages(caseId, list, signal) {
  const messages = [];
  let offset = 0;
  while (offset < MAX_MESSAGES) {
    const page = await api(`/cases/${enc(caseId)}/messages${query({ limit: MESSAGE_PAGE, offset })}`, { signal });
    messages.push(...page.messages);
    if (!page.has_more || page.next_offset == null) break;
    offset = page.next_offset;
  }
  if (!messages.length) {
    list.append(h('p', { class: 'empty-conversation muted' },
      'No messages yet. Describe the problem or ask a question below; attach logs under Evidence.'));
    return;
  }
  const details = [];
  for (const message of messages) {
    if (message.role !== 'agent') {
      list.append(renderUserMessage(message));
      continue;
    }
    const article = messageArticle('agent', message.created_at);
    renderAgentAnswer(article, { content: message.content, metadata: message.metadata || {} }, caseId);
    list.append(article);
    if (message.query_id) details.push({ article, queryId: message.query_id });
  }
  list.lastElementChild?.scrollIntoView({ block: 'nearest' });
  // A stored message has the answer's text; its query keeps the whole response (sources, requests).
  await fetchAnswerDetails(caseId, details, signal);
}

async function fetchAnswerDetails(caseId, details, signal) {
  const queue = [...details];
  async function worker() {
    while (queue.length && !signal.aborted) {
      const { article, queryId } = queue.pop();
      try {
        const result = await api(`/cases/${enc(caseId)}/queries/${enc(queryId)}`, { signal });
        if (result.status === 'completed' && result.response) renderAgentAnswer(article, result.response, caseId);
      } catch (error) {
        if (error.name === 'AbortError') return;
      }
    }
  }
  await Promise.all(Array.from({ length: DETAIL_FETCHES }, worker));
}

async function submitQuery(caseId, text, pending, signal) {
  try {
    const response = await request(`/cases/${enc(caseId)}/queries`, {
      method: 'POST', body: { query: text }, headers: { Accept: 'text/event-stream' }, signal,
    });
    const type = response.headers.get('content-type') || '';
    if (type.startsWith('text/event-stream')) {
      pending.article.dataset.delivery = 'stream';
      await pending.consume(readServerSentEvents(response.body));
    } else if (response.status === 202) {
      pending.article.dataset.delivery = 'poll';
      const accepted = await response.json();
      pending.complete(await pollQuery(caseId, accepted.query_id, pending, signal));
    } else {
      pending.article.dataset.delivery = 'json';
      pending.complete(await response.json());
    }
  } catch (error) {
    if (error.name === 'AbortError') pending.cancelled('You stopped this answer. The server may still finish it: reload to see it.');
    else pending.fail(error.message);
  }
}

async function pollQuery(caseId, queryId, pending, signal) {
  const deadline = Date.now() + POLL_LIMIT_MS;
  pending.status('Working on it…');
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    const result = await api(`/cases/${enc(caseId)}/queries/${enc(queryId)}`, { signal });
    if (result.status === 'completed') return result.response;
    if (result.status === 'failed') throw new Error(result.error?.message || 'The query failed');
  }
  throw new Error('The answer is taking too long; reload the conversation later to see it.');
}

// The agent message while its answer is on its way: "thinking", tool activity, streamed text.
class PendingAnswer {
  constructor(caseId) {
    this.caseId = caseId;
    this.text = '';
    this.frame = 0;
    this.finished = false;
    this.queryId = null;
    this.article = messageArticle('agent', new Date().toISOString());
    this.article.setAttribute('aria-busy', 'true');
    this.article.dataset.state = 'pending';
    this.article.dataset.deltas = '0';
    this.progress = h('div', { class: 'answer-progress' }, spinner('Thinking…'));
    this.activity = h('ul', { class: 'tool-activity', 'aria-label': 'What FaultMaven is doing' });
    this.live = h('div', { class: 'markdown streaming' });
    this.article.querySelector('.message-body').append(this.progress, this.activity, this.live);
  }

  async consume(events) {
    for await (const { type, data } of events) {
      this.handle(type, data || {});
      if (this.finished) return;
    }
    if (!this.finished) this.fail('The answer stream ended before the answer was complete. Reload to see whether it was saved.');
  }

  handle(type, data) {
    switch (type) {
      case 'status':
        this.queryId ||= data.query_id;
        this.status(STATUS_LABELS[data.status] || data.message || 'Working…');
        break;
      case 'tool_call':
        this.activity.append(h('li', { dataset: { tool: data.name || '' } }, TOOL_LABELS[data.name] || `Using ${data.name || 'a tool'}`));
        break;
      case 'tool_result': {
        const running = [...this.activity.querySelectorAll('li:not(.done)')].find((item) => !data.name || item.dataset.tool === data.name);
        running?.classList.add('done');
        break;
      }
      case 'text_delta':
        this.text += data.text || '';
        this.article.dataset.deltas = String(Number(this.article.dataset.deltas) + 1);
        this.status('Writing…');
        this.paintSoon();
        break;
      case 'reset':
        // The text so far is void (e.g. the provider failed over): start the answer again.
        this.text = '';
        this.paint();
        this.status(data.reason ? `Restarting the answer (${data.reason})…` : 'Restarting the answer…');
        break;
      case 'complete':
        this.complete(data.response || data);
        break;
      case 'error':
        this.fail(data.detail || data.message || 'The server could not answer.');
        break;
      case 'cancelled':
        this.cancelled('This answer was stopped.');
        break;
      default:
        break;
    }
  }

  // Stopping a streamed query cancels it on the server (its `cancelled` event ends the stream);
  // before its id is known, or without streaming, only this request can be dropped.
  stop(controller) {
    if (!this.queryId) {
      controller.abort();
      return;
    }
    this.status('Stopping…');
    api(`/cases/${enc(this.caseId)}/queries/${enc(this.queryId)}`, { method: 'DELETE' })
      .catch(() => controller.abort());
  }

  status(label) {
    const current = this.progress.querySelector('.thinking-label');
    if (current) current.textContent = label;
  }

  paintSoon() {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.paint());
  }

  paint() {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.live.replaceChildren(renderMarkdown(this.text));
  }

  complete(response) {
    this.finish('complete');
    renderAgentAnswer(this.article, response, this.caseId);
    announce('FaultMaven answered.');
  }

  fail(message) {
    this.finish('error');
    this.progress.replaceChildren(errorNotice({ message }, 'No answer'));
  }

  cancelled(message) {
    this.finish('cancelled');
    this.progress.replaceChildren(notice('info', message));
  }

  finish(state) {
    cancelAnimationFrame(this.frame);
    this.finished = true;
    this.article.dataset.state = state;
    this.article.removeAttribute('aria-busy');
    this.activity.remove();
    if (state !== 'complete' && this.text) this.paint();
  }
}

function createComposer(onSubmit) {
  const input = h('textarea', { name: 'query', rows: 3, required: true, maxlength: 200000,
    placeholder: 'Ask about this incident, paste an error…' });
  const send = h('button', { type: 'submit', class: 'button primary' }, 'Send');
  const stop = h('button', { type: 'button', class: 'button', hidden: true }, 'Stop');
  const form = h('form', { class: 'composer', 'aria-label': 'Ask FaultMaven' },
    field('Your question', input, 'Ctrl+Enter sends.'),
    h('div', { class: 'composer-actions' }, stop, send));
  let stopHandler = null;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || send.disabled) return;
    input.value = '';
    onSubmit(text);
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) form.requestSubmit();
  });
  stop.addEventListener('click', () => stopHandler?.());
  return {
    element: form,
    busy(onStop) {
      stopHandler = onStop;
      send.disabled = true;
      stop.hidden = false;
    },
    idle() {
      stopHandler = null;
      send.disabled = false;
      stop.hidden = true;
      input.focus();
    },
  };
}
