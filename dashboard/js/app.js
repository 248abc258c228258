// The dashboard's entry point: wires the store, the stream and the views,
// routes on the URL hash (#/, #/services/<name>, #/graph, #/events, #/tests,
// #/nodes) and keeps the header's health and connection indicators, the
// stale-catalog banner and the config-differs-from-file note current.

import { store } from './store.js';
import { Stream } from './stream.js';
import { setupChrome } from './ui.js';
import { setText, setClass } from './dom.js';
import { OverviewView } from './views/overview.js';
import { ServiceView } from './views/service.js';
import { GraphView } from './views/graph_view.js';
import { EventsView } from './views/events.js';
import { TestsView } from './views/tests.js';
import { NodesView } from './views/nodes.js';
import { configDriftBanner } from './config_drift.js';

const main = document.getElementById('main');
const stream = new Stream(store);
const views = {};
let current = null;
let serviceView = null;

function view(name) {
  if (!views[name]) {
    if (name === 'overview') views[name] = new OverviewView(store);
    if (name === 'graph') views[name] = new GraphView(store);
    if (name === 'events') views[name] = new EventsView(store);
    if (name === 'tests') views[name] = new TestsView(store);
    if (name === 'nodes') views[name] = new NodesView(store);
  }
  return views[name];
}

function route() {
  const hash = decodeURIComponent(location.hash.replace(/^#/, '')) || '/';
  const parts = hash.split('/').filter(Boolean);
  let name = 'overview';
  let target;
  if (parts[0] === 'services' && parts[1]) {
    name = 'service';
    if (!serviceView || serviceView.name !== parts[1]) {
      serviceView?.destroy();
      serviceView = new ServiceView(store, stream, parts[1]);
    }
    target = serviceView;
  } else {
    if (serviceView) {
      serviceView.destroy();
      serviceView = null;
    }
    if (['graph', 'events', 'tests', 'nodes'].includes(parts[0])) name = parts[0];
    target = view(name);
  }
  if (current !== target) {
    main.replaceChildren(target.el);
    current = target;
    target.show?.();
    window.scrollTo(0, 0);
  }
  document.body.dataset.view = name;
  for (const a of document.querySelectorAll('.tabs a')) {
    const active = a.dataset.route === name || (name === 'service' && a.dataset.route === 'overview');
    if (active) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = name === 'service' ? `${parts[1]} · meshd` : name === 'overview' ? 'meshd' : `${name[0].toUpperCase()}${name.slice(1)} · meshd`;
}

function connectionIndicator() {
  const el = document.getElementById('connection');
  const text = el.querySelector('.conn-text');
  const detail = el.querySelector('.conn-detail');
  const update = (c) => {
    el.dataset.state = c.state;
    el.dataset.mode = c.mode || '';
    let label;
    if (c.state === 'live' && c.mode === 'ws') label = 'Live';
    else if (c.state === 'live') label = 'Live (polling)';
    else if (c.state === 'down') label = 'Disconnected';
    else if (c.state === 'auth') label = 'Token needed';
    else label = 'Connecting…';
    // The live region gets the state only; the countdown would chatter.
    setText(text, label);
    setText(detail, c.detail ? ` · ${c.detail}` : '');
    el.title = c.state === 'live'
      ? (c.mode === 'ws' ? 'Streaming from /ws' : 'The WebSocket is not available; polling the REST API every second')
      : c.state === 'down' ? 'meshd is not answering; the page reconnects by itself and resumes where it left off' : '';
    document.body.classList.toggle('offline', c.state === 'down');
  };
  store.on('connection', update);
  update(store.connection);
  el.addEventListener('click', () => {
    if (store.connection.state === 'down') stream.retryNow();
  });
}

function overallHealth() {
  const el = document.getElementById('overall-health');
  store.on('health', (body) => {
    const status = body?.status || 'unknown';
    setText(el, status);
    setClass(el, `pill ${status === 'healthy' ? 'ok' : status === 'degraded' ? 'warn' : status === 'unhealthy' ? 'bad' : 'muted'}`);
  });
}

// While the cluster's catalog (etcd) cannot be reached, what every view
// shows is the last known state: say so above them all.
function staleBanner() {
  const el = document.getElementById('stale-banner');
  const update = () => {
    el.hidden = !store.nodes.stale;
    document.body.classList.toggle('stale', store.nodes.stale);
  };
  store.on('nodes', update);
  update();
}

function shortcuts() {
  document.addEventListener('keydown', (e) => {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement?.tagName || '');
    if (typing || document.querySelector('dialog[open]')) return;
    if (e.key === '/') {
      e.preventDefault();
      if (current === views.overview) views.overview.table.focusFilter();
      else if (current === serviceView) serviceView.logs.search.focus();
      else if (current === views.events) views.events.search.focus();
    }
  });
}

setupChrome();
connectionIndicator();
overallHealth();
staleBanner();
configDriftBanner(store, document.getElementById('config-banner'));
shortcuts();
addEventListener('hashchange', route);
route();
stream.start();

// For the end-to-end tests and for poking around in the console.
window.meshd = { store, stream };
