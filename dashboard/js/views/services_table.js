// The services table: one row per service, kept in a map by name and
// patched cell by cell; sortable (keyboard too), filterable by name, tag
// and state; a row flashes when its state or health changes; a badge says
// when the service's rollout runs, waits for promote, failed or reverted.

import { h, setText, setAttr, setClass, flash, frameThrottle } from '../dom.js';
import * as fmt from '../format.js';
import { rolloutLabel, rolloutTone } from './rollout_panel.js';

const COLUMNS = [
  { key: 'name', label: 'Service' },
  { key: 'state', label: 'State' },
  { key: 'health', label: 'Health' },
  { key: 'instances', label: 'Instances' },
  { key: 'breaker', label: 'Breaker', cls: 'col-breaker' },
  { key: 'restarts', label: 'Restarts', cls: 'num' },
  { key: 'uptime', label: 'Uptime', cls: 'num col-uptime' },
  { key: 'port', label: 'Port', cls: 'num col-port' },
  { key: 'tags', label: 'Tags', cls: 'col-tags' },
  { key: 'why', label: 'Why', cls: 'col-why', sortable: false },
];

/** Uptime: since the oldest running instance started. */
export function serviceUptime(svc, now = Date.now()) {
  if (svc.state !== 'running') return null;
  let start = Infinity;
  for (const i of svc.instances || []) if (i.started_at_ms && i.state === 'running') start = Math.min(start, i.started_at_ms);
  return Number.isFinite(start) ? now - start : null;
}

/** One line on why a service is not fine, for the first screen. */
export function serviceReason(svc) {
  if (svc.degraded && svc.degraded_by) return `degraded: required dependency ${svc.degraded_by} is not healthy`;
  if (svc.rollout?.state === 'waiting_promote') return `canary running: waiting for promote or abort`;
  if (svc.rollout?.status === 'rolling') return `rolling out a new definition from ${svc.rollout.trigger === 'restart' ? 'a restart' : 'a config reload'}`;
  if (svc.rollout?.status === 'rolled_back') return `rolled back to its previous definition: ${svc.rollout.reason}`;
  const waiting = Array.isArray(svc.waiting_on) ? svc.waiting_on : svc.waiting_on ? [svc.waiting_on] : [];
  if (svc.state === 'pending' && waiting.length) return `waiting on ${waiting.join(', ')}`;
  const instances = svc.instances || [];
  if (['backoff', 'failed', 'exited', 'stopped'].includes(svc.state)) {
    const withReason = instances.find((i) => i.reason);
    if (withReason) return `${withReason.id}: ${withReason.reason}`;
  }
  const sick = instances.find((i) => i.health === 'critical' || i.health === 'warning');
  if (sick) return `${sick.id}: ${sick.health}${sick.health_output ? ` — ${sick.health_output.trim()}` : ''}`;
  const open = instances.find((i) => i.breaker === 'open' || i.breaker === 'forced_open');
  if (open) return `${open.id}: breaker ${fmt.label(open.breaker)}`;
  const out = instances.find((i) => i.in_rotation === false && svc.state === 'running');
  if (out) return `${out.id}: out of rotation${out.drain ? ' (draining)' : out.maintenance ? ' (maintenance)' : ''}`;
  const notRunning = instances.find((i) => i.reason && i.state !== 'running');
  if (notRunning) return `${notRunning.id}: ${notRunning.reason}`;
  return '';
}

export function breakerSummary(svc) {
  const instances = svc.instances || [];
  const states = instances.map((i) => i.breaker).filter(Boolean);
  if (!states.length) return { text: '—', tone: 'muted', rank: 0 };
  const open = states.filter((b) => b === 'open' || b === 'forced_open').length;
  const half = states.filter((b) => b === 'half_open').length;
  if (open) return { text: `${open} open`, tone: 'bad', rank: 3 };
  if (half) return { text: `${half} half-open`, tone: 'warn', rank: 2 };
  if (states.every((b) => b === 'disabled')) return { text: 'disabled', tone: 'muted', rank: 0 };
  return { text: 'closed', tone: 'ok', rank: 1 };
}

