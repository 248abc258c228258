// Keeps the store live. Prefers the WebSocket (/ws, SPEC section 8); when
// it cannot connect but the REST API answers, polls REST every second and
// tries the WebSocket again now and then. When meshd is unreachable, says
// so and reconnects with exponential backoff, resuming from the last seq.

import { api, ApiError, getToken } from './api.js';

const BASE_TOPICS = ['services', 'health', 'breakers', 'events', 'metrics', 'nodes'];
const POLL_MS = 1000;
const WS_RETRY_WHILE_POLLING_MS = 15000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10000;
const PING_MS = 20000;

export class Stream {
  constructor(store) {
    this.store = store;
    this.ws = null;
    this.wsOpen = false;
    this.streamSeq = 0; // the last seq received over the WebSocket
    this.logTopics = new Map(); // service -> count of views that want its logs
    this.logSeq = new Map(); // service -> last log line seq (polling)
    this.logHandlers = new Map(); // service -> Set(fn(lines, {reset}))
    this.backoff = BACKOFF_MIN_MS;
    this.timers = {};
    this.pollInFlight = false;
    this.mode = null; // 'ws' | 'poll' | null
    this.nextRetryAt = 0;
  }

  start() {
    // localStorage 'meshd.transport' = 'poll' forces REST polling (behind a
    // proxy that breaks WebSockets, and for the tests of the fallback).
    try {
      this.forcePoll = localStorage.getItem('meshd.transport') === 'poll';
    } catch {
      this.forcePoll = false;
    }
    if (this.forcePoll) this.store.features.ws = false;
    this.connect();
    // The indicator counts down to the next attempt.
    setInterval(() => {
      if (this.store.connection.state === 'down' && this.nextRetryAt) {
        const s = Math.max(0, Math.ceil((this.nextRetryAt - Date.now()) / 1000));
        this.store.setConnection('down', null, s > 0 ? `retrying in ${s}s` : 'retrying…');
      }
    }, 500);
    addEventListener('online', () => this.retryNow());
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && this.store.connection.state === 'down') this.retryNow();
    });
  }

  retryNow() {
    clearTimeout(this.timers.reconnect);
    this.backoff = BACKOFF_MIN_MS;
    this.connect();
  }

  // --- logs ----------------------------------------------------------------

  /** Calls fn(lines, {reset}) with new log lines of `service` until the returned function is called. */
  watchLogs(service, fn) {
    if (!this.logHandlers.has(service)) this.logHandlers.set(service, new Set());
    this.logHandlers.get(service).add(fn);
    const count = (this.logTopics.get(service) || 0) + 1;
    this.logTopics.set(service, count);
    if (count === 1) {
      this.logSeq.delete(service);
      if (this.wsOpen) this.send({ op: 'subscribe', topics: [`logs:${service}`] });
    }
    // The tail so far comes from REST at once, whatever the transport; views
    // drop lines they already have by seq.
    this.pollLogs(service).catch(() => {});
    return () => {
      this.logHandlers.get(service)?.delete(fn);
      const left = (this.logTopics.get(service) || 1) - 1;
      if (left > 0) return this.logTopics.set(service, left);
      this.logTopics.delete(service);
      this.logHandlers.delete(service);
      if (this.wsOpen) this.send({ op: 'unsubscribe', topics: [`logs:${service}`] });
    };
  }

  deliverLogs(service, lines, opts = {}) {
    for (const fn of this.logHandlers.get(service) || []) fn(lines, opts);
  }

  // --- connecting ------------------------------------------------------------

  connect() {
    clearTimeout(this.timers.reconnect);
    if (this.store.features.ws === false && this.mode === null) {
      // /ws is known to be missing: go straight to polling and retry it later.
      return this.fallBackToPolling();
    }
    this.openWebSocket();
  }

  wsUrl() {
    // Browsers cannot set headers on a WebSocket: with mesh.auth_reads the
    // token goes in the query (docs/websocket.md).
    const token = getToken();
    return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws${token ? `?token=${encodeURIComponent(token)}` : ''}`;
  }

  openWebSocket() {
    if (this.ws) return;
    if (this.forcePoll) return this.fallBackToPolling();
    const url = this.wsUrl();
    let ws;
    try {
      ws = new WebSocket(url);
    } catch {
      return this.fallBackToPolling();
    }
    this.ws = ws;
    let opened = false;
    ws.addEventListener('open', () => {
      opened = true;
      this.wsOpen = true;
      this.mode = 'ws';
      this.store.features.ws = true;
      this.stopPolling();
      clearTimeout(this.timers.wsRetry);
      this.backoff = BACKOFF_MIN_MS;
      this.nextRetryAt = 0;
      const topics = [...BASE_TOPICS, ...[...this.logTopics.keys()].map((s) => `logs:${s}`)];
      const msg = { op: 'subscribe', topics };
      if (this.streamSeq > 0) msg.since = this.streamSeq;
      this.send(msg);
      this.store.setConnection('live', 'ws', this.streamSeq > 0 ? `resumed after seq ${this.streamSeq}` : '');
      // Events persist in SQLite: fill any gap the socket's snapshot leaves.
      this.catchUpEvents();
      clearInterval(this.timers.ping);
      this.timers.ping = setInterval(() => this.send({ op: 'ping' }), PING_MS);
    });
    ws.addEventListener('message', (e) => this.onMessage(e.data));
    ws.addEventListener('close', (e) => {
      this.ws = null;
      this.wsOpen = false;
      clearInterval(this.timers.ping);
      if (opened) {
        // A live stream dropped (meshd restarting, or 1008: we fell behind).
        this.mode = null;
        this.store.setConnection('down', null, e.code === 1008 ? 'too slow, reconnecting' : 'reconnecting…');
        this.scheduleReconnect(e.code === 1008 ? 0 : undefined);
      } else {
        this.fallBackToPolling();
      }
    });
  }

  /** The WebSocket did not open: does REST answer? Then poll; else meshd is down. */
  async fallBackToPolling() {
    if (this.mode === 'poll') return;
    try {
      await this.pollOnce();
    } catch (err) {
      return this.onUnreachable(err);
    }
    this.mode = 'poll';
    if (this.store.features.ws !== true) this.store.features.ws = false;
    this.backoff = BACKOFF_MIN_MS;
    this.nextRetryAt = 0;
    this.store.setConnection('live', 'poll', '');
    this.schedulePoll();
    clearTimeout(this.timers.wsRetry);
    this.timers.wsRetry = setTimeout(() => this.tryUpgrade(), WS_RETRY_WHILE_POLLING_MS);
  }

  // While polling, knock on /ws now and then; when it opens, polling stops.
  tryUpgrade() {
    if (this.mode !== 'poll' || this.ws || this.forcePoll) return;
    const probe = new WebSocket(this.wsUrl());
    probe.addEventListener('open', () => {
      probe.close();
      this.stopPolling();
      this.mode = null;
      this.openWebSocket();
    });
    probe.addEventListener('error', () => {
      this.timers.wsRetry = setTimeout(() => this.tryUpgrade(), WS_RETRY_WHILE_POLLING_MS);
    });
  }

  onUnreachable(err) {
    this.mode = null;
    this.stopPolling();
    if (err instanceof ApiError && err.status === 401) {
      this.store.setConnection('auth', null, 'the API token is missing or wrong');
    } else {
      this.store.setConnection('down', null, 'reconnecting…');
    }
    this.scheduleReconnect();
  }

  scheduleReconnect(delay) {
    clearTimeout(this.timers.reconnect);
    const wait = delay ?? Math.round(this.backoff * (0.8 + Math.random() * 0.4));
    this.backoff = Math.min(BACKOFF_MAX_MS, this.backoff * 2);
    this.nextRetryAt = Date.now() + wait;
    this.timers.reconnect = setTimeout(() => this.openWebSocket(), wait);
  }

  send(msg) {
    if (this.ws && this.wsOpen) this.ws.send(JSON.stringify(msg));
  }

  // --- polling -----------------------------------------------------------------

  schedulePoll() {
    clearTimeout(this.timers.poll);
    this.timers.poll = setTimeout(async () => {
      if (this.mode !== 'poll') return;
      try {
        await this.pollOnce();
        if (this.store.connection.state !== 'live') this.store.setConnection('live', 'poll', '');
        this.schedulePoll();
      } catch (err) {
        this.onUnreachable(err);
      }
    }, POLL_MS);
  }

  stopPolling() {
    clearTimeout(this.timers.poll);
    clearTimeout(this.timers.wsRetry);
  }

  async pollOnce() {
    if (this.pollInFlight) return;
    this.pollInFlight = true;
    try {
      const [services, health] = await Promise.all([api.services(), api.health()]);
      this.store.replaceServices(services?.services || []);
      this.store.setHealth(health);
      await this.catchUpEvents();
      if (this.store.features.breakers !== false && !this.breakersPolledAt) await this.pollBreakers();
      await this.pollNodes();
      for (const service of this.logTopics.keys()) await this.pollLogs(service);
    } finally {
      this.pollInFlight = false;
    }
  }

  async pollBreakers() {
    this.breakersPolledAt = Date.now();
    try {
      const body = await api.breakers();
      const list = Array.isArray(body) ? body : body?.breakers || [];
      for (const b of list) this.store.updateBreaker(b);
      this.store.features.breakers = true;
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 405)) this.store.features.breakers = false;
      else throw err;
    } finally {
      // Breakers change on traffic, not on service state: every 2 s is plenty.
      setTimeout(() => (this.breakersPolledAt = 0), 2000);
    }
  }

  async pollNodes() {
    if (this.store.features.nodes === false) return;
    try {
      this.store.setNodes(await api.nodes());
      this.store.features.nodes = true;
    } catch (err) {
      // A meshd from before cluster mode has no /api/v1/nodes.
      if (err instanceof ApiError && err.status === 404) this.store.features.nodes = false;
      else throw err;
    }
  }

  /** Events after the last one we have, from the persisted history. */
  async catchUpEvents() {
    let since = this.store.lastEventSeq;
    if (!since) {
      // First load: the newest 300, not the oldest.
      const head = await api.events(0, 1);
      since = Math.max(0, (head?.last_seq || 0) - 300);
    }
    for (let i = 0; i < 10; i++) {
      const body = await api.events(since, 500);
      const list = body?.events || [];
      this.store.addEvents(list);
      if (list.length < 500) {
        if (body?.last_seq !== undefined && body.last_seq < this.store.lastEventSeq) {
          // meshd's history was reset (a new data_dir): start over from its seq.
          this.store.lastEventSeq = body.last_seq;
        }
        break;
      }
      since = list[list.length - 1].seq;
    }
  }

  async pollLogs(service) {
    let body;
    try {
      body = await api.logs(service, 300);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return;
      throw err;
    }
    const lines = body?.lines || [];
    const last = this.logSeq.get(service);
    const maxSeq = lines.length ? lines[lines.length - 1].seq : 0;
    if (last === undefined || maxSeq < last) {
      // First look, or meshd restarted and its line numbers started over.
      this.logSeq.set(service, maxSeq);
      this.deliverLogs(service, lines, { reset: last === undefined, restarted: last !== undefined });
      return;
    }
    const fresh = lines.filter((l) => l.seq > last);
    if (fresh.length) {
      this.logSeq.set(service, maxSeq);
      this.deliverLogs(service, fresh, {});
    }
  }

  // --- WebSocket messages ----------------------------------------------------------

  onMessage(raw) {
    let msg;
    try {
      msg = JSON.parse(raw);
    } catch {
      return;
    }
    if (typeof msg.seq === 'number' && msg.seq > this.streamSeq) this.streamSeq = msg.seq;
    const type = msg.type;
    if (type === 'pong') return;
    if (type === 'error') {
      console.warn('meshd /ws error', msg.error);
      return;
    }
    const snapshot = type === 'snapshot';
    const topic = snapshot ? msg.topic : type;
    const data = msg.data;
    if (!topic) return;
    if (topic === 'services') {
      if (snapshot) this.store.replaceServices(Array.isArray(data) ? data : data?.services || []);
      else if (data === null && msg.key) this.store.updateService({ name: msg.key, removed: true });
      else this.store.updateService(data);
    } else if (topic === 'health') {
      this.store.setHealth(data);
    } else if (topic === 'events') {
      if (msg.key === 'gap' || (snapshot && data && !Array.isArray(data) && !data.events)) {
        // A gap in the replay (or a snapshot that only says where history
        // ends): the persisted history fills it.
        this.catchUpEvents().catch(() => {});
        return;
      }
      const list = Array.isArray(data) ? data : data?.events ? data.events : data ? [data] : [];
      this.store.addEvents(list);
    } else if (topic === 'nodes') {
      // The snapshot and every publish carry the whole nodes body.
      this.store.setNodes(data);
    } else if (topic === 'breakers') {
      const list = Array.isArray(data) ? data : data?.breakers ? data.breakers : data ? [data] : [];
      for (const b of list) this.store.updateBreaker(b);
    } else if (topic === 'metrics') {
      if (snapshot && Array.isArray(data)) {
        for (const point of data) this.store.addMetrics(point.data || point, null, point.t || point.time_ms || Date.now());
      } else this.store.addMetrics(data, msg.key);
    } else if (topic.startsWith('logs:')) {
      const service = topic.slice(5);
      if (snapshot) {
        const lines = Array.isArray(data) ? data : data?.lines || [];
        this.deliverLogs(service, lines, { reset: true });
      } else if (data && typeof data.dropped === 'number') {
        this.deliverLogs(service, [], { dropped: data.dropped });
      } else if (data) {
        this.deliverLogs(service, Array.isArray(data) ? data : [data], {});
      }
    }
  }
}
