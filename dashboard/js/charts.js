// Small live charts: an SVG sparkline over the last 15 minutes, redrawn by
// replacing one path's `d` (no DOM churn), at most once a second.

import { s } from './dom.js';

const W = 300;
const H = 56;

export class Sparkline {
  /**
   * key: the value to plot from each {t, ...} point; windowMs: the span;
   * max: a fixed top (e.g. 1 for ratios) or null to fit the data.
   */
  constructor({ key, windowMs = 15 * 60 * 1000, max = null, label = '' }) {
    this.key = key;
    this.windowMs = windowMs;
    this.max = max;
    this.area = s('path', { class: 'spark-area' });
    this.line = s('path', { class: 'spark-line', 'vector-effect': 'non-scaling-stroke' });
    this.grid = s('line', { class: 'spark-grid', x1: 0, x2: W, y1: H - 0.5, y2: H - 0.5, 'vector-effect': 'non-scaling-stroke' });
    this.el = s('svg', { class: 'spark', viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': label },
      this.grid, this.area, this.line);
  }

  /** Draws the points; the last value is carried to now (a flat line means "unchanged"). */
  update(points, now = Date.now()) {
    let start = now - this.windowMs;
    const pts = points.filter((p) => p.t >= start - 2000 && Number.isFinite(p[this.key]));
    // A young history spans the chart (at least a minute) instead of
    // huddling at the right edge of fifteen empty minutes.
    this.spanMs = pts.length ? Math.min(this.windowMs, Math.max(60000, now - pts[0].t)) : this.windowMs;
    start = now - this.spanMs;
    if (!pts.length) {
      this.line.setAttribute('d', '');
      this.area.setAttribute('d', '');
      this.el.classList.add('empty');
      return;
    }
    this.el.classList.remove('empty');
    let top = this.max ?? 0;
    if (this.max === null) for (const p of pts) top = Math.max(top, p[this.key]);
    if (top <= 0) top = 1;
    const x = (t) => Math.max(0, ((t - start) / this.spanMs) * W);
    const y = (v) => H - 2 - (Math.min(v, top) / top) * (H - 6);
    let d = '';
    pts.forEach((p, i) => {
      d += `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p[this.key]).toFixed(1)}`;
    });
    const last = pts[pts.length - 1];
    d += `L${W},${y(last[this.key]).toFixed(1)}`;
    this.line.setAttribute('d', d);
    this.area.setAttribute('d', `${d}L${W},${H}L${x(pts[0].t).toFixed(1)},${H}Z`);
  }
}

/** "last 15 minutes", "last 3 min": what a sparkline spans. */
export function spanLabel(ms) {
  if (!ms || ms >= 14.5 * 60000) return 'last 15 minutes';
  return `last ${Math.max(1, Math.round(ms / 60000))} min`;
}