function matches(svc, filter) {
  const { terms, state } = filter;
  if (state === 'problems' && fmt.serviceTone(svc) === 'ok') return false;
  if (state === 'degraded' && !svc.degraded) return false;
  if (state && !['all', 'problems', 'degraded'].includes(state) && svc.state !== state) return false;
  for (const t of terms) {
    if (t.field === 'tag' && !(svc.tags || []).some((x) => x.toLowerCase().includes(t.value))) return false;
    if (t.field === 'state' && !(svc.state || '').startsWith(t.value)) return false;
    if (t.field === 'health' && !(svc.health || '').startsWith(t.value)) return false;
    if (!t.field && !svc.name.toLowerCase().includes(t.value) && !(svc.tags || []).some((x) => x.toLowerCase().includes(t.value)))
      return false;
  }
  return true;
}

function parseFilter(text) {
  const terms = [];
  for (const word of text.trim().toLowerCase().split(/\s+/).filter(Boolean)) {
    const m = /^(tag|state|health):(.*)$/.exec(word);
    if (m) terms.push({ field: m[1], value: m[2] });
    else terms.push({ field: null, value: word });
  }
  return terms;
}

function sortValue(svc, key, now) {
  switch (key) {
    case 'name': return svc.name;
    case 'state': return fmt.stateRank(svc.state) * 10 + (svc.degraded ? 1 : 0);
    case 'health': return fmt.healthRank(svc.health);
    case 'instances': {
      const total = svc.instances_total ?? (svc.instances || []).length;
      return total ? 1 - (svc.instances_passing ?? 0) / total : 0;
    }
    case 'breaker': return breakerSummary(svc).rank;
    case 'restarts': return svc.restarts || 0;
    case 'uptime': return serviceUptime(svc, now) ?? -1;
    case 'port': return svc.port ?? -1;
    case 'tags': return (svc.tags || []).join(',');
    default: return 0;
  }
}

export class ServicesTable {
  constructor(store) {
    this.store = store;
    this.rows = new Map();
    this.sort = { key: 'name', dir: 1 };
    this.filter = { text: '', terms: [], state: 'all' };
    this.headers = new Map();
    this.build();
    this.reorder = frameThrottle(() => this.applyOrder());
    store.on('services', (change) => this.onChange(change));
    if (store.loaded) this.onChange({ changed: [...store.services.keys()], removed: [] });
    setInterval(() => this.tick(), 1000);
  }

