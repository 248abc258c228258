// One service: its state and controls, every instance with health, last
// check output, the reason it is out of rotation, breaker and outlier
// state, traffic; its rollout (rollout_panel.js); the live log tail; the
// service's events.

import { h, setText, setAttr, setClass, flash, debounce, frameThrottle } from '../dom.js';
import * as fmt from '../format.js';
import { api } from '../api.js';
import { act } from '../ui.js';
import { Sparkline, spanLabel } from '../charts.js';
import { LogTail } from './log_tail.js';
import { EventList } from './event_list.js';
import { serviceUptime, serviceReason } from './services_table.js';
import { RolloutPanel } from './rollout_panel.js';

const pick = (...values) => values.find((v) => v !== undefined && v !== null);

function outlierText(inst) {
  const o = inst.outlier;
  const until = pick(inst.ejected_until_ms, o?.ejected_until_ms, o?.until_ms);
  if (inst.ejected || o?.ejected || o?.state === 'ejected') return { text: until ? `ejected, back in ${fmt.duration(until - Date.now())}` : 'ejected', tone: 'bad' };
  if (o || inst.ejected === false) return { text: 'ok', tone: 'ok' };
  return { text: '—', tone: 'muted' };
}

function connectionsOf(inst) {
  return pick(inst.connections, inst.active_connections, inst.in_flight, inst.active_requests);
}

function latencyOf(inst) {
  return pick(inst.latency_ms, inst.p99_ms, inst.latency?.p99_ms, inst.latency?.ewma_ms, inst.response_time_ms);
}

export class ServiceView {
  constructor(store, stream, name) {
    this.store = store;
    this.stream = stream;
    this.name = name;
    this.instRows = new Map();
    this.explains = new Map();
    this.cleanups = [];

    this.title = h('h1', null, name);
    this.statePill = h('span', { class: 'pill' });
    this.healthPill = h('span', { class: 'pill' });
    this.banner = h('p', { class: 'banner', hidden: true, role: 'note' });
    const btn = (label, action, cls = '') => h('button', { type: 'button', class: cls, dataset: { action }, on: { click: (e) => this.serviceAction(action, e.currentTarget) } }, label);
    this.controls = h('div', { class: 'controls', role: 'group', 'aria-label': 'Service controls' },
      btn('Start', 'start'), btn('Restart', 'restart'), btn('Stop', 'stop', 'danger-outline'));
    this.facts = h('dl', { class: 'facts' });
    this.instBody = h('tbody');
    this.charts = {
      rps: new Sparkline({ key: 'rps', label: 'Requests per second, last 15 minutes' }),
      err: new Sparkline({ key: 'error_rate', label: 'Error rate, last 15 minutes' }),
      p99: new Sparkline({ key: 'p99_ms', label: 'p99 latency, last 15 minutes' }),
    };
    this.chartValues = { rps: h('span', { class: 'chart-value' }, '—'), err: h('span', { class: 'chart-value' }, '—'), p99: h('span', { class: 'chart-value' }, '—') };
    this.chartNote = h('p', { class: 'muted small chart-note' });
    const chart = (k, title) => h('figure', { class: 'chart-card' }, h('figcaption', null, h('span', { class: 'chart-title' }, title), this.chartValues[k]), this.charts[k].el);

    this.rollout = new RolloutPanel(name);
    this.logs = new LogTail(stream, name);
    this.events = new EventList(store, { limit: 100, showService: false, predicate: (e) => e.service === name, emptyText: 'No events for this service yet.' });

    const instHead = ['Instance', 'Node', 'State', 'Health', 'Rotation', 'Breaker', 'Outlier', 'Conns', 'Latency', 'PID', 'Address', 'Restarts', 'Uptime'];
    this.el = h('div', { class: 'view service-view' },
      h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/' }, 'Services'), ' / ', h('span', { 'aria-current': 'page' }, name)),
      h('header', { class: 'service-head' },
        h('div', { class: 'title-row' }, this.title, this.statePill, this.healthPill),
        this.controls),
      this.banner,
      this.rollout.el,
      h('div', { class: 'service-grid' },
        h('section', { class: 'panel', 'aria-label': 'Facts' }, this.facts),
        h('section', { class: 'panel charts-panel', 'aria-label': 'Traffic' },
          h('div', { class: 'charts compact' }, chart('rps', 'Requests/s'), chart('err', 'Error rate'), chart('p99', 'p99 latency')), this.chartNote)),
      h('section', { class: 'panel', 'aria-labelledby': 'instances-heading' },
        h('div', { class: 'panel-head' }, h('h2', { id: 'instances-heading' }, 'Instances')),
        h('div', { class: 'table-wrap' },
          h('table', { class: 'grid instances', id: 'instances-table' },
            h('thead', null, h('tr', null, instHead.map((t) => h('th', { scope: 'col', class: ['Conns', 'Latency', 'PID', 'Restarts', 'Uptime'].includes(t) ? 'num' : '' }, t)))),
            this.instBody))),
      this.logs.el,
      h('section', { class: 'panel', 'aria-labelledby': 'svc-events-heading' },
        h('div', { class: 'panel-head' }, h('h2', { id: 'svc-events-heading' }, 'Events')), this.events.el));

    this.refetchExplains = debounce(() => this.fetchExplains(), 250);
    const redrawCharts = frameThrottle(() => this.drawCharts());
    this.cleanups.push(store.on('services', ({ changed, removed }) => {
      if (changed.includes(name) || removed.includes(name) || this.dependsOnChanged(changed)) this.render();
    }));
    this.cleanups.push(store.on('metrics', redrawCharts));
    const timer = setInterval(() => {
      if (document.hidden) return;
      this.tick();
      redrawCharts();
    }, 1000);
    this.cleanups.push(() => clearInterval(timer));
    this.render();
    this.drawCharts();
  }

