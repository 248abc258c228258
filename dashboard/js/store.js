// The page's one copy of meshd's state, fed by the stream (WebSocket or
// REST polling). Views subscribe to topics and receive what changed, so
// they patch only the affected nodes.

const HISTORY_MS = 15 * 60 * 1000;
const MAX_EVENTS = 2000;

class Emitter {
  constructor() {
    this.handlers = new Map();
  }
  on(topic, fn) {
    if (!this.handlers.has(topic)) this.handlers.set(topic, new Set());
    this.handlers.get(topic).add(fn);
    return () => this.handlers.get(topic)?.delete(fn);
  }
  emit(topic, payload) {
    for (const fn of this.handlers.get(topic) || []) {
      try {
        fn(payload);
      } catch (err) {
        console.error(`meshd dashboard: a ${topic} handler failed`, err);
      }
    }
  }
}

/** A time series of {t, ...values} trimmed to the last 15 minutes. */
export class Series {
  constructor(windowMs = HISTORY_MS) {
    this.windowMs = windowMs;
    this.points = [];
  }
  push(point) {
    const last = this.points[this.points.length - 1];
    if (last && point.t - last.t < 250) this.points[this.points.length - 1] = point; // coalesce bursts
    else this.points.push(point);
    const cutoff = point.t - this.windowMs;
    let drop = 0;
    while (drop < this.points.length && this.points[drop].t < cutoff) drop++;
    if (drop) this.points.splice(0, drop);
  }
  latest() {
    return this.points[this.points.length - 1];
  }
}

function fingerprint(svc) {
  return JSON.stringify(svc);
}

export class Store extends Emitter {
  constructor() {
    super();
    this.services = new Map(); // name -> service object (SPEC section 5)
    this.fingerprints = new Map();
    this.health = null;
    this.events = []; // ascending seq
    this.eventSeqs = new Set();
    this.lastEventSeq = 0;
    this.oldestEventSeq = 0;
    this.metrics = { gateway: new Series(), services: new Map(), seen: false };
    this.instanceHistory = new Series(); // {t, passing, total}: works without gateway metrics
    this.connection = { state: 'connecting', mode: null, detail: '' };
    this.features = { ws: null, breakers: null, metrics: false, tests: null };
    this.loaded = false;
    // GET /api/v1/nodes (or the nodes topic): the cluster's nodes, and
    // whether the shared catalog is reachable.
    this.nodes = { nodes: [], stale: false, clustered: false, loaded: false };
  }

  // --- nodes --------------------------------------------------------------

  /** The nodes body: {nodes: [...], stale, clustered}. */
  setNodes(body) {
    if (!body || !Array.isArray(body.nodes)) return;
    const next = { nodes: body.nodes, stale: Boolean(body.stale), clustered: Boolean(body.clustered), loaded: true };
    if (JSON.stringify(next) === JSON.stringify(this.nodes)) return;
    const staleChanged = next.stale !== this.nodes.stale;
    this.nodes = next;
    this.emit('nodes', { staleChanged });
  }

  // --- services -----------------------------------------------------------

  /** A full list (REST poll or WebSocket snapshot): adds, patches, removes. */
  replaceServices(list) {
    const seen = new Set();
    const changed = [];
    for (const svc of list) {
      seen.add(svc.name);
      if (this.putService(svc)) changed.push(svc.name);
    }
    const removed = [];
    for (const name of [...this.services.keys()]) {
      if (!seen.has(name)) {
        this.services.delete(name);
        this.fingerprints.delete(name);
        removed.push(name);
      }
    }
    this.loaded = true;
    this.sampleInstances();
    if (changed.length || removed.length || !this.emittedOnce) {
      this.emittedOnce = true;
      this.emit('services', { changed, removed, full: true });
    }
  }

  /** One service object (WebSocket delta). */
  updateService(svc) {
    if (!svc || !svc.name) return;
    if (svc.removed || svc.deleted) {
      if (this.services.delete(svc.name)) {
        this.fingerprints.delete(svc.name);
        this.emit('services', { changed: [], removed: [svc.name] });
      }
      return;
    }
    if (this.putService(svc)) {
      this.sampleInstances();
      this.emit('services', { changed: [svc.name], removed: [] });
    }
  }

  putService(svc) {
    const fp = fingerprint(svc);
    if (this.fingerprints.get(svc.name) === fp) return false;
    // Keep fields the other feeds fill (breaker state from the breakers topic)
    // when a newer service object does not carry them.
    const prev = this.services.get(svc.name);
    if (prev && Array.isArray(svc.instances)) {
      for (const inst of svc.instances) {
        const old = prev.instances?.find((i) => i.id === inst.id);
        if (old && inst.breaker === undefined && old.breaker !== undefined) inst.breaker = old.breaker;
      }
    }
    this.fingerprints.set(svc.name, fp);
    this.services.set(svc.name, svc);
    return true;
  }

