// Test harness: runs the real meshd binary on 127.0.0.1 with a config of
// demo services written to a temp dir, and Debian's chromium through
// playwright-core. Nothing here talks to any host but 127.0.0.1.

import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync, rmSync, openSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const SOURCE_DIR = process.env.MESHD_SOURCE_DIR || resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MESHD_BIN = process.env.MESHD_BIN || join(SOURCE_DIR, 'build', 'meshd');
export const DEMO_BIN = process.env.MESHD_DEMO_BIN || join(SOURCE_DIR, 'build', 'meshd-demo-service');
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls fn() until it returns a truthy value; throws after timeoutMs. */
export async function waitFor(fn, { timeout = 10000, interval = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    await sleep(interval);
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
}

/** A port that was free a moment ago. */
export function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

/** n ports, each with the next `span - 1` free as well (for replicas). */
export async function freePorts(n, span = 1) {
  const out = [];
  while (out.length < n) {
    const p = await freePort();
    let ok = p + span < 65535 && !out.some((q) => Math.abs(q - p) < span + 1);
    for (let i = 1; ok && i < span; i++) ok = await portFree(p + i);
    if (ok) out.push(p);
  }
  return out;
}

function portFree(port) {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
  });
}

/** argv of a demo service instance. */
export const demo = (...args) => [DEMO_BIN, '--port', '${PORT}', '--name', '${SERVICE}-${INSTANCE}', ...args];

/** One meshd with its own temp dir and data dir. */
export class Meshd {
  constructor(config, { name = 'meshd', env = {} } = {}) {
    this.dir = mkdtempSync(join(tmpdir(), `meshd-e2e-${name}-`));
    this.dataDir = join(this.dir, 'data');
    mkdirSync(this.dataDir, { recursive: true });
    this.configPath = join(this.dir, 'meshd.yaml');
    const cfg = { version: 1, ...config, mesh: { listen: '127.0.0.1:0', data_dir: this.dataDir, ...(config.mesh || {}) } };
    writeFileSync(this.configPath, JSON.stringify(cfg, null, 2)); // JSON is YAML
    this.env = { ...process.env, ...env };
    this.logPath = join(this.dir, 'meshd.log');
    this.proc = null;
    this.base = null;
    this.port = 0;
  }

  /** Starts meshd; `port` pins the listen port (to restart on the same one). */
  async start({ port = this.port } = {}) {
    const listenFile = join(this.dataDir, 'listen');
    rmSync(listenFile, { force: true });
    const log = openSync(this.logPath, 'a');
    this.proc = spawn(MESHD_BIN, ['run', '-c', this.configPath, '--listen', `127.0.0.1:${port}`, '--data-dir', this.dataDir],
      { cwd: this.dir, env: this.env, stdio: ['ignore', log, log] });
    closeSync(log);
    const proc = this.proc;
    let spawnError = null;
    proc.on('error', (err) => (spawnError = err)); // e.g. MESHD_BIN missing
    this.exited = new Promise((res) => {
      proc.once('exit', (code, signal) => res({ code, signal }));
      proc.once('error', () => res({ code: null, signal: null }));
    });
    const addr = await waitFor(() => {
      if (spawnError) throw new Error(`cannot run ${MESHD_BIN}: ${spawnError.message}`);
      if (proc.exitCode !== null || proc.signalCode !== null) return { exited: true };
      return existsSync(listenFile) && readFileSync(listenFile, 'utf8').trim();
    }, { timeout: 15000, interval: 50, what: 'meshd to listen' }).catch((err) => {
      throw new Error(`${err.message}\n--- meshd output ---\n${this.output()}`);
    });
    if (addr.exited) throw new Error(`meshd exited (${proc.exitCode ?? proc.signalCode}) before listening:\n${this.output()}`);
    this.base = `http://${addr}`;
    this.port = Number(addr.split(':').pop());
    return this;
  }

  output() {
    return existsSync(this.logPath) ? readFileSync(this.logPath, 'utf8') : '';
  }

  async stop(signal = 'SIGTERM', timeout = 30000) {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeout);
    await this.exited;
    clearTimeout(timer);
  }

  async cleanup() {
    await this.stop();
    if (!process.env.MESHD_E2E_KEEP) rmSync(this.dir, { recursive: true, force: true });
  }

  async api(method, path, { body, token, headers = {} } = {}) {
    const h = { ...headers };
    if (token) h.Authorization = `Bearer ${token}`;
    if (body !== undefined) h['Content-Type'] = 'application/json';
    const res = await fetch(this.base + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let data = text;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    return { status: res.status, headers: res.headers, data };
  }

  async get(path) {
    const r = await this.api('GET', path);
    if (r.status !== 200) throw new Error(`GET ${path} -> ${r.status} ${JSON.stringify(r.data)}`);
    return r.data;
  }

  service(name) {
    return this.get(`/api/v1/services/${name}`);
  }

  async waitAll(pred, what, timeout = 20000) {
    return waitFor(async () => {
      const { services } = await this.get('/api/v1/services');
      return services.every(pred) && services;
    }, { timeout, what });
  }
}

/** Launches Debian's chromium headless, as the dashboard's users' browsers would run it. */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

/** A page that records console errors and refuses any request to a host other than 127.0.0.1. */
export async function newPage(browser, { viewport = { width: 1280, height: 800 }, colorScheme = 'light' } = {}) {
  const context = await browser.newContext({ viewport, colorScheme });
  const page = await context.newPage();
  page.errors = [];
  page.external = [];
  page.on('pageerror', (err) => page.errors.push(String(err)));
  // MESHD_E2E_TRANSPORT=poll: the page polls REST instead of using /ws.
  const transport = process.env.MESHD_E2E_TRANSPORT;
  if (transport) await page.addInitScript((t) => localStorage.setItem('meshd.transport', t), transport);
  await page.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname !== '127.0.0.1' && url.protocol !== 'data:') {
      page.external.push(url.href);
      return route.abort();
    }
    return route.continue();
  });
  return page;
}
