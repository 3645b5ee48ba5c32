// Boot and routing. Nothing but the login view is shown until GET /auth/me succeeds.

import { api, credentials } from './api.js';
import { h } from './dom.js';
import { session } from './session.js';
import { errorNotice } from './ui.js';
import { renderCases } from './views/cases.js';
import { renderConversation } from './views/conversation.js';
import { renderEvidence } from './views/evidence.js';
import { renderEvidenceItem } from './views/evidence-item.js';
import { renderKnowledge } from './views/knowledge.js';
import { renderLogin } from './views/login.js';
import { renderSettings } from './views/settings.js';
import { renderTimeline } from './views/timeline.js';

const ROUTES = [
  { pattern: /^\/cases\/([^/]+)\/evidence\/([^/]+)$/, nav: 'cases', view: renderEvidenceItem, keys: ['caseId', 'dataId'] },
  { pattern: /^\/cases\/([^/]+)\/evidence$/, nav: 'cases', view: renderEvidence, keys: ['caseId'] },
  { pattern: /^\/cases\/([^/]+)\/timeline$/, nav: 'cases', view: renderTimeline, keys: ['caseId'] },
  { pattern: /^\/cases\/([^/]+)$/, nav: 'cases', view: renderConversation, keys: ['caseId'] },
  { pattern: /^\/(?:cases)?$/, nav: 'cases', view: renderCases, keys: [] },
  { pattern: /^\/knowledge$/, nav: 'knowledge', view: renderKnowledge, keys: [] },
  { pattern: /^\/settings$/, nav: 'settings', view: renderSettings, keys: [] },
];

const main = document.getElementById('main');
let navigation = null;

function parseHash() {
  const raw = decodeURI(location.hash.replace(/^#/, '')) || '/cases';
  const [path, search = ''] = raw.split('?');
  return { path: path.replace(/\/+$/, '') || '/', search: new URLSearchParams(search) };
}

async function route() {
  if (!session.user) return;
  navigation?.abort();
  navigation = new AbortController();
  const { signal } = navigation;
  const { path, search } = parseHash();
  const match = ROUTES.map((candidate) => ({ candidate, found: candidate.pattern.exec(path) }))
    .find(({ found }) => found);
  highlightNav(match?.candidate.nav);
  main.replaceChildren();
  if (!match) {
    main.append(h('h1', {}, 'Not found'), h('p', {}, 'This page does not exist. ', h('a', { href: '#/cases' }, 'Back to cases')));
    return;
  }
  const params = { search };
  match.candidate.keys.forEach((key, index) => { params[key] = decodeURIComponent(match.found[index + 1]); });
  try {
    await match.candidate.view(main, params, signal);
  } catch (error) {
    if (error.name !== 'AbortError' && !signal.aborted) main.append(errorNotice(error));
  }
  if (!signal.aborted) focusHeading();
}

function focusHeading() {
  // Moving focus to the new page's heading tells keyboard and screen-reader users the page changed.
  const heading = main.querySelector('h1');
  if (heading && !main.contains(document.activeElement)) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
}

function highlightNav(name) {
  for (const link of document.querySelectorAll('[data-nav]')) {
    if (link.dataset.nav === name) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

function showSignedIn(user) {
  session.user = user;
  document.getElementById('topbar').hidden = false;
  document.getElementById('whoami-name').textContent = user.display_name || user.username;
  document.getElementById('logout-button').hidden = user.auth_mode !== 'token';
  document.body.dataset.authMode = user.auth_mode || 'local';
  route();
}

function showLogin(message) {
  session.user = null;
  navigation?.abort();
  document.getElementById('topbar').hidden = true;
  document.body.dataset.authMode = 'token';
  renderLogin(main, { message, onSignedIn: showSignedIn });
}

async function signOut() {
  try {
    await api('/auth/logout', { method: 'POST' });
  } catch {
    // The token may already be invalid: signing out locally is what matters.
  }
  credentials.clear();
  showLogin('You are signed out.');
}

async function boot() {
  try {
    showSignedIn(await api('/auth/me'));
  } catch (error) {
    if (error.status === 401) {
      credentials.clear();
      showLogin();
      return;
    }
    main.replaceChildren(h('h1', {}, 'FaultMaven'), errorNotice(error, 'The server did not answer'));
  }
}

window.addEventListener('hashchange', route);
window.addEventListener('faultmaven:unauthorized', () => {
  if (!session.user) return;
  credentials.clear();
  showLogin('Your session has ended. Sign in again.');
});
document.getElementById('logout-button').addEventListener('click', signOut);
document.getElementById('skip-link').addEventListener('click', (event) => {
  event.preventDefault();
  main.focus();
});
boot();