  sampleInstances() {
    let passing = 0;
    let total = 0;
    for (const svc of this.services.values()) {
      passing += svc.instances_passing ?? (svc.instances || []).filter((i) => i.health === 'passing').length;
      total += svc.instances_total ?? (svc.instances || []).length;
    }
    this.instanceHistory.push({ t: Date.now(), passing, total });
  }

  /** Breaker state for one instance (breakers topic or GET /api/v1/breakers). */
  updateBreaker(entry) {
    if (!entry) return;
    const service = entry.service;
    const id = entry.instance ?? entry.id;
    const state = entry.state ?? entry.breaker;
    const svc = this.services.get(service);
    if (!svc || !id || !state) return;
    const inst = (svc.instances || []).find((i) => i.id === id);
    if (!inst || (inst.breaker === state && JSON.stringify(inst.breaker_detail) === JSON.stringify(entry))) return;
    inst.breaker = state;
    inst.breaker_detail = entry;
    this.fingerprints.set(service, fingerprint(svc));
    this.features.breakers = true;
    this.emit('services', { changed: [service], removed: [] });
  }

  setHealth(body) {
    if (!body) return;
    const same = JSON.stringify(body) === JSON.stringify(this.health);
    this.health = body;
    if (!same) this.emit('health', body);
  }

  // --- events -------------------------------------------------------------

  /** Adds events (any order, duplicates ignored); returns how many were new. */
  addEvents(list, { older = false } = {}) {
    const fresh = [];
    for (const e of list || []) {
      if (!e || e.seq === undefined || this.eventSeqs.has(e.seq)) continue;
      this.eventSeqs.add(e.seq);
      fresh.push(e);
    }
    if (!fresh.length) return 0;
    fresh.sort((a, b) => a.seq - b.seq);
    const ascending = !this.events.length || fresh[0].seq > this.events[this.events.length - 1].seq;
    if (ascending) this.events.push(...fresh);
    else {
      this.events.push(...fresh);
      this.events.sort((a, b) => a.seq - b.seq);
    }
    if (this.events.length > MAX_EVENTS && !older) {
      for (const e of this.events.splice(0, this.events.length - MAX_EVENTS)) this.eventSeqs.delete(e.seq);
    }
    this.lastEventSeq = Math.max(this.lastEventSeq, this.events[this.events.length - 1].seq);
    this.oldestEventSeq = this.events[0].seq;
    this.emit('events', { added: fresh, older, reordered: !ascending });
    return fresh.length;
  }

  // --- metrics ------------------------------------------------------------

  /**
   * A metrics summary: {services: {name: {rps, error_rate, p99_ms}}, gateway?: {...}}
   * or directly {name: {...}}, or one service's summary with `key`.
   */
  addMetrics(data, key, t = Date.now()) {
    if (!data || typeof data !== 'object') return;
    let perService = data.services && typeof data.services === 'object' ? data.services : null;
    if (!perService && key && typeof data.rps === 'number') perService = { [key]: data };
    if (!perService && !('rps' in data)) perService = data;
    let total = data.gateway || data.total || null;
    if (perService) {
      let rps = 0;
      let errors = 0;
      let p99 = 0;
      let any = false;
      for (const [name, m] of Object.entries(perService)) {
        if (!m || typeof m !== 'object' || (m.rps === undefined && m.p99_ms === undefined)) continue;
        any = true;
        if (!this.metrics.services.has(name)) this.metrics.services.set(name, new Series());
        this.metrics.services.get(name).push({ t, rps: m.rps ?? 0, error_rate: m.error_rate ?? 0, p99_ms: m.p99_ms ?? null });
        rps += m.rps || 0;
        errors += (m.rps || 0) * (m.error_rate || 0);
        p99 = Math.max(p99, m.p99_ms || 0);
      }
      if (!total && any) total = { rps, error_rate: rps > 0 ? errors / rps : 0, p99_ms: p99 };
    } else if (!total && 'rps' in data) total = data;
    if (total) {
      this.metrics.gateway.push({ t, rps: total.rps ?? 0, error_rate: total.error_rate ?? 0, p99_ms: total.p99_ms ?? null });
      this.metrics.seen = true;
      this.features.metrics = true;
    }
    this.emit('metrics', { t });
  }

  // --- connection ---------------------------------------------------------

  setConnection(state, mode, detail = '') {
    const c = this.connection;
    if (c.state === state && c.mode === mode && c.detail === detail) return;
    this.connection = { state, mode, detail, since: Date.now() };
    this.emit('connection', this.connection);
  }

  /** Services that name `name` among their depends_on. */
  dependents(name) {
    const out = [];
    for (const svc of this.services.values()) if ((svc.depends_on || []).includes(name)) out.push(svc.name);
    return out.sort();
  }
}

export const store = new Store();
