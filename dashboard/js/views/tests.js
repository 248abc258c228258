// Declared tests (SPEC section 7): run them through the data path and see
// the last results, per service.

import { h, setText } from '../dom.js';
import * as fmt from '../format.js';
import { api, ApiError } from '../api.js';
import { act } from '../ui.js';

const LAST_KEY = 'meshd.tests.last';

/** Normalizes the run response into [{service, name, ok, status, latency_ms, message}]. */
export function normalizeResults(body) {
  if (!body) return [];
  let list = Array.isArray(body) ? body : body.results || body.tests || [];
  if (!Array.isArray(list) && typeof list === 'object') {
    // {service: [results]}
    list = Object.entries(list).flatMap(([service, rs]) => (rs || []).map((r) => ({ service, ...r })));
  }
  return list.map((r) => ({
    service: r.service ?? '',
    name: r.name ?? r.test ?? '',
    ok: r.ok ?? r.passed ?? r.pass ?? (r.result ? r.result === 'pass' || r.result === 'passed' : false),
    status: r.status ?? r.http_status ?? null,
    latency_ms: r.latency_ms ?? r.duration_ms ?? null,
    message: r.message ?? r.error ?? r.reason ?? (Array.isArray(r.failures) ? r.failures.join('; ') : ''),
    instance: r.instance ?? '',
  }));
}

export class TestsView {
  constructor(store) {
    this.store = store;
    this.runButton = h('button', { type: 'button', class: 'primary', id: 'run-tests', on: { click: () => this.run() } }, 'Run all tests');
    this.summary = h('p', { class: 'muted', 'aria-live': 'polite' });
    this.body = h('tbody');
    this.el = h('div', { class: 'view tests-view' },
      h('section', { class: 'panel', 'aria-labelledby': 'tests-heading' },
        h('div', { class: 'panel-head' }, h('h2', { id: 'tests-heading' }, 'Declared tests'), h('div', { class: 'toolbar' }, this.runButton)),
        h('p', { class: 'muted small' }, 'The tests each service declares under tests: in the config, sent through the gateway like real traffic (POST /api/v1/tests/run).'),
        this.summary,
        h('div', { class: 'table-wrap' },
          h('table', { class: 'grid tests', id: 'tests-table' },
            h('thead', null, h('tr', null, ['Service', 'Test', 'Result', 'Status', 'Latency', 'Instance', 'Detail'].map((t) => h('th', { scope: 'col' }, t)))),
            this.body))));
    this.load();
  }

  async load() {
    try {
      const body = await api.lastTests();
      // {ran, started_ms, passed, failed, results}; ran: false before any run.
      if (body && body.ran !== false) return this.showResults(normalizeResults(body), body.started_ms || body.time_ms || null);
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 404) console.warn(err);
    }
    try {
      const saved = JSON.parse(localStorage.getItem(LAST_KEY) || 'null');
      if (saved) return this.showResults(saved.results, saved.time_ms, true);
    } catch {
      /* ignore */
    }
    setText(this.summary, 'No run yet. Run the tests to see results here.');
  }

  async run() {
    const started = Date.now();
    setText(this.summary, 'Running…');
    const body = await act({ button: this.runButton, what: 'Run tests', done: 'Tests finished', run: () => api.runTests() });
    if (!body) {
      setText(this.summary, 'The run did not complete (see the message).');
      return;
    }
    const results = normalizeResults(body);
    try {
      localStorage.setItem(LAST_KEY, JSON.stringify({ results, time_ms: started }));
    } catch {
      /* ignore */
    }
    this.showResults(results, body.started_ms || started);
  }

  showResults(results, timeMs, fromBrowser = false) {
    const passed = results.filter((r) => r.ok).length;
    setText(this.summary, results.length
      ? `${passed} passed, ${results.length - passed} failed${timeMs ? ` · ${fmt.dateTime(timeMs)}` : ''}${fromBrowser ? ' (last run from this browser)' : ''}`
      : 'No service declares tests.');
    this.body.replaceChildren(...results.map((r) => h('tr', { dataset: { ok: String(r.ok) } },
      h('td', null, r.service ? h('a', { href: `#/services/${encodeURIComponent(r.service)}` }, r.service) : ''),
      h('td', null, r.name),
      h('td', null, h('span', { class: `pill ${r.ok ? 'ok' : 'bad'}` }, r.ok ? 'pass' : 'fail')),
      h('td', { class: 'num' }, r.status ?? '—'),
      h('td', { class: 'num' }, fmt.millis(r.latency_ms)),
      h('td', { class: 'mono' }, r.instance),
      h('td', { class: 'message' }, r.message || ''))));
  }
}
