// A service's rollout on its page: state, trigger, reason and settings,
// each replica's old -> new instance with its state and how long the new
// one has been healthy; while canaries run, their traffic next to the old
// instances' (from the instances' gateway counters); Promote and Abort.
// The data is the service object's `rollout` (GET .../rollout's shape).

import { h, setText, setClass, setAttr } from '../dom.js';
import * as fmt from '../format.js';
import { api } from '../api.js';
import { act } from '../ui.js';

const STATE_TONE = { progressing: 'info', waiting_promote: 'warn', succeeded: 'ok', failed: 'bad', reverted: 'bad' };
const REPLICA_TONE = {
  waiting: 'muted', starting: 'info', proving: 'info', canary: 'warn', proven: 'ok', replaced: 'ok',
  failed: 'bad', restoring: 'info', restored: 'muted',
};

/** The words for a rollout state, as the badge and the pill say it. */
export function rolloutLabel(state) {
  return state === 'waiting_promote' ? 'waiting for promote' : fmt.label(state);
}
export const rolloutTone = (state) => STATE_TONE[state] || 'muted';
export const rolloutRunning = (r) => r?.state === 'progressing' || r?.state === 'waiting_promote';

/** Canaries are out while the rollout waits for promote, or progresses with canary > 0 before it. */
export function canariesRunning(r) {
  if (!r || !(r.canary > 0)) return false;
  if (r.state === 'waiting_promote') return true;
  return r.state === 'progressing' && (r.replicas || []).some((x) => x.index < r.canary && x.new_instance && x.state !== 'replaced' && x.state !== 'proven');
}

/**
 * The canaries' traffic and the old instances': instances, requests, error
 * rate, latency. Requests and errors are the gateway's per-instance
 * counters since each instance joined; latency is the request-weighted
 * mean of the instances' moving averages.
 */
export function compareCanaries(svc) {
  const r = svc.rollout;
  const byId = new Map((svc.instances || []).map((i) => [i.id, i]));
  const canaryIds = new Set((r.replicas || []).filter((x) => x.index < r.canary && x.new_instance).map((x) => x.new_instance));
  const oldIds = new Set((r.replicas || []).map((x) => x.old_instance).filter(Boolean));
  const group = (ids) => {
    const list = [...ids].map((id) => byId.get(id)).filter(Boolean);
    let requests = 0;
    let errors = 0;
    let weighted = 0;
    let weight = 0;
    let counted = false;
    for (const i of list) {
      if (typeof i.requests === 'number') {
        counted = true;
        requests += i.requests;
        errors += i.errors || 0;
      }
      if (typeof i.latency_ms === 'number') {
        const w = Math.max(1, i.requests || 0);
        weighted += i.latency_ms * w;
        weight += w;
      }
    }
    return {
      ids: list.map((i) => i.id),
      requests: counted ? requests : null,
      errorRate: counted && requests > 0 ? errors / requests : null,
      latency: weight ? weighted / weight : null,
    };
  };
  return { canary: group(canaryIds), old: group(oldIds) };
}

function healthyFor(ms) {
  if (ms === null || ms === undefined) return '—';
  return ms < 60000 ? `${(ms / 1000).toFixed(1)}s` : fmt.duration(ms);
}

function settingsText(s) {
  if (!s) return '—';
  return `min healthy ${s.min_healthy} · deadline ${s.deadline} · max parallel ${s.max_parallel} · max unavailable ${s.max_unavailable} · canary ${s.canary} · auto revert ${s.auto_revert ? 'on' : 'off'}`;
}

export class RolloutPanel {
  constructor(name) {
    this.name = name;
    this.state = h('span', { class: 'pill', id: 'rollout-state' });
    this.trigger = h('span', { class: 'muted small rollout-trigger' });
    const btn = (label, action, cls) => h('button', { type: 'button', class: cls, dataset: { action }, on: { click: (e) => this.action(action, e.currentTarget) } }, label);
    this.promote = btn('Promote', 'promote', 'primary');
    this.abort = btn('Abort', 'abort', 'danger-outline');
    this.buttons = h('div', { class: 'controls', role: 'group', 'aria-label': 'Rollout controls' }, this.promote, this.abort);
    this.reason = h('div', { class: 'banner bad rollout-reason', hidden: true });
    this.settings = h('p', { class: 'muted small rollout-settings' });
    this.replicaBody = h('tbody');
    this.compareBody = h('tbody');
    this.compare = h('div', { class: 'rollout-compare', hidden: true },
      h('h3', null, 'Canary against the old instances'),
      h('div', { class: 'table-wrap' },
        h('table', { class: 'grid', id: 'rollout-compare' },
          h('thead', null, h('tr', null, ['', 'Instances', 'Requests', 'Error rate', 'Latency'].map((t, i) => h('th', { scope: 'col', class: i > 1 ? 'num' : '' }, t)))),
          this.compareBody)),
      h('p', { class: 'muted small' }, 'Requests and errors through the gateway since each instance joined; latency is the moving average, weighted by requests.'));
    this.el = h('section', { class: 'panel rollout-panel', id: 'rollout-panel', 'aria-labelledby': 'rollout-heading', hidden: true },
      h('div', { class: 'panel-head' }, h('h2', { id: 'rollout-heading' }, 'Rollout'), this.state, this.trigger, this.buttons),
      h('div', { class: 'rollout-body' },
        this.reason,
        this.settings,
        this.replicaWrap = h('div', { class: 'table-wrap' },
          h('table', { class: 'grid', id: 'rollout-replicas' },
            h('thead', null, h('tr', null, ['Replica', 'Old instance', '', 'New instance', 'State', 'Healthy for'].map((t, i) => h('th', { scope: 'col', class: i === 0 || i === 5 ? 'num' : '' }, t)))),
            this.replicaBody)),
        this.compare));
  }

