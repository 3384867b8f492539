import { h } from './dom.js';
import { AuthError, getJson, session } from './api.js';

// The sign-in screen: an admin API token (admin or reporter), checked against the API before it
// is kept for this tab.

export function signInView(message, onSignedIn) {
  const input = h('input', { id: 'token', type: 'password', name: 'token', autocomplete: 'off', spellcheck: 'false', required: true, placeholder: 'wsus_…' });
  const error = h('p', { class: 'error-text', role: 'alert', id: 'signin-error' }, message ?? '');
  const button = h('button', { type: 'submit', class: 'button primary' }, 'Sign in');
  const form = h('form', {
    class: 'signin-form',
    onsubmit: async (e) => {
      e.preventDefault();
      const token = input.value.trim();
      if (!token) return;
      button.disabled = true;
      error.textContent = '';
      try {
        const who = await getJson('/api/tokens/current', {}, token);
        session.save(token, { name: who.name, role: who.role });
        onSignedIn();
      } catch (err) {
        error.textContent = err instanceof AuthError ? `That token was refused: ${err.message}` : `Could not sign in: ${err.message}`;
        input.select();
      } finally {
        button.disabled = false;
      }
    },
  },
  h('label', { for: 'token' }, 'API token'),
  input,
  error,
  button);
  const view = h('main', { class: 'signin', 'data-page': 'signin', 'data-state': 'ready' },
    h('div', { class: 'signin-card' },
      h('div', { class: 'brand big' }, h('img', { src: 'favicon.svg', alt: '', width: 32, height: 32 }), 'WSUS dashboard'),
      h('p', {}, 'Sign in with an admin API token. A read-only reporter token is enough.'),
      form,
      h('p', { class: 'hint' }, 'No token? Create one on the server:'),
      h('pre', { class: 'hint-command' }, 'wsus tokens create --name NAME --role reporter'),
      h('p', { class: 'hint' }, 'The token stays in this browser tab only and is sent only in the Authorization header.')));
  queueMicrotask(() => input.focus());
  return view;
}
