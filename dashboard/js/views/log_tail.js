// Live log tail of one service: stdout/stderr toggle, instance filter,
// pause (lines keep arriving and are counted), search that filters and
// highlights, follow-the-end unless the user scrolled up.

import { h, setText, frameThrottle } from '../dom.js';
import * as fmt from '../format.js';

const MAX_LINES = 2000;

export class LogTail {
  constructor(stream, service) {
    this.stream = stream;
    this.service = service;
    this.lines = [];
    this.lastSeq = -1;
    this.stream_ = 'all';
    this.instance = 'all';
    this.query = '';
    this.paused = false;
    this.pending = 0;
    this.follow = true;
    this.queue = [];

    const seg = (value, text) =>
      h('button', { type: 'button', class: 'seg', 'aria-pressed': String(value === 'all'), dataset: { stream: value }, on: { click: () => this.setStream(value) } }, text);
    this.segButtons = [seg('all', 'All'), seg('stdout', 'stdout'), seg('stderr', 'stderr')];
    this.instanceSelect = h('select', { 'aria-label': 'Instance', on: { change: () => { this.instance = this.instanceSelect.value; this.rerender(); } } },
      h('option', { value: 'all' }, 'All instances'));
    this.pauseButton = h('button', { type: 'button', class: 'pause', 'aria-pressed': 'false', on: { click: () => this.togglePause() } }, 'Pause');
    this.search = h('input', { type: 'search', placeholder: 'Search logs', 'aria-label': 'Search logs', class: 'log-search',
      on: { input: () => { this.query = this.search.value.toLowerCase(); this.rerender(); } } });
    this.status = h('span', { class: 'muted small log-status', 'aria-live': 'polite' });
    this.view = h('div', { class: 'log-view', role: 'log', 'aria-label': `${service} logs`, tabindex: '0',
      on: { scroll: () => { this.follow = this.view.scrollTop + this.view.clientHeight >= this.view.scrollHeight - 8; } } });
    this.el = h('section', { class: 'panel logs', 'aria-labelledby': 'logs-heading' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'logs-heading' }, 'Logs'),
        h('div', { class: 'toolbar' }, h('div', { class: 'segmented', role: 'group', 'aria-label': 'Stream' }, this.segButtons),
          this.instanceSelect, this.search, this.pauseButton, this.status)),
      this.view);
    this.flush = frameThrottle(() => this.appendQueued());
    this.unwatch = stream.watchLogs(service, (lines, opts) => this.receive(lines, opts));
  }

  setInstances(ids) {
    const have = new Set([...this.instanceSelect.options].map((o) => o.value));
    for (const id of ids) if (!have.has(id)) this.instanceSelect.append(h('option', { value: id }, id));
  }

  receive(lines, { reset, restarted, dropped }) {
    if (dropped) {
      this.lines.push({ marker: true, line: `… ${dropped} lines dropped (the dashboard fell behind)` });
      this.rerender();
      return;
    }
    if (restarted) {
      this.lines.push({ marker: true, line: '— meshd restarted —' });
      this.lastSeq = -1;
    }
    if (reset && !restarted) {
      // A fresh tail (first load or a snapshot): keep what we have, add what is newer.
      lines = lines.filter((l) => l.seq > this.lastSeq);
    } else if (!restarted) {
      lines = lines.filter((l) => typeof l.seq !== 'number' || l.seq > this.lastSeq);
    }
    if (!lines.length) {
      this.updateStatus();
      return;
    }
    for (const l of lines) if (typeof l.seq === 'number') this.lastSeq = Math.max(this.lastSeq, l.seq);
    this.lines.push(...lines);
    const excess = this.lines.length - MAX_LINES;
    if (excess > 0) this.lines.splice(0, excess);
    this.setInstances([...new Set(lines.map((l) => l.instance).filter(Boolean))]);
    if (this.paused) {
      this.pending += lines.length;
      this.updateStatus();
      return;
    }
    this.queue.push(...lines);
    this.flush();
  }

  visible(l) {
    if (l.marker) return true;
    if (this.stream_ !== 'all' && l.stream !== this.stream_) return false;
    if (this.instance !== 'all' && l.instance !== this.instance) return false;
    if (this.query && !String(l.line).toLowerCase().includes(this.query)) return false;
    return true;
  }

  lineEl(l) {
    if (l.marker) return h('div', { class: 'log-line marker' }, l.line);
    const text = h('span', { class: 'log-text' });
    const line = String(l.line ?? '');
    if (this.query) {
      let i = 0;
      const lower = line.toLowerCase();
      for (let at = lower.indexOf(this.query); at >= 0; at = lower.indexOf(this.query, i)) {
        text.append(line.slice(i, at), h('mark', null, line.slice(at, at + this.query.length)));
        i = at + this.query.length;
      }
      text.append(line.slice(i));
    } else text.textContent = line;
    return h('div', { class: `log-line ${l.stream === 'stderr' ? 'stderr' : ''}`, dataset: { seq: l.seq ?? '' } },
      h('span', { class: 'log-time' }, fmt.clock(l.time_ms)),
      h('span', { class: 'log-inst' }, l.instance || ''),
      text);
  }

  appendQueued() {
    // A frame queued just before Pause must not move the frozen view.
    if (this.paused) return;
    const frag = document.createDocumentFragment();
    for (const l of this.queue) if (this.visible(l)) frag.append(this.lineEl(l));
    this.queue = [];
    this.view.append(frag);
    while (this.view.childElementCount > MAX_LINES) this.view.firstElementChild.remove();
    if (this.follow) this.view.scrollTop = this.view.scrollHeight;
    this.updateStatus();
  }

  rerender() {
    this.queue = [];
    const frag = document.createDocumentFragment();
    for (const l of this.lines) if (this.visible(l)) frag.append(this.lineEl(l));
    this.view.replaceChildren(frag);
    if (this.follow) this.view.scrollTop = this.view.scrollHeight;
    this.updateStatus();
  }

  setStream(value) {
    this.stream_ = value;
    for (const b of this.segButtons) b.setAttribute('aria-pressed', String(b.dataset.stream === value));
    this.rerender();
  }

  togglePause() {
    this.paused = !this.paused;
    this.pauseButton.setAttribute('aria-pressed', String(this.paused));
    if (this.paused) {
      // Lines waiting for the next frame count as arrived while paused.
      this.pending += this.queue.length;
      this.queue = [];
    } else {
      this.pending = 0;
      this.rerender();
    }
    this.updateStatus();
  }

  updateStatus() {
    setText(this.pauseButton, this.paused ? (this.pending ? `Resume (${this.pending} new)` : 'Resume') : 'Pause');
    setText(this.status, `${this.view.childElementCount} lines shown${this.paused ? ' · paused' : ''}`);
    this.view.classList.toggle('paused', this.paused);
  }

  destroy() {
    this.unwatch();
  }
}
