// The dependency graph as SVG, without a library: services in columns by
// dependency depth (callers on the left, the services they depend on to the
// right), ordered within a column by the barycenter of their neighbours to
// cut crossings. Laid out again only when the topology changes; state
// changes only patch classes and labels.

import { s, setText, setAttr } from './dom.js';
import * as fmt from './format.js';

const NODE_W = 178;
const NODE_H = 46;
const COL_GAP = 86;
const ROW_GAP = 18;
const PAD = 16;

/** depth: 0 for a service with no dependencies, else 1 + the deepest dependency. */
export function depths(services) {
  const byName = new Map(services.map((x) => [x.name, x]));
  const memo = new Map();
  const visit = (name, stack) => {
    if (memo.has(name)) return memo.get(name);
    if (stack.has(name)) return 0; // a cycle (meshd rejects them; be safe)
    stack.add(name);
    let d = 0;
    for (const dep of byName.get(name)?.depends_on || []) if (byName.has(dep)) d = Math.max(d, 1 + visit(dep, stack));
    stack.delete(name);
    memo.set(name, d);
    return d;
  };
  for (const x of services) visit(x.name, new Set());
  return memo;
}

/** Columns of names, ordered to reduce edge crossings. */
export function layout(services) {
  const depth = depths(services);
  const max = Math.max(0, ...depth.values());
  const columns = Array.from({ length: max + 1 }, () => []);
  // Column 0 holds the top-level callers (the deepest), the last column the foundations.
  for (const x of [...services].sort((a, b) => a.name.localeCompare(b.name))) columns[max - depth.get(x.name)].push(x.name);
  const deps = new Map(services.map((x) => [x.name, (x.depends_on || []).filter((d) => depth.has(d))]));
  const users = new Map(services.map((x) => [x.name, []]));
  for (const [name, ds] of deps) for (const d of ds) users.get(d).push(name);
  const position = new Map();
  const index = () => columns.forEach((col) => col.forEach((n, i) => position.set(n, i / Math.max(1, col.length - 1))));
  index();
  const sweep = (cols, neighbours) => {
    for (const col of cols) {
      const bary = new Map(col.map((n, i) => {
        const ns = neighbours.get(n);
        return [n, ns.length ? ns.reduce((a, m) => a + position.get(m), 0) / ns.length : position.get(n) ?? i];
      }));
      col.sort((a, b) => bary.get(a) - bary.get(b) || a.localeCompare(b));
      col.forEach((n, i) => position.set(n, i / Math.max(1, col.length - 1)));
    }
  };
  for (let k = 0; k < 4; k++) {
    sweep(columns.slice(1), users); // left to right: follow the callers
    sweep(columns.slice(0, -1).reverse(), deps); // right to left: follow the dependencies
  }
  return { columns, deps };
}

/** Services that some degraded service names as its root cause. */
export function rootCauses(services) {
  const out = new Set();
  for (const x of services) if (x.degraded && x.degraded_by) out.add(x.degraded_by);
  return out;
}