  dependsOnChanged(changed) {
    const svc = this.store.services.get(this.name);
    return svc && (svc.depends_on || []).some((d) => changed.includes(d));
  }

  async serviceAction(action, button) {
    const svc = this.store.services.get(this.name);
    const confirm = action === 'start' ? null : {
      title: `${action === 'stop' ? 'Stop' : 'Restart'} ${this.name}?`,
      body: action === 'stop'
        ? `Every instance of ${this.name} is drained, then signalled to stop${this.store.dependents(this.name).length ? `; its dependents (${this.store.dependents(this.name).join(', ')}) lose it` : ''}.`
        : svc?.instances_passing > 0
          ? `Each replica of ${this.name} gets a new instance through its rollout gate; the old one leaves only once the new one has passed its check for min_healthy (the Rollout panel follows it).`
          : `Each instance of ${this.name} is drained, stopped and started again${svc?.instances?.length ? ` (${svc.instances.length} instance${svc.instances.length > 1 ? 's' : ''})` : ''}.`,
      ok: action === 'stop' ? 'Stop' : 'Restart',
    };
    await act({ button, confirm, what: `${action} ${this.name}`, done: `${fmt.label(action)} of ${this.name} accepted`, run: () => api.serviceAction(this.name, action) });
  }

  async instanceAction(inst, action, button) {
    const breaker = action.startsWith('breaker-');
    const verb = breaker ? action.slice(8) : action;
    const confirm = breaker ? {
      title: `${verb === 'open' ? 'Force open' : verb === 'close' ? 'Close' : 'Reset'} the breaker of ${inst.id}?`,
      body: verb === 'open' ? `${inst.id} gets no traffic until the breaker is closed or reset.`
        : verb === 'close' ? `${inst.id} gets traffic again at once, whatever its recent failures.`
          : `The breaker of ${inst.id} forgets its window and starts closed.`,
      ok: verb === 'open' ? 'Open breaker' : verb === 'close' ? 'Close breaker' : 'Reset breaker',
      danger: verb === 'open',
    } : null;
    await act({
      button, confirm, what: `${verb} ${inst.id}`, done: breaker ? `Breaker of ${inst.id}: ${verb}` : `${inst.id}: ${verb}`,
      run: () => (breaker ? api.breakerAction(this.name, inst.id, verb) : api.instanceAction(this.name, inst.id, verb)),
    });
    this.refetchExplains();
  }

