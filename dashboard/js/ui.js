// Page-wide UI: confirmation and token dialogs, toasts, the settings
// popover, and `act()`, which every control goes through.

import { api, ApiError, getToken, setToken, onUnauthorized } from './api.js';
import { h } from './dom.js';

const $ = (id) => document.getElementById(id);

/** Shows the confirm dialog; resolves true when confirmed. */
export function confirmAction(title, body, okLabel = 'Confirm', danger = true) {
  const dialog = $('confirm-dialog');
  $('confirm-title').textContent = title;
  $('confirm-body').textContent = body;
  const ok = $('confirm-ok');
  ok.textContent = okLabel;
  ok.classList.toggle('danger', danger);
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
    ok.focus();
  });
}

let tokenPrompt = null;
let declinedAt = 0;

// Called by api.js on a 401: ask once at a time; a background read that the
// user already declined does not nag again for a minute.
function askForToken(message, { hadToken, interactive }) {
  if (tokenPrompt) return tokenPrompt;
  if (!interactive && Date.now() - declinedAt < 60000) return Promise.resolve(null);
  const dialog = $('token-dialog');
  const input = $('token-dialog-input');
  $('token-body').textContent = hadToken
    ? `meshd refused the saved token (${message}). Enter the current one.`
    : 'This meshd has mesh.api_token set, so this action needs the token. It is kept in this browser (Settings).';
  input.value = '';
  dialog.returnValue = '';
  tokenPrompt = new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => {
        tokenPrompt = null;
        const token = input.value.trim();
        if (dialog.returnValue === 'ok' && token) {
          setToken(token);
          resolve(token);
        } else {
          declinedAt = Date.now();
          resolve(null);
        }
      },
      { once: true },
    );
    dialog.showModal();
    input.focus();
  });
  return tokenPrompt;
}

/** A short message in the corner; errors stay longer. */
export function toast(message, tone = 'info') {
  const el = h('div', { class: `toast ${tone}` }, message);
  $('toasts').append(el);
  setTimeout(() => el.classList.add('leaving'), tone === 'bad' ? 7000 : 3500);
  setTimeout(() => el.remove(), tone === 'bad' ? 7500 : 4000);
}

/**
 * Runs a mutating call for a control: optional confirmation, the button
 * busy meanwhile, a toast with the outcome. Returns the response or null.
 */
export async function act({ button, confirm, run, done, what }) {
  if (confirm && !(await confirmAction(confirm.title, confirm.body, confirm.ok, confirm.danger ?? true))) return null;
  if (button) {
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
  }
  try {
    const res = await run();
    toast(done || `${what}: done`, 'ok');
    return res;
  } catch (err) {
    const msg = err instanceof ApiError ? err.message : String(err);
    if (err instanceof ApiError && err.status === 404 && err.code === 'not_found' && /no route/.test(msg)) {
      toast(`${what}: this meshd does not support it yet (${msg})`, 'warn');
    } else toast(`${what} failed: ${msg}`, 'bad');
    return null;
  } finally {
    if (button) {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  }
}

const THEME_KEY = 'meshd.theme';

function applyTheme(theme) {
  if (theme === 'light' || theme === 'dark') document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}

export function setupChrome() {
  onUnauthorized(askForToken);
  let theme = 'system';
  try {
    theme = localStorage.getItem(THEME_KEY) || 'system';
  } catch {
    /* ignore */
  }
  applyTheme(theme);

  const button = $('settings-button');
  const pop = $('settings');
  const input = $('token-input');
  const show = $('token-show');
  const themeSelect = $('theme-select');
  const open = (yes) => {
    pop.hidden = !yes;
    button.setAttribute('aria-expanded', String(yes));
    if (yes) {
      input.value = getToken();
      themeSelect.value = document.documentElement.dataset.theme || 'system';
      input.focus();
    }
  };
  button.addEventListener('click', () => open(pop.hidden));
  show.addEventListener('click', () => {
    const visible = input.type === 'text';
    input.type = visible ? 'password' : 'text';
    show.textContent = visible ? 'Show' : 'Hide';
    show.setAttribute('aria-pressed', String(!visible));
  });
  themeSelect.addEventListener('change', () => {
    applyTheme(themeSelect.value);
    try {
      localStorage.setItem(THEME_KEY, themeSelect.value);
    } catch {
      /* ignore */
    }
  });
  $('settings-form').addEventListener('submit', (e) => {
    e.preventDefault();
    setToken(input.value.trim());
    toast(input.value.trim() ? 'API token saved' : 'API token cleared', 'ok');
    open(false);
    button.focus();
  });
  $('token-clear').addEventListener('click', () => {
    setToken('');
    input.value = '';
    toast('API token forgotten', 'ok');
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !pop.hidden) {
      open(false);
      button.focus();
    }
  });
  document.addEventListener('click', (e) => {
    if (!pop.hidden && !pop.contains(e.target) && !button.contains(e.target)) open(false);
  });
}

export { api };
