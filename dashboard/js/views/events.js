// The events timeline: every event meshd persisted, newest first, live,
// filterable by type, service, text and "problems only"; older pages load
// on demand from GET /api/v1/events.

import { h, debounce } from '../dom.js';
import { api } from '../api.js';
import { EventList, eventTone } from './event_list.js';
import { toast } from '../ui.js';

export class EventsView {
  constructor(store) {
    this.store = store;
    this.typeSelect = h('select', { 'aria-label': 'Event type', id: 'event-type-filter', on: { change: () => this.apply() } }, h('option', { value: '' }, 'All types'));
    this.serviceSelect = h('select', { 'aria-label': 'Service', id: 'event-service-filter', on: { change: () => this.apply() } }, h('option', { value: '' }, 'All services'));
    this.search = h('input', { type: 'search', placeholder: 'Search messages', 'aria-label': 'Search event messages', on: { input: debounce(() => this.apply(), 150) } });
    this.problems = h('input', { type: 'checkbox', id: 'events-problems', on: { change: () => this.apply() } });
    this.older = h('button', { type: 'button', on: { click: () => this.loadOlder() } }, 'Load older');
    this.list = new EventList(store, { limit: 1000 });
    this.el = h('div', { class: 'view events-view' },
      h('section', { class: 'panel', 'aria-labelledby': 'events-heading' },
        h('div', { class: 'panel-head' }, h('h2', { id: 'events-heading' }, 'Events'),
          h('div', { class: 'toolbar' }, this.typeSelect, this.serviceSelect, this.search,
            h('label', { class: 'check' }, this.problems, ' Problems only'))),
        this.list.el,
        h('div', { class: 'panel-foot' }, this.older)));
    store.on('events', () => this.refreshOptions());
    store.on('services', () => this.refreshOptions());
    this.refreshOptions();
  }

  refreshOptions() {
    const fill = (select, values) => {
      const have = new Set([...select.options].map((o) => o.value));
      for (const v of [...values].sort()) if (v && !have.has(v)) select.append(h('option', { value: v }, v));
    };
    fill(this.typeSelect, new Set(this.store.events.map((e) => e.type)));
    fill(this.serviceSelect, new Set([...this.store.services.keys(), ...this.store.events.map((e) => e.service)]));
  }

  apply() {
    const type = this.typeSelect.value;
    const service = this.serviceSelect.value;
    const q = this.search.value.trim().toLowerCase();
    const problems = this.problems.checked;
    this.list.setPredicate((e) => (!type || e.type === type) && (!service || e.service === service)
      && (!q || `${e.message} ${e.instance} ${e.type}`.toLowerCase().includes(q))
      && (!problems || ['bad', 'warn'].includes(eventTone(e))));
  }

  async loadOlder() {
    const oldest = this.store.oldestEventSeq;
    if (oldest <= 1) {
      toast('That is the whole history.', 'info');
      return;
    }
    this.older.disabled = true;
    try {
      const since = Math.max(0, oldest - 501);
      const body = await api.events(since, 500);
      const n = this.store.addEvents((body?.events || []).filter((e) => e.seq < oldest), { older: true });
      if (!n) toast('No older events.', 'info');
    } catch (err) {
      toast(`Could not load older events: ${err.message}`, 'bad');
    } finally {
      this.older.disabled = false;
    }
  }
}