  render() {
    const svc = this.store.services.get(this.name);
    if (!svc) {
      setText(this.banner, this.store.loaded ? `meshd has no service named "${this.name}".` : 'Loading…');
      this.banner.hidden = false;
      setClass(this.banner, `banner ${this.store.loaded ? 'bad' : 'muted'}`);
      this.controls.hidden = this.store.loaded;
      this.rollout.render(null);
      return;
    }
    this.controls.hidden = false;
    if (this.last && (this.last.state !== svc.state || this.last.health !== svc.health)) flash(this.title.parentElement);
    this.last = { state: svc.state, health: svc.health };
    setText(this.statePill, fmt.label(svc.state));
    setClass(this.statePill, `pill ${fmt.stateTone(svc.state)}`);
    setAttr(this.statePill, 'data-state', svc.state);
    setText(this.healthPill, svc.health || 'unknown');
    setClass(this.healthPill, `pill ${fmt.healthTone(svc.health)}`);
    const reason = serviceReason(svc);
    this.banner.hidden = !reason;
    setText(this.banner, reason);
    setClass(this.banner, `banner ${svc.degraded ? 'warn' : fmt.serviceTone(svc) === 'bad' ? 'bad' : 'warn'}`);
    this.renderFacts(svc);
    this.rollout.render(svc);
    this.renderInstances(svc);
    this.logs.setInstances((svc.instances || []).map((i) => i.id));
  }

