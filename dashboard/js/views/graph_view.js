// The dependency graph view: the graph, a legend, and the list of root
// causes behind degraded services.

import { h, frameThrottle } from '../dom.js';
import { DependencyGraph, rootCauses } from '../graph.js';

export class GraphView {
  constructor(store) {
    this.store = store;
    this.graph = new DependencyGraph();
    this.causes = h('div', { class: 'causes', 'aria-live': 'polite' });
    const legendItem = (cls, text) => h('span', { class: 'legend-item' }, h('span', { class: `legend-swatch ${cls}`, 'aria-hidden': 'true' }), text);
    this.el = h('div', { class: 'view graph-view' },
      h('section', { class: 'panel', 'aria-labelledby': 'graph-heading' },
        h('div', { class: 'panel-head' }, h('h2', { id: 'graph-heading' }, 'Dependency graph'),
          h('div', { class: 'legend' },
            legendItem('ok', 'running, passing'), legendItem('info', 'starting / pending'), legendItem('warn', 'degraded / backoff'),
            legendItem('bad', 'failed / critical'), legendItem('muted', 'stopped / unknown'), legendItem('root', 'root cause'),
            h('span', { class: 'legend-item' }, h('span', { class: 'legend-line', 'aria-hidden': 'true' }), 'depends on'),
            h('span', { class: 'legend-item' }, h('span', { class: 'legend-line optional', 'aria-hidden': 'true' }), 'optional'))),
        this.causes,
        h('div', { class: 'graph-wrap' }, this.graph.el)));
    this.dirty = true;
    this.redraw = frameThrottle(() => this.render());
    store.on('services', () => {
      this.dirty = true;
      if (this.el.isConnected) this.redraw();
    });
  }

  show() {
    if (this.dirty) this.render();
  }

  render() {
    this.dirty = false;
    const services = [...this.store.services.values()];
    this.graph.update(services);
    const roots = [...rootCauses(services)];
    if (!roots.length) {
      this.causes.replaceChildren(h('p', { class: 'muted small' }, services.length ? 'No degraded service: every required dependency is healthy.' : 'Waiting for services…'));
      return;
    }
    this.causes.replaceChildren(...roots.map((r) => {
      const hit = services.filter((x) => x.degraded_by === r).map((x) => x.name);
      const svc = this.store.services.get(r);
      return h('p', { class: 'banner bad root-cause-note' }, 'Root cause: ', h('a', { href: `#/services/${encodeURIComponent(r)}` }, r),
        ` is ${svc ? `${svc.state}, ${svc.health}` : 'unknown'}; it degrades ${hit.join(', ')}.`);
    }));
  }
}
