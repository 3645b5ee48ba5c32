// Sign-in for token mode: paste an API token (from `faultmaven users create NAME`), or use dev login
// where the server enables it. The token is checked with GET /auth/me before anything else is shown.

import { api, credentials } from '../api.js';
import { field, h } from '../dom.js';
import { errorNotice, notice } from '../ui.js';

const DEV_LOGIN_DISABLED_KEY = 'faultmaven.devLoginDisabled';

export function renderLogin(main, { message, onSignedIn }) {
  const status = h('div', { class: 'login-status' }, message ? notice('info', message) : null);
  const tokenInput = h('input', {
    type: 'password', name: 'token', required: true, autocomplete: 'off', spellcheck: 'false',
  });
  const tokenForm = h('form', { class: 'stack', 'aria-labelledby': 'token-login-title' },
    h('h2', { id: 'token-login-title' }, 'Access token'),
    field('API token', tokenInput, 'An administrator creates one with: faultmaven users create NAME'),
    h('button', { type: 'submit', class: 'button primary' }, 'Sign in'));

  const usernameInput = h('input', {
    type: 'text', name: 'username', required: true, minlength: 3, maxlength: 50, autocomplete: 'username',
  });
  const devForm = h('form', { class: 'stack', 'aria-labelledby': 'dev-login-title' },
    h('h2', { id: 'dev-login-title' }, 'Developer login'),
    field('User name', usernameInput, 'Only on servers started with FAULTMAVEN_DEV_LOGIN=true.'),
    h('button', { type: 'submit', class: 'button' }, 'Sign in as this user'));
  const devSection = h('section', { class: 'card' }, devForm);
  devSection.hidden = sessionStorage.getItem(DEV_LOGIN_DISABLED_KEY) === 'true';

  async function signInWith(token, sessionId) {
    credentials.save(token, sessionId);
    try {
      onSignedIn(await api('/auth/me'));
    } catch (error) {
      credentials.clear();
      throw error;
    }
  }

  async function submit(event, action) {
    event.preventDefault();
    const button = event.target.querySelector('button[type=submit]');
    button.disabled = true;
    status.replaceChildren();
    try {
      await action();
    } catch (error) {
      status.replaceChildren(errorNotice(error, 'Sign-in failed'));
    } finally {
      button.disabled = false;
    }
  }

  tokenForm.addEventListener('submit', (event) => submit(event, () => signInWith(tokenInput.value.trim())));
  devForm.addEventListener('submit', (event) => submit(event, async () => {
    try {
      const body = await api('/auth/dev-login', { method: 'POST', body: { username: usernameInput.value.trim() } });
      await signInWith(body.access_token, body.session_id);
    } catch (error) {
      if (error.status !== 404) throw error;
      sessionStorage.setItem(DEV_LOGIN_DISABLED_KEY, 'true');
      devSection.hidden = true;
      throw new Error('Developer login is disabled on this server: use an access token.');
    }
  }));

  main.replaceChildren(h('div', { class: 'login' },
    h('img', { src: 'static/favicon.svg', alt: '', width: 40, height: 40, class: 'login-logo' }),
    h('h1', {}, 'Sign in to FaultMaven'),
    h('p', { class: 'muted' }, 'This server requires an access token.'),
    status,
    h('section', { class: 'card' }, tokenForm),
    devSection));
  tokenInput.focus();
}
