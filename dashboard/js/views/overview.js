// The first screen: overall health, counts by state, live charts of the
// gateway (request rate, error rate, p99) and of passing instances, and the
// services table.

import { h, setText, setClass, frameThrottle } from '../dom.js';
import * as fmt from '../format.js';
import { Sparkline, spanLabel } from '../charts.js';
import { ServicesTable } from './services_table.js';

const STATE_ORDER = ['running', 'pending', 'starting', 'backoff', 'failed', 'stopping', 'stopped', 'exited'];

function chartCard(title, spark, note) {
  const value = h('span', { class: 'chart-value' }, '—');
  const noteEl = h('span', { class: 'chart-note' }, note || '');
  const card = h('figure', { class: 'chart-card' },
    h('figcaption', null, h('span', { class: 'chart-title' }, title), value),
    spark.el, noteEl);
  return { card, value, noteEl, spark };
}

export class OverviewView {
  constructor(store) {
    this.store = store;
    this.table = new ServicesTable(store);

    this.statusPill = h('span', { class: 'pill big muted', id: 'overall-status' }, '…');
    this.statusDetail = h('span', { class: 'muted' });
    this.counts = h('div', { class: 'state-counts', role: 'group', 'aria-label': 'Services by state; a count filters the table' });
    this.countEls = new Map();
    for (const state of STATE_ORDER) {
      const n = h('strong', null, '0');
      const item = h('button', { type: 'button', class: `count-tile ${fmt.stateTone(state)}`, dataset: { state },
        on: { click: () => this.filterState(state) } }, n, h('span', null, fmt.label(state)));
      this.countEls.set(state, { item, n });
      this.counts.append(item);
    }
    const degradedN = h('strong', null, '0');
    const degraded = h('button', { type: 'button', class: 'count-tile warn', dataset: { state: 'degraded' },
      on: { click: () => this.filterState('degraded') } }, degradedN, h('span', null, 'degraded'));
    this.countEls.set('degraded', { item: degraded, n: degradedN });
    this.counts.append(degraded);

    this.charts = {
      rps: chartCard('Gateway requests/s', new Sparkline({ key: 'rps', label: 'Gateway request rate, last 15 minutes' })),
      err: chartCard('Error rate', new Sparkline({ key: 'error_rate', max: null, label: 'Gateway error rate, last 15 minutes' })),
      p99: chartCard('p99 latency', new Sparkline({ key: 'p99_ms', label: 'Gateway p99 latency, last 15 minutes' })),
      inst: chartCard('Instances passing', new Sparkline({ key: 'passing', label: 'Passing instances, last 15 minutes' })),
    };
    this.charts.err.card.classList.add('tone-bad');
    this.el = h('div', { class: 'view overview' },
      h('section', { class: 'summary', 'aria-label': 'Summary' },
        h('div', { class: 'summary-health' }, h('span', { class: 'muted small' }, 'Overall'), this.statusPill, this.statusDetail),
        this.counts),
      h('section', { class: 'charts', 'aria-label': 'Live charts, last 15 minutes' },
        ...Object.values(this.charts).map((c) => c.card)),
      this.table.el);

    const redraw = frameThrottle(() => this.drawCharts());
    store.on('metrics', redraw);
    store.on('services', () => {
      this.updateCounts();
      redraw();
    });
    store.on('health', () => this.updateHealth());
    setInterval(() => this.el.isConnected && !document.hidden && this.drawCharts(), 2000);
    this.updateCounts();
    this.updateHealth();
  }

  filterState(state) {
    this.table.stateSelect.value = state;
    this.table.setFilter(this.table.filterInput.value, state);
    this.table.el.scrollIntoView({ block: 'start', behavior: 'smooth' });
  }

  updateHealth() {
    const body = this.store.health;
    if (!body) return;
    const status = body.status || 'unknown';
    setText(this.statusPill, status);
    setClass(this.statusPill, `pill big ${status === 'healthy' ? 'ok' : status === 'degraded' ? 'warn' : status === 'unhealthy' ? 'bad' : 'muted'}`);
    const parts = [`${body.total ?? this.store.services.size} services`];
    if (body.unavailable) parts.push(`${body.unavailable} unavailable`);
    if (body.degraded) parts.push(`${body.degraded} degraded`);
    setText(this.statusDetail, parts.join(' · '));
  }

  updateCounts() {
    const counts = {};
    let degraded = 0;
    for (const svc of this.store.services.values()) {
      counts[svc.state] = (counts[svc.state] || 0) + 1;
      if (svc.degraded) degraded++;
    }
    for (const [state, { item, n }] of this.countEls) {
      const value = state === 'degraded' ? degraded : counts[state] || 0;
      setText(n, value);
      item.classList.toggle('zero', value === 0);
    }
  }

  drawCharts() {
    const now = Date.now();
    const g = this.store.metrics.gateway;
    const last = g.latest();
    const c = this.charts;
    c.rps.spark.update(g.points, now);
    c.err.spark.update(g.points, now);
    c.p99.spark.update(g.points, now);
    const waiting = this.store.metrics.seen ? '' : 'no gateway metrics yet';
    setText(c.rps.value, last ? fmt.number(last.rps) : '—');
    setText(c.err.value, last ? fmt.percent(last.error_rate) : '—');
    setText(c.p99.value, last ? fmt.millis(last.p99_ms) : '—');
    for (const k of ['rps', 'err', 'p99']) setText(c[k].noteEl, waiting || spanLabel(c[k].spark.spanMs));
    const inst = this.store.instanceHistory;
    c.inst.spark.max = Math.max(1, ...inst.points.map((p) => p.total));
    c.inst.spark.update(inst.points, now);
    const li = inst.latest();
    setText(c.inst.value, li ? `${li.passing}/${li.total}` : '—');
    setText(c.inst.noteEl, spanLabel(c.inst.spark.spanMs));
  }
}
