// A live list of events, newest first: new events are prepended, nothing
// is rebuilt unless the filter changes. Used by the events view and by the
// service page (filtered to one service).

import { h } from '../dom.js';
import * as fmt from '../format.js';

/** The tone of an event, from its type and data. */
export function eventTone(e) {
  const d = e.data || {};
  const text = `${e.type} ${e.message}`.toLowerCase();
  if (e.type === 'health.transition') return d.to === 'passing' ? 'ok' : d.to === 'critical' ? 'bad' : d.to === 'warning' ? 'warn' : /critical/.test(text) ? 'bad' : /passing/.test(text) ? 'ok' : 'info';
  if (e.type.endsWith('.state') && d.to) {
    const t = fmt.stateTone(d.to);
    if (d.to === 'exited' && /code [1-9]|signal/.test(d.reason || '')) return 'bad';
    return t === 'muted' ? 'info' : t;
  }
  if (/failed|gave up|crash|killed|rollback|rolled back|breaker.*open|ejected|error/.test(text) && !/closed/.test(text)) return 'bad';
  if (/backoff|degraded|drain|maintenance|half.open|exited with code [1-9]|signal/.test(text)) return 'warn';
  if (/running|passing|started|ready|closed|recovered/.test(text)) return 'ok';
  return 'info';
}

export class EventList {
  constructor(store, { limit = 500, showService = true, predicate = () => true, emptyText = 'No events yet.' } = {}) {
    this.store = store;
    this.limit = limit;
    this.showService = showService;
    this.predicate = predicate;
    this.body = h('tbody');
    this.empty = h('p', { class: 'empty-note' }, emptyText);
    const headers = ['Time', 'Type', ...(showService ? ['Service'] : []), 'Instance', 'Message'];
    this.el = h('div', { class: 'events-list' },
      h('div', { class: 'table-wrap' },
        h('table', { class: 'grid events' }, h('thead', null, h('tr', null, headers.map((t) => h('th', { scope: 'col' }, t)))), this.body)),
      this.empty);
    this.unsubscribe = store.on('events', (change) => {
      if (change.older || change.reordered) this.rebuild();
      else this.prepend(change.added);
    });
    this.rebuild();
  }

  setPredicate(predicate) {
    this.predicate = predicate;
    this.rebuild();
  }

  row(e) {
    const tone = eventTone(e);
    const service = e.service
      ? h('a', { href: `#/services/${encodeURIComponent(e.service)}` }, e.service)
      : h('span', { class: 'muted' }, 'meshd');
    return h('tr', { dataset: { seq: e.seq, type: e.type, tone } },
      h('td', { class: 'time', title: `${fmt.dateTime(e.time_ms)} · seq ${e.seq}` }, fmt.clock(e.time_ms)),
      h('td', null, h('span', { class: `type ${tone}` }, e.type)),
      this.showService ? h('td', null, service) : null,
      h('td', { class: 'mono' }, e.instance || ''),
      h('td', { class: 'message' }, e.message));
  }

  prepend(events) {
    const rows = events.filter((e) => this.predicate(e)).map((e) => this.row(e)).reverse();
    if (!rows.length) return;
    this.body.prepend(...rows);
    for (const r of rows) r.classList.add('fresh');
    while (this.body.children.length > this.limit) this.body.lastChild.remove();
    this.empty.hidden = true;
  }

  rebuild() {
    const rows = [];
    const events = this.store.events;
    for (let i = events.length - 1; i >= 0 && rows.length < this.limit; i--) {
      if (this.predicate(events[i])) rows.push(this.row(events[i]));
    }
    this.body.replaceChildren(...rows);
    this.empty.hidden = rows.length > 0;
  }

  destroy() {
    this.unsubscribe();
  }
}
