// Sign-in for token mode. The server says which methods it offers (GET /auth/methods) and only those are
// shown: username and password, an API token (from `faultmaven users create NAME` or the token settings),
// and dev login where the server enables it. A token is checked with GET /auth/me before anything else.

import { api, credentials } from '../api.js';
import { field, h } from '../dom.js';
import { errorNotice, notice } from '../ui.js';

const ALL_METHODS = { password: true, api_token: true, dev_login: false };

async function signInMethods() {
  try {
    return await api('/auth/methods');
  } catch (error) {
    // An older server without the route: offer what every token-mode server has.
    if (error.featureMissing) return ALL_METHODS;
    throw error;
  }
}

// What to tell a person whose password sign-in failed, with what they can do about it.
function passwordProblem(error) {
  if (error.status === 401) {
    return new Error('Wrong user name or password. Check both (passwords are case-sensitive); an '
      + 'administrator can set a new one with: faultmaven users reset-password NAME');
  }
  if (error.status === 429) {
    const minutes = Math.max(1, Math.ceil(Number(error.body?.retry_after || 60) / 60));
    return new Error(`Too many failed attempts: sign-in for this user is locked for about ${minutes} `
      + `minute${minutes === 1 ? '' : 's'}. Wait, or ask an administrator to run: faultmaven users enable NAME`);
  }
  if (error.status === 403) {
    return new Error('This account is disabled. Ask an administrator to enable it.');
  }
  return error;
}

function passwordForm(submit) {
  const username = h('input', { type: 'text', name: 'username', required: true, maxlength: 64, autocomplete: 'username', spellcheck: 'false' });
  const password = h('input', { type: 'password', name: 'password', required: true, autocomplete: 'current-password' });
  const form = h('form', { class: 'stack', 'aria-labelledby': 'password-login-title' },
    h('h2', { id: 'password-login-title' }, 'User name and password'),
    field('User name', username),
    field('Password', password, 'No account yet? An administrator creates one with: faultmaven users create NAME --password'),
    h('button', { type: 'submit', class: 'button primary' }, 'Sign in'));
  form.addEventListener('submit', (event) => submit(event, async () => {
    try {
      return await api('/auth/login', { method: 'POST', body: { username: username.value.trim(), password: password.value } });
    } catch (error) {
      password.value = '';
      throw passwordProblem(error);
    }
  }));
  return { form, focus: username };
}

function tokenForm(submit, open) {
  const token = h('input', { type: 'password', name: 'token', required: true, autocomplete: 'off', spellcheck: 'false' });
  const form = h('form', { class: 'stack' },
    field('API token', token, 'A personal access token, e.g. from: faultmaven users token NAME'),
    h('button', { type: 'submit', class: 'button' }, 'Sign in with token'));
  form.addEventListener('submit', (event) => submit(event, async () => ({ access_token: token.value.trim() })));
  const details = h('details', { class: 'card login-token', open },
    h('summary', {}, 'Use an API token instead'), form);
  return { form: details, focus: token };
}

function devForm(submit) {
  const username = h('input', { type: 'text', name: 'dev-username', required: true, minlength: 3, maxlength: 50, autocomplete: 'username' });
  const form = h('form', { class: 'stack', 'aria-labelledby': 'dev-login-title' },
    h('h2', { id: 'dev-login-title' }, 'Developer login'),
    field('Developer user name', username, 'No password: this server was started with FAULTMAVEN_DEV_LOGIN=true.'),
    h('button', { type: 'submit', class: 'button' }, 'Sign in as this user'));
  const section = h('section', { class: 'card' }, form);
  form.addEventListener('submit', (event) => submit(event, async () => {
    try {
      return await api('/auth/dev-login', { method: 'POST', body: { username: username.value.trim() } });
    } catch (error) {
      if (error.status !== 404) throw error;
      section.hidden = true;
      throw new Error('Developer login is disabled on this server: sign in with a password or an API token.');
    }
  }));
  return { form: section, focus: username };
}

export async function renderLogin(main, { message, onSignedIn }) {
  const status = h('div', { class: 'login-status' }, message ? notice('info', message) : null);
  const heading = h('h1', {}, 'Sign in to FaultMaven');
  main.replaceChildren(h('div', { class: 'login' },
    h('img', { src: 'static/favicon.svg', alt: '', width: 40, height: 40, class: 'login-logo' }), heading, status));

  let methods;
  try {
    methods = await signInMethods();
  } catch (error) {
    status.replaceChildren(errorNotice(error, 'The server did not answer'));
    return;
  }

  async function submit(event, obtain) {
    event.preventDefault();
    const button = event.target.querySelector('button[type=submit]');
    button.disabled = true;
    status.replaceChildren();
    try {
      const body = await obtain();
      credentials.save(body.access_token, body.session_id);
      try {
        onSignedIn(await api('/auth/me'));
      } catch (error) {
        credentials.clear();
        throw error.status === 401 ? new Error('This token is invalid, expired or revoked.') : error;
      }
    } catch (error) {
      status.replaceChildren(errorNotice(error, 'Sign-in failed'));
    } finally {
      button.disabled = false;
    }
  }

  const parts = [];
  if (methods.password) parts.push(passwordForm(submit));
  if (methods.api_token) parts.push(tokenForm(submit, !methods.password));
  if (methods.dev_login) parts.push(devForm(submit));
  const login = main.querySelector('.login');
  login.append(
    h('p', { class: 'muted' }, 'This server requires you to sign in.'),
    ...parts.map(({ form }) => (form.tagName === 'FORM' ? h('section', { class: 'card' }, form) : form)),
  );
  parts[0]?.focus.focus();
}
