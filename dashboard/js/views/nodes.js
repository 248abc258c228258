// The cluster's nodes (GET /api/v1/nodes, live through the `nodes` topic):
// which meshd nodes share the catalog, where each is reached, its version
// and state, how many instances it owns, and when it was last heard from.
// A single node shows itself alone.

import { h, setText, setAttr, setClass } from '../dom.js';
import * as fmt from '../format.js';

const NODE_TONE = { alive: 'ok', lost: 'bad', left: 'muted' };
const COLUMNS = ['Node', 'Address', 'API address', 'Version', 'State', 'Instances', 'Last seen', 'Started'];

export class NodesView {
  constructor(store) {
    this.store = store;
    this.rows = new Map(); // name -> {tr, cells}
    this.summary = h('p', { class: 'muted', id: 'nodes-summary', 'aria-live': 'polite' });
    this.body = h('tbody');
    this.el = h('div', { class: 'view nodes-view' },
      h('section', { class: 'panel', 'aria-labelledby': 'nodes-heading' },
        h('div', { class: 'panel-head' }, h('h2', { id: 'nodes-heading' }, 'Nodes')),
        this.summary,
        h('div', { class: 'table-wrap' },
          h('table', { class: 'grid nodes', id: 'nodes-table' },
            h('thead', null, h('tr', null, COLUMNS.map((t) => h('th', { scope: 'col', class: t === 'Instances' ? 'num' : '' }, t)))),
            this.body))));
    store.on('nodes', () => this.render());
    // "Last seen" counts up between updates.
    const timer = setInterval(() => {
      if (!document.hidden && this.el.isConnected) this.tick();
    }, 1000);
    this.stop = () => clearInterval(timer);
    this.render();
  }

  render() {
    const { nodes, stale, clustered, loaded } = this.store.nodes;
    if (!loaded) setText(this.summary, 'Loading…');
    else if (!clustered) setText(this.summary, 'A single node: no mesh.cluster in the config, so this meshd shares its catalog with nobody (docs/cluster.md).');
    else {
      const alive = nodes.filter((n) => n.state === 'alive').length;
      setText(this.summary, `${nodes.length} node${nodes.length === 1 ? '' : 's'} in the cluster, ${alive} alive${stale ? '; the catalog is unreachable, so this is the last known state' : ''}.`);
    }
    const seen = new Set();
    for (const node of nodes) {
      seen.add(node.name);
      let row = this.rows.get(node.name);
      if (!row) {
        row = this.createRow(node);
        this.rows.set(node.name, row);
      }
      this.patchRow(row, node);
    }
    for (const [name, row] of this.rows) {
      if (!seen.has(name)) {
        row.tr.remove();
        this.rows.delete(name);
      }
    }
    const want = nodes.map((n) => this.rows.get(n.name).tr);
    const have = this.body.children;
    if (want.length !== have.length || want.some((node, i) => have[i] !== node)) this.body.append(...want);
  }

  createRow(node) {
    const td = (cls) => h('td', { class: cls || '' });
    const row = {
      tr: h('tr', { dataset: { node: node.name } }),
      name: h('span', { class: 'mono' }), self: h('span', { class: 'tag self-tag', title: 'The meshd serving this page' }, 'this node'),
      address: td('mono'), api: td('mono'), version: td('mono'), state: h('span', { class: 'pill' }),
      instances: td('num'), lastSeen: td('num'), started: td('num'),
    };
    row.tr.append(h('th', { scope: 'row' }, row.name, ' ', row.self), row.address, row.api, row.version,
      h('td', null, row.state), row.instances, row.lastSeen, row.started);
    return row;
  }

  patchRow(row, node) {
    row.last = node;
    setAttr(row.tr, 'data-state', node.state);
    setAttr(row.tr, 'data-self', node.self ? 'true' : 'false');
    setText(row.name, node.name);
    row.self.hidden = !node.self;
    setText(row.address, node.address || '—');
    setText(row.api, node.api_address || '—');
    setText(row.version, node.version || '—');
    setText(row.state, node.state || 'unknown');
    setClass(row.state, `pill ${NODE_TONE[node.state] || 'muted'}`);
    setText(row.instances, node.instances ?? 0);
    this.patchTimes(row, node);
  }

  patchTimes(row, node) {
    // The node serving this page is answering it: it is seen now.
    setText(row.lastSeen, node.self ? 'now' : fmt.ago(node.last_seen));
    row.lastSeen.title = node.last_seen ? fmt.dateTime(node.last_seen) : '';
    setText(row.started, node.started_at ? fmt.ago(node.started_at) : '—');
    row.started.title = node.started_at ? fmt.dateTime(node.started_at) : '';
  }

  tick() {
    for (const row of this.rows.values()) if (row.last) this.patchTimes(row, row.last);
  }
}