export class DependencyGraph {
  constructor({ onOpen } = {}) {
    this.onOpen = onOpen;
    this.edgesGroup = s('g', { class: 'edges' });
    this.nodesGroup = s('g', { class: 'nodes' });
    // userSpaceOnUse: the same arrowhead whatever the edge's width.
    const marker = (id) => s('marker', { id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' },
      s('path', { d: 'M0,0 L10,5 L0,10 z' }));
    this.el = s('svg', { class: 'graph', role: 'group', 'aria-label': 'Dependency graph: each arrow points from a service to one it depends on' },
      s('defs', null, marker('arrow'), marker('arrow-bad')), this.edgesGroup, this.nodesGroup);
    this.nodes = new Map();
    this.edges = [];
    this.topology = '';
  }

  update(services) {
    const topology = JSON.stringify(services.map((x) => [x.name, x.depends_on || []]).sort((a, b) => (a[0] < b[0] ? -1 : 1)));
    if (topology !== this.topology) {
      this.topology = topology;
      this.build(services);
    }
    this.patch(services);
  }

  build(services) {
    const { columns, deps } = layout(services);
    const tallest = Math.max(1, ...columns.map((c) => c.length));
    const height = PAD * 2 + tallest * NODE_H + (tallest - 1) * ROW_GAP;
    const width = PAD * 2 + columns.length * NODE_W + Math.max(0, columns.length - 1) * COL_GAP;
    setAttr(this.el, 'viewBox', `0 0 ${width} ${height}`);
    setAttr(this.el, 'width', width);
    setAttr(this.el, 'height', height);
    const pos = new Map();
    columns.forEach((col, c) => {
      const colHeight = col.length * NODE_H + (col.length - 1) * ROW_GAP;
      const top = PAD + (height - 2 * PAD - colHeight) / 2;
      col.forEach((name, r) => pos.set(name, { x: PAD + c * (NODE_W + COL_GAP), y: top + r * (NODE_H + ROW_GAP) }));
    });
    this.nodesGroup.replaceChildren();
    this.edgesGroup.replaceChildren();
    this.nodes.clear();
    this.edges = [];
    const details = new Map(services.map((x) => [x.name, x.dependencies || []]));
    for (const [name, ds] of deps) {
      for (const d of ds) {
        const a = pos.get(name);
        const b = pos.get(d);
        const x1 = a.x + NODE_W;
        const y1 = a.y + NODE_H / 2;
        const x2 = b.x - 2;
        const y2 = b.y + NODE_H / 2;
        let path;
        if (x2 > x1) {
          const mx = (x1 + x2) / 2;
          path = `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`;
        } else {
          // Same or earlier column (not for depth layering, but be safe).
          path = `M${a.x + NODE_W / 2},${a.y + NODE_H} C${a.x + NODE_W / 2},${a.y + NODE_H + 40} ${b.x + NODE_W / 2},${b.y - 40} ${b.x + NODE_W / 2},${b.y}`;
        }
        const detail = details.get(name).find((x) => x.service === d);
        const optional = detail && detail.required === false;
        const el = s('path', { d: path, class: `edge${optional ? ' optional' : ''}`, 'marker-end': 'url(#arrow)', dataset: { from: name, to: d } });
        el.append(s('title', null, `${name} depends on ${d}${detail ? ` (${detail.condition}${optional ? ', optional' : ''})` : ''}`));
        this.edgesGroup.append(el);
        this.edges.push({ from: name, to: d, el, optional });
      }
    }
    for (const [name, p] of pos) {
      const title = s('text', { x: 12, y: 19, class: 'node-name' }, name.length > 22 ? `${name.slice(0, 21)}…` : name);
      const sub = s('text', { x: 12, y: 36, class: 'node-sub' });
      // The badge sits on the box's top edge, clear of the name.
      const badgeBg = s('rect', { class: 'node-badge-bg', x: NODE_W - 8, y: -7, width: 0, height: 13, rx: 3 });
      const badge = s('text', { x: NODE_W - 12, y: 3.5, class: 'node-badge', 'text-anchor': 'end' });
      const tip = s('title');
      const rect = s('rect', { width: NODE_W, height: NODE_H, rx: 6, class: 'node-box' });
      const stripe = s('rect', { width: 5, height: NODE_H, rx: 2, class: 'node-stripe' });
      const a = s('a', { href: `#/services/${encodeURIComponent(name)}`, class: 'node', transform: `translate(${p.x},${p.y})`, dataset: { service: name } },
        tip, rect, stripe, title, sub, badgeBg, badge);
      a.addEventListener('mouseenter', () => this.focusNode(name, true));
      a.addEventListener('mouseleave', () => this.focusNode(name, false));
      a.addEventListener('focus', () => this.focusNode(name, true));
      a.addEventListener('blur', () => this.focusNode(name, false));
      this.nodesGroup.append(a);
      this.nodes.set(name, { a, sub, badge, badgeBg, tip });
    }
  }

  focusNode(name, on) {
    this.el.classList.toggle('focusing', on);
    for (const e of this.edges) e.el.classList.toggle('lit', on && (e.from === name || e.to === name));
    for (const [n, node] of this.nodes) {
      const near = n === name || this.edges.some((e) => (e.from === name && e.to === n) || (e.to === name && e.from === n));
      node.a.classList.toggle('near', on && near);
    }
  }

  patch(services) {
    const byName = new Map(services.map((x) => [x.name, x]));
    const roots = rootCauses(services);
    for (const [name, node] of this.nodes) {
      const svc = byName.get(name);
      if (!svc) continue;
      const tone = fmt.serviceTone(svc);
      const root = roots.has(name);
      setAttr(node.a, 'class', `node ${tone}${svc.degraded ? ' degraded' : ''}${root ? ' root-cause' : ''}`);
      setAttr(node.a, 'data-state', svc.state);
      const total = svc.instances_total ?? (svc.instances || []).length;
      setText(node.sub, `${fmt.label(svc.state)} · ${svc.instances_passing ?? 0}/${total} passing`);
      const badge = root ? 'ROOT CAUSE' : svc.degraded ? 'DEGRADED' : '';
      if (node.badge.textContent !== badge) {
        setText(node.badge, badge);
        const w = badge ? badge.length * 7.4 + 10 : 0; // 9.5px bold spaced caps, no layout query
        setAttr(node.badgeBg, 'x', NODE_W - 8 - w);
        setAttr(node.badgeBg, 'width', w);
      }
      setText(node.tip, `${name}: ${svc.state}, ${svc.health}${svc.degraded_by ? `, degraded by ${svc.degraded_by}` : ''}${root ? ' — root cause of degraded services' : ''}`);
      setAttr(node.a, 'aria-label', `${name}, ${svc.state}, ${svc.health}${svc.degraded_by ? `, degraded by ${svc.degraded_by}` : ''}${root ? ', root cause' : ''}`);
    }
    for (const e of this.edges) {
      const from = byName.get(e.from);
      const to = byName.get(e.to);
      const toneTo = fmt.serviceTone(to);
      const onPath = from?.degraded && from.degraded_by && (e.to === from.degraded_by || to?.degraded_by === from.degraded_by);
      setAttr(e.el, 'class', `edge${e.optional ? ' optional' : ''}${toneTo === 'bad' ? ' bad' : ''}${onPath ? ' cause' : ''}`);
      setAttr(e.el, 'marker-end', toneTo === 'bad' || onPath ? 'url(#arrow-bad)' : 'url(#arrow)');
    }
  }
}