  renderFacts(svc) {
    const depLinks = (names, details) => names.length
      ? names.map((d) => {
        const dep = this.store.services.get(d);
        const detail = details?.find((x) => x.service === d);
        return h('a', { href: `#/services/${encodeURIComponent(d)}`, class: `dep ${fmt.serviceTone(dep)}`, title: detail ? `condition: ${detail.condition}${detail.required === false ? ', optional' : ''}` : '' },
          d, detail && detail.required === false ? h('span', { class: 'muted' }, ' (optional)') : null);
      })
      : [h('span', { class: 'muted' }, 'none')];
    const rows = [
      ['Port', svc.port ?? '—'],
      ['Replicas', svc.replicas ?? (svc.instances || []).length],
      ['Instances', `${svc.instances_passing ?? 0} passing · ${svc.instances_in_rotation ?? '?'} in rotation · ${svc.instances_total ?? (svc.instances || []).length} total`],
      ['Health check', svc.health_check || '—'],
      ['Load balancer', fmt.label(svc.load_balancer || '—')],
      ['Restarts', svc.restarts ?? 0],
      ['Last reload', svc.rollout ? `${fmt.label(svc.rollout.status)}${svc.rollout.fields?.length ? ` (${svc.rollout.fields.join(', ')})` : ''}` : '—'],
      ['Uptime', h('span', { class: 'uptime' }, fmt.duration(serviceUptime(svc)))],
      ['Depends on', depLinks(svc.depends_on || [], svc.dependencies)],
      ['Dependents', depLinks(this.store.dependents(svc.name))],
      ['Kind', svc.managed === false ? 'external (registered, checked only)' : 'managed process'],
      ['Tags', (svc.tags || []).length ? svc.tags.map((t) => h('span', { class: 'tag' }, t)) : h('span', { class: 'muted' }, 'none')],
    ];
    const meta = Object.entries(svc.metadata || {});
    if (meta.length) rows.push(['Metadata', meta.map(([k, v]) => h('span', { class: 'tag' }, `${k}=${v}`))]);
    const key = JSON.stringify([rows.map((r) => (r[1] instanceof Node || Array.isArray(r[1]) ? '' : r[1])), svc.depends_on, svc.tags, svc.metadata,
      (svc.depends_on || []).map((d) => fmt.serviceTone(this.store.services.get(d))), this.store.dependents(svc.name)]);
    if (key === this.factsKey) return;
    this.factsKey = key;
    this.facts.replaceChildren(...rows.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
  }

  renderInstances(svc) {
    const instances = svc.instances || [];
    const seen = new Set();
    let refetch = false;
    for (const inst of instances) {
      seen.add(inst.id);
      let row = this.instRows.get(inst.id);
      if (!row) {
        row = this.createInstanceRow(inst);
        this.instRows.set(inst.id, row);
        refetch = true;
      }
      const sig = JSON.stringify([inst.state, inst.health, inst.in_rotation, inst.drain, inst.maintenance, inst.breaker, inst.health_output, inst.pid]);
      if (row.sig !== sig) {
        if (row.sig && (row.last.state !== inst.state || row.last.health !== inst.health)) flash(row.tr);
        row.sig = sig;
        refetch = true;
      }
      row.last = inst;
      this.patchInstanceRow(row, inst);
    }
    for (const [id, row] of this.instRows) {
      if (!seen.has(id)) {
        row.tr.remove();
        row.detail.remove();
        this.instRows.delete(id);
      }
    }
    // Put rows in the service's order, moving nodes only when it changed
    // (a moved node would restart its flash).
    const want = instances.flatMap((i) => [this.instRows.get(i.id).tr, this.instRows.get(i.id).detail]);
    const have = this.instBody.children;
    if (want.length !== have.length || want.some((node, i) => have[i] !== node)) this.instBody.append(...want);
    if (refetch) this.refetchExplains();
  }

  createInstanceRow(inst) {
    const td = (cls) => h('td', { class: cls || '' });
    const btn = (label, action, title) => h('button', { type: 'button', class: 'small', dataset: { action }, title, on: { click: (e) => this.instanceAction(this.instRows.get(inst.id).last, action, e.currentTarget) } }, label);
    const row = {
      tr: h('tr', { dataset: { instance: inst.id } }),
      id: h('th', { scope: 'row', class: 'mono' }, inst.id),
      state: h('span', { class: 'pill' }), health: h('span', { class: 'pill' }), rotation: h('span'),
      breaker: h('span', { class: 'pill' }),
      breakerButtons: h('span', { class: 'mini-group', role: 'group', 'aria-label': `Breaker of ${inst.id}` },
        btn('Open', 'breaker-open', 'Force the breaker open'), btn('Close', 'breaker-close', 'Close the breaker'), btn('Reset', 'breaker-reset', 'Reset the breaker')),
      outlier: h('span'), node: td('mono node'), conns: td('num'), latency: td('num'), pid: td('num mono'), address: td('mono'), restarts: td('num'), uptime: td('num'),
      actions: h('span', { class: 'mini-group', role: 'group', 'aria-label': `Rotation of ${inst.id}` },
        btn('Drain', 'drain', 'Take out of rotation; in-flight requests finish'), btn('Maintenance', 'maintenance', 'Maintenance: out of rotation until ready'), btn('Ready', 'ready', 'Back in rotation')),
      check: h('div', { class: 'check-output' }),
      explain: h('div', { class: 'explain' }),
    };
    // Data in the row; below it what the check said, why the instance is
    // out of rotation, and its controls.
    row.detail = h('tr', { class: 'detail', dataset: { instanceDetail: inst.id } },
      h('td', { colspan: 13 },
        h('div', { class: 'detail-grid' },
          h('div', { class: 'detail-text' }, row.check, row.explain),
          h('div', { class: 'detail-controls' },
            h('span', { class: 'muted small' }, 'Rotation'), row.actions,
            h('span', { class: 'muted small breaker-label' }, 'Breaker'), row.breakerButtons))));
    row.tr.append(row.id, row.node, h('td', null, row.state), h('td', null, row.health), h('td', null, row.rotation),
      h('td', null, row.breaker), h('td', null, row.outlier),
      row.conns, row.latency, row.pid, row.address, row.restarts, row.uptime);
    return row;
  }

  patchInstanceRow(row, inst) {
    setAttr(row.tr, 'data-state', inst.state);
    setAttr(row.tr, 'data-health', inst.health);
    setText(row.state, fmt.label(inst.state));
    // Another node's instance: it runs and is checked there.
    setText(row.node, inst.node || '—');
    setAttr(row.tr, 'data-origin', inst.origin);
    row.node.title = inst.origin === 'remote' ? `Runs on node ${inst.node}; its health comes from there` : '';
    setClass(row.state, `pill ${fmt.stateTone(inst.state)}`);
    setText(row.health, inst.health || 'unknown');
    setClass(row.health, `pill ${fmt.healthTone(inst.health)}`);
    const inRot = inst.in_rotation !== false;
    setText(row.rotation, inRot ? 'in' : inst.drain ? 'draining' : inst.maintenance ? 'maintenance' : 'out');
    setClass(row.rotation, `tone-text ${inRot ? 'ok' : 'warn'}`);
    const hasBreaker = inst.breaker !== undefined;
    setText(row.breaker, hasBreaker ? fmt.label(inst.breaker) : '—');
    setClass(row.breaker, hasBreaker ? `pill ${fmt.breakerTone(inst.breaker)}` : 'muted');
    row.breakerButtons.hidden = !hasBreaker && this.store.features.breakers !== true;
    row.breakerButtons.previousElementSibling.hidden = row.breakerButtons.hidden;
    const o = outlierText(inst);
    setText(row.outlier, o.text);
    setClass(row.outlier, `tone-text ${o.tone}`);
    const conns = connectionsOf(inst);
    setText(row.conns, conns ?? '—');
    setText(row.latency, fmt.millis(latencyOf(inst)));
    setText(row.pid, inst.pid ?? '—');
    setText(row.address, inst.port ? `${inst.address}:${inst.port}` : inst.address || '—');
    setText(row.restarts, inst.restarts ?? 0);
    setText(row.uptime, inst.started_at_ms && inst.state === 'running' ? fmt.duration(Date.now() - inst.started_at_ms) : '—');
    const [drain, maint, ready] = row.actions.children;
    drain.disabled = Boolean(inst.drain);
    maint.disabled = Boolean(inst.maintenance);
    ready.disabled = !inst.drain && !inst.maintenance;
    const output = (inst.health_output || '').trim();
    const checkText = `Last check${inst.check ? ` (${inst.check})` : ''}: ${output || (inst.health === 'unknown' ? 'not run yet' : 'no output')}`;
    setText(row.check, checkText);
    setClass(row.check, `check-output ${fmt.healthTone(inst.health)}`);
    if (inst.reason && inst.state !== 'running') {
      this.setExplainFallback(row, inst);
    }
  }

  setExplainFallback(row, inst) {
    if (this.explains.has(inst.id)) return;
    setText(row.explain, `Process: ${inst.reason}`);
  }

  async fetchExplains() {
    const svc = this.store.services.get(this.name);
    if (!svc || !this.el.isConnected) return;
    await Promise.all((svc.instances || []).map(async (inst) => {
      try {
        const body = await api.explain(this.name, inst.id);
        this.explains.set(inst.id, body);
        this.renderExplain(inst.id, body);
      } catch {
        /* the instance went away, or meshd is restarting: the next change refetches */
      }
    }));
  }

  renderExplain(id, body) {
    const row = this.instRows.get(id);
    if (!row) return;
    const parts = [];
    const inst = row.last || {};
    if (body.in_rotation) parts.push(h('span', { class: 'tone-text ok' }, 'In rotation.'));
    else if (body.reasons?.length) {
      parts.push(h('strong', null, 'Out of rotation: '));
      body.reasons.forEach((r, i) => {
        parts.push(h('span', { class: 'reason', dataset: { kind: r.kind } }, i ? ' ' : '', h('span', { class: 'reason-kind' }, fmt.label(r.kind)), ` ${r.message}.`));
        if (r.output && r.output.trim() !== (inst.health_output || '').trim()) parts.push(h('pre', { class: 'output' }, r.output));
      });
    } else parts.push(h('span', { class: 'muted' }, 'Out of rotation.'));
    if (inst.reason && inst.state !== 'running') parts.push(h('span', { class: 'muted' }, ` Process: ${inst.reason}.`));
    for (const note of body.notes || []) parts.push(h('span', { class: 'note' }, ` Note: ${note}.`));
    row.explain.replaceChildren(...parts);
    row.detail.dataset.inRotation = String(Boolean(body.in_rotation));
  }

  drawCharts() {
    const series = this.store.metrics.services.get(this.name);
    const points = series ? series.points : [];
    for (const k of ['rps', 'err', 'p99']) this.charts[k].update(points);
    const last = series?.latest();
    setText(this.chartValues.rps, last ? fmt.number(last.rps) : '—');
    setText(this.chartValues.err, last ? fmt.percent(last.error_rate) : '—');
    setText(this.chartValues.p99, last ? fmt.millis(last.p99_ms) : '—');
    setText(this.chartNote, series ? `Through the gateway, ${spanLabel(this.charts.rps.spanMs)}.` : 'No traffic metrics for this service yet (they arrive over /ws once the gateway serves it).');
  }

  tick() {
    const svc = this.store.services.get(this.name);
    if (!svc) return;
    const up = this.facts.querySelector('.uptime');
    if (up) setText(up, fmt.duration(serviceUptime(svc)));
    for (const inst of svc.instances || []) {
      const row = this.instRows.get(inst.id);
      if (row) setText(row.uptime, inst.started_at_ms && inst.state === 'running' ? fmt.duration(Date.now() - inst.started_at_ms) : '—');
    }
  }

  destroy() {
    for (const fn of this.cleanups) fn();
    this.logs.destroy();
    this.events.destroy();
  }
}