  async action(action, button) {
    const confirm = action === 'abort' ? {
      title: `Abort the rollout of ${this.name}?`,
      body: `The new instances of ${this.name} stop; the old ones keep serving, replicas already replaced get the previous definition back, and the rollout ends reverted.`,
      ok: 'Abort rollout',
    } : null;
    // The page follows the answer through the stream (the service's
    // rollout field), not the response: a delta may already be newer.
    await act({
      button, confirm, what: `${action} the rollout of ${this.name}`,
      done: action === 'promote' ? `Rollout of ${this.name} promoted` : `Rollout of ${this.name} aborted`,
      run: () => api.rolloutAction(this.name, action),
    });
  }

  render(svc) {
    const r = svc?.rollout;
    this.el.hidden = !r || !r.state;
    if (this.el.hidden) return;
    setText(this.state, rolloutLabel(r.state));
    setClass(this.state, `pill ${rolloutTone(r.state)}`);
    setAttr(this.state, 'data-state', r.state);
    setAttr(this.el, 'data-state', r.state);
    const started = r.started_ms ? `started ${fmt.ago(r.started_ms)}` : '';
    const finished = r.finished_ms ? `, took ${fmt.duration(r.finished_ms - r.started_ms)}` : '';
    setText(this.trigger, `${r.trigger === 'restart' ? 'from a restart' : 'from a config reload'}${r.fields?.length ? ` (${r.fields.join(', ')})` : ''}${started ? ` · ${started}${finished}` : ''}`);
    this.promote.hidden = r.state !== 'waiting_promote';
    this.abort.hidden = !rolloutRunning(r);
    this.reason.hidden = !r.reason;
    setText(this.reason, r.reason);
    setClass(this.reason, `banner ${r.state === 'failed' || r.state === 'reverted' ? 'bad' : 'warn'} rollout-reason`);
    setText(this.settings, `${settingsText(r.settings)}${r.canary ? ` · ${r.canary} canar${r.canary === 1 ? 'y' : 'ies'} in effect` : ''}`);
    this.renderReplicas(r);
    this.renderCompare(svc);
  }

  renderReplicas(r) {
    const key = JSON.stringify(r.replicas);
    if (key === this.replicaKey) return;
    this.replicaKey = key;
    this.replicaWrap.hidden = !(r.replicas || []).length;
    const id = (v) => (v ? h('span', { class: 'mono' }, v) : h('span', { class: 'muted' }, '—'));
    this.replicaBody.replaceChildren(...(r.replicas || []).map((x) => h('tr', { dataset: { replica: String(x.index), state: x.state } },
      h('td', { class: 'num' }, x.index), h('td', null, id(x.old_instance)), h('td', { class: 'muted', 'aria-hidden': 'true' }, '→'),
      h('td', null, id(x.new_instance)),
      h('td', null, h('span', { class: `pill ${REPLICA_TONE[x.state] || 'muted'}` }, fmt.label(x.state))),
      h('td', { class: 'num' }, healthyFor(x.healthy_for_ms)))));
  }

  renderCompare(svc) {
    const show = canariesRunning(svc.rollout);
    this.compare.hidden = !show;
    if (!show) return;
    const { canary, old } = compareCanaries(svc);
    const row = (label, g, kind) => h('tr', { dataset: { group: kind } },
      h('th', { scope: 'row' }, label),
      h('td', { class: 'mono' }, g.ids.length ? g.ids.join(', ') : '—'),
      h('td', { class: 'num' }, g.requests ?? '—'),
      h('td', { class: 'num' }, fmt.percent(g.errorRate)),
      h('td', { class: 'num' }, fmt.millis(g.latency)));
    const worse = canary.errorRate !== null && old.errorRate !== null && canary.errorRate > old.errorRate;
    const canaryRow = row('Canary (new)', canary, 'canary');
    if (worse) canaryRow.classList.add('worse');
    this.compareBody.replaceChildren(canaryRow, row('Old', old, 'old'));
  }
}