  build() {
    this.filterInput = h('input', {
      type: 'search', id: 'service-filter', placeholder: 'Filter: name, tag:ai, state:backoff', 'aria-label': 'Filter services',
      autocomplete: 'off', spellcheck: 'false',
      on: { input: () => this.setFilter(this.filterInput.value, this.stateSelect.value) },
    });
    this.stateSelect = h('select', { 'aria-label': 'Show services in state', id: 'service-state-filter', on: { change: () => this.setFilter(this.filterInput.value, this.stateSelect.value) } },
      ['all', 'problems', 'degraded', 'running', 'pending', 'starting', 'backoff', 'failed', 'stopping', 'stopped', 'exited']
        .map((v) => h('option', { value: v }, v === 'all' ? 'All states' : v === 'problems' ? 'Problems only' : fmt.label(v))));
    this.count = h('span', { class: 'muted count', 'aria-live': 'polite' });
    this.toolbar = h('div', { class: 'toolbar' }, this.filterInput, this.stateSelect, this.count);

    const headRow = h('tr');
    for (const col of COLUMNS) {
      const th = h('th', { scope: 'col', class: col.cls || '' });
      if (col.sortable === false) th.textContent = col.label;
      else {
        const button = h('button', { type: 'button', class: 'sort', on: { click: () => this.setSort(col.key) } }, col.label, h('span', { class: 'sort-icon', 'aria-hidden': 'true' }));
        th.append(button);
        this.headers.set(col.key, th);
      }
      headRow.append(th);
    }
    this.tbody = h('tbody');
    this.empty = h('p', { class: 'empty-note', hidden: true }, 'No service matches the filter.');
    this.table = h('table', { class: 'grid services', id: 'services-table' }, h('caption', { class: 'visually-hidden' }, 'Services, one row each; column headers sort'), h('thead', null, headRow), this.tbody);
    this.el = h('section', { class: 'panel', 'aria-labelledby': 'services-heading' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'services-heading' }, 'Services'), this.toolbar),
      h('div', { class: 'table-wrap' }, this.table), this.empty);
    this.updateSortHeaders();
  }

  focusFilter() {
    this.filterInput.focus();
    this.filterInput.select();
  }

  setFilter(text, state) {
    this.filter = { text, terms: parseFilter(text), state };
    for (const [name, row] of this.rows) {
      const svc = this.store.services.get(name);
      row.tr.hidden = !matches(svc, this.filter);
    }
    this.updateCount();
  }

  setSort(key) {
    if (this.sort.key === key) this.sort.dir = -this.sort.dir;
    else this.sort = { key, dir: key === 'name' || key === 'port' || key === 'tags' ? 1 : -1 };
    this.updateSortHeaders();
    this.applyOrder();
  }

  updateSortHeaders() {
    for (const [key, th] of this.headers) {
      th.setAttribute('aria-sort', key === this.sort.key ? (this.sort.dir > 0 ? 'ascending' : 'descending') : 'none');
    }
  }

  onChange({ changed, removed }) {
    for (const name of removed || []) {
      this.rows.get(name)?.tr.remove();
      this.rows.delete(name);
    }
    let added = false;
    for (const name of changed || []) {
      const svc = this.store.services.get(name);
      if (!svc) continue;
      let row = this.rows.get(name);
      if (!row) {
        row = this.createRow(svc);
        this.rows.set(name, row);
        this.tbody.append(row.tr);
        added = true;
      }
      this.patchRow(row, svc);
      row.tr.hidden = !matches(svc, this.filter);
    }
    if (added || (changed || []).length) this.reorder();
    this.updateCount();
  }

  createRow(svc) {
    const link = h('a', { href: `#/services/${encodeURIComponent(svc.name)}` }, svc.name);
    const sub = h('span', { class: 'sub' });
    const cell = (cls) => h('td', { class: cls || '' });
    const row = {
      tr: h('tr', { dataset: { service: svc.name } }),
      name: h('th', { scope: 'row', class: 'name' }, link, sub),
      sub,
      badge: h('span', { class: 'rollout-badge', hidden: true }),
      state: h('span', { class: 'pill' }),
      health: h('span', { class: 'pill' }),
      dots: h('span', { class: 'dots', 'aria-hidden': 'true' }),
      inst: h('span', { class: 'inst-count' }),
      breaker: h('span'),
      restarts: cell('num'),
      uptime: cell('num col-uptime'),
      port: cell('num col-port'),
      tags: cell('col-tags'),
      why: cell('col-why why'),
      last: null,
    };
    row.name.insertBefore(row.badge, row.sub);
    row.tr.append(
      row.name,
      h('td', { class: 'state' }, row.state),
      h('td', null, row.health),
      h('td', { class: 'instances' }, row.dots, row.inst),
      h('td', { class: 'col-breaker' }, row.breaker),
      row.restarts, row.uptime, row.port, row.tags, row.why,
    );
    return row;
  }

  patchRow(row, svc) {
    const prev = row.last;
    if (prev && (prev.state !== svc.state || prev.health !== svc.health || prev.degraded !== svc.degraded)) {
      flash(row.tr);
      row.tr.dataset.changedAt = String(Date.now());
    }
    row.last = { state: svc.state, health: svc.health, degraded: svc.degraded };
    const tone = fmt.serviceTone(svc);
    setAttr(row.tr, 'data-state', svc.state);
    setAttr(row.tr, 'data-health', svc.health);
    setAttr(row.tr, 'data-tone', tone);
    setText(row.state, fmt.label(svc.state));
    setClass(row.state, `pill ${fmt.stateTone(svc.state)}`);
    setText(row.health, svc.health || 'unknown');
    setClass(row.health, `pill ${fmt.healthTone(svc.health)}`);
    setText(row.sub, svc.degraded && svc.degraded_by ? `degraded by ${svc.degraded_by}` : '');
    // A succeeded rollout needs no badge; the others do until the next one.
    const rs = svc.rollout?.state;
    row.badge.hidden = !rs || rs === 'succeeded';
    setText(row.badge, rs ? rolloutLabel(rs) : '');
    setClass(row.badge, `rollout-badge ${rolloutTone(rs)}`);
    setAttr(row.badge, 'data-rollout', rs && rs !== 'succeeded' ? rs : null);
    setAttr(row.badge, 'title', rs && rs !== 'succeeded' ? `rollout ${rolloutLabel(rs)}${svc.rollout.reason ? `: ${svc.rollout.reason}` : ''}` : null);

    const instances = svc.instances || [];
    const dots = row.dots;
    while (dots.children.length > instances.length) dots.lastChild.remove();
    while (dots.children.length < instances.length) dots.append(h('span', { class: 'dot' }));
    instances.forEach((inst, i) => {
      const dot = dots.children[i];
      const t = inst.state !== 'running' && inst.state !== 'registered' && inst.health !== 'passing' ? fmt.stateTone(inst.state) : fmt.healthTone(inst.health);
      setClass(dot, `dot ${t}${inst.in_rotation === false ? ' out' : ''}`);
    });
    const total = svc.instances_total ?? instances.length;
    const passing = svc.instances_passing ?? instances.filter((i) => i.health === 'passing').length;
    setText(row.inst, `${passing}/${total}`);
    const instTitle = instances.map((i) => `${i.id}${i.origin === 'remote' && i.node ? ` (on ${i.node})` : ''}: ${i.state}, ${i.health}${i.in_rotation === false ? ', out of rotation' : ''}${i.health_output ? ` — ${i.health_output.trim()}` : ''}`).join('\n');
    setAttr(row.inst.parentElement, 'title', instTitle);

    const b = breakerSummary(svc);
    setText(row.breaker, b.text);
    setClass(row.breaker, `tone-text ${b.tone}`);
    setText(row.restarts, svc.restarts ?? 0);
    setText(row.uptime, fmt.duration(serviceUptime(svc)));
    setText(row.port, svc.port ?? '—');
    const tags = (svc.tags || []).join(' ');
    if (row.tags.dataset.tags !== tags) {
      row.tags.dataset.tags = tags;
      row.tags.replaceChildren(...(svc.tags || []).map((t) => h('span', { class: 'tag' }, t)));
    }
    const why = serviceReason(svc);
    setText(row.why, why);
    setAttr(row.why, 'title', why || null);
  }

  applyOrder() {
    const now = Date.now();
    const { key, dir } = this.sort;
    const names = [...this.rows.keys()];
    const values = new Map(names.map((n) => [n, sortValue(this.store.services.get(n), key, now)]));
    names.sort((a, b) => {
      const va = values.get(a);
      const vb = values.get(b);
      const c = typeof va === 'string' ? va.localeCompare(vb) : va - vb;
      return c ? c * dir : a.localeCompare(b);
    });
    // Move rows only when the order really changed.
    const current = this.tbody.children;
    let same = current.length === names.length;
    for (let i = 0; same && i < names.length; i++) same = current[i] === this.rows.get(names[i]).tr;
    if (same) return;
    const frag = document.createDocumentFragment();
    for (const n of names) frag.append(this.rows.get(n).tr);
    this.tbody.append(frag);
  }

  updateCount() {
    let visible = 0;
    for (const row of this.rows.values()) if (!row.tr.hidden) visible++;
    const total = this.rows.size;
    setText(this.count, visible === total ? `${total} services` : `${visible} of ${total} services`);
    this.empty.hidden = !(total > 0 && visible === 0);
  }

  tick() {
    if (!this.el.isConnected || document.hidden) return;
    const now = Date.now();
    for (const [name, row] of this.rows) {
      if (row.tr.hidden) continue;
      setText(row.uptime, fmt.duration(serviceUptime(this.store.services.get(name), now)));
    }
  }
}
