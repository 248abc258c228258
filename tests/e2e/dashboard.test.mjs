// End-to-end tests of the dashboard in a real browser against a real meshd
// running demo services (see README.md in this directory).

import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { Meshd, launchBrowser, newPage, demo, freePorts, waitFor, sleep } from './harness.mjs';

const TOKEN = 'e2e-secret-token';
// polling.test.mjs runs these again with the page on its REST fallback.
const T = (name) => (process.env.MESHD_E2E_TRANSPORT === 'poll' ? `polling fallback: ${name}` : name);
let meshd;
let browser;
let page;
let ports;

const fastHealth = { type: 'http', path: '/health', interval: '300ms', timeout: '1s', healthy_threshold: 1, unhealthy_threshold: 1, start_period: '5s' };

before(async () => {
  ports = await freePorts(6, 2);
  meshd = new Meshd({
    mesh: { api_token: TOKEN, gateway: `127.0.0.1:${ports[5]}` },
    defaults: {
      health: fastHealth,
      restart: { policy: 'on-failure', backoff: { initial: '200ms', max: '1s' }, max_restarts: 50, window: '5m' },
      shutdown: { signal: 'SIGTERM', timeout: '3s' },
      // A restart rolls (a new instance beside each old one); proven fast here.
      rollout: { min_healthy: '500ms' },
    },
    services: {
      store: {
        command: demo('--quiet'), port: ports[0], tags: ['db', 'core'],
        tests: [{ name: 'answers health', request: { method: 'GET', path: '/health' }, expect: { status: 200, body_contains: 'ok' } }],
      },
      api: { command: demo('--quiet'), port: ports[1], replicas: 2, depends_on: ['store'], tags: ['http'] },
      worker: { command: demo('--quiet', '--log-every', '150ms'), port: ports[2], depends_on: ['store'], tags: ['jobs'] },
      web: {
        command: demo('--quiet'), port: ports[3], depends_on: ['api', { service: 'worker', condition: 'started', required: false }], tags: ['edge'],
        tests: [{ name: 'fails on purpose', request: { method: 'GET', path: '/status/500' }, expect: { status: 200 } }],
      },
      // Stays in backoff for a while after a crash, so its row has time to turn.
      flaky: { command: demo('--quiet'), port: ports[4], restart: { policy: 'on-failure', backoff: { initial: '6s', max: '6s' } }, tags: ['batch'] },
    },
  }, { name: 'main' });
  await meshd.start();
  await meshd.waitAll((s) => s.state === 'running' && s.health === 'passing', 'every service running and passing');
  browser = await launchBrowser();
  page = await newPage(browser);
});

// One test crashing meshd must not fail the others: start it again, same
// port and data dir (the crashed test has already failed and says why).
beforeEach(async () => {
  if (meshd && meshd.proc && (meshd.proc.exitCode !== null || meshd.proc.signalCode !== null)) {
    console.log(`# meshd had exited (${meshd.proc.exitCode ?? meshd.proc.signalCode}); restarting it. Its log ends with:\n# ${meshd.output().trim().split('\n').slice(-3).join('\n# ')}`);
    await meshd.start();
    await meshd.waitAll((s) => s.state === 'running', 'every service running again');
  }
});

after(async () => {
  await browser?.close();
  await meshd?.cleanup();
});

const row = (name) => page.locator(`#services-table tbody tr[data-service="${name}"]`);

test(T('meshd serves the embedded dashboard with an ETag, and 304 when unchanged'), async () => {
  const index = await meshd.api('GET', '/');
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type'), /^text\/html/);
  assert.match(index.data, /<script type="module" src="\/ui\/js\/app\.js">/);
  assert.match(index.headers.get('content-security-policy'), /default-src 'self'/);
  const js = await meshd.api('GET', '/ui/js/app.js');
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  const etag = js.headers.get('etag');
  assert.match(etag, /^".+"$/);
  const again = await meshd.api('GET', '/ui/js/app.js', { headers: { 'If-None-Match': etag } });
  assert.equal(again.status, 304);
  assert.equal((await meshd.api('GET', '/ui/js/nope.js')).status, 404);
  // The API is untouched by the static routes.
  assert.equal((await meshd.api('GET', '/api/v1/health')).status, 200);
});

test(T('the services table shows every service with its state and instances'), async () => {
  await page.goto(meshd.base + '/');
  for (const name of ['store', 'api', 'worker', 'web', 'flaky']) {
    await row(name).waitFor({ timeout: 10000 });
  }
  assert.equal(await page.locator('#services-table tbody tr').count(), 5);
  await waitFor(async () => (await row('api').getAttribute('data-state')) === 'running', { what: 'api running in the table' });
  assert.equal((await row('api').locator('td.instances').innerText()).trim(), '2/2');
  assert.match(await row('api').locator('.pill').first().innerText(), /running/);
  assert.equal(await page.locator('#overall-status').textContent(), 'healthy');
  // The connection indicator says how the page is fed: the WebSocket when
  // this meshd has one (GET /ws without an upgrade is 426), else polling.
  const wsAvailable = (await meshd.api('GET', '/ws')).status === 426;
  const wantMode = wsAvailable && process.env.MESHD_E2E_TRANSPORT !== 'poll' ? 'ws' : 'poll';
  await waitFor(async () => (await page.locator('#connection').getAttribute('data-mode')) === wantMode, { what: `transport ${wantMode}` });
  assert.match(await page.locator('#connection').innerText(), wantMode === 'ws' ? /^Live$/ : /Live \(polling\)/);
  // Filter by tag, then by state.
  await page.fill('#service-filter', 'tag:edge');
  await waitFor(async () => (await page.locator('#services-table tbody tr:visible').count()) === 1, { what: 'filter to one row' });
  assert.equal(await page.locator('#services-table tbody tr:visible').getAttribute('data-service'), 'web');
  await page.fill('#service-filter', '');
  // Sort by name, descending, with the keyboard.
  await page.locator('#services-table thead button', { hasText: 'Service' }).focus();
  await page.keyboard.press('Enter');
  const first = await page.locator('#services-table tbody tr').first().getAttribute('data-service');
  assert.equal(first, 'worker');
  assert.equal(await page.locator('#services-table thead th[aria-sort="descending"]').count(), 1);
  await page.keyboard.press('Enter');
  assert.deepEqual(page.errors, []);
});

test(T('killing a demo service turns its row within 2 seconds'), async () => {
  await page.goto(meshd.base + '/#/');
  await waitFor(async () => (await row('flaky').getAttribute('data-state')) === 'running', { what: 'flaky running' });
  const before = await row('flaky').elementHandle();
  const svc = await meshd.service('flaky');
  const pid = svc.instances[0].pid;
  assert.ok(pid > 0);
  const t0 = Date.now();
  process.kill(pid, 'SIGKILL');
  await waitFor(async () => (await row('flaky').getAttribute('data-state')) !== 'running', { timeout: 2000, interval: 25, what: 'the row to turn' });
  const elapsed = Date.now() - t0;
  assert.ok(elapsed < 2000, `row turned after ${elapsed} ms`);
  assert.match(await row('flaky').locator('td.state').innerText(), /backoff|starting|exited/);
  assert.ok(await row('flaky').evaluate((tr) => tr.classList.contains('flash')), 'the row flashes');
  // Patched in place, not re-rendered.
  assert.ok(await before.evaluate((el) => el.isConnected));
  assert.match(await row('flaky').locator('td.why').innerText(), /flaky-0/);
});

test(T('restart from the service page asks for the token and works with it'), async () => {
  await page.goto(meshd.base + '/#/services/api');
  await page.evaluate(() => localStorage.removeItem('meshd.token'));
  await page.reload();
  await page.locator('#instances-table tbody tr[data-instance="api-0"]').waitFor();
  const before = await meshd.service('api');
  const oldPids = before.instances.map((i) => i.pid).sort();
  const requests = [];
  page.on('request', (r) => {
    if (r.method() === 'POST') requests.push({ url: r.url(), auth: r.headers().authorization || '' });
  });
  await page.click('button[data-action="restart"]');
  await page.locator('#confirm-dialog[open]').waitFor();
  assert.match(await page.locator('#confirm-title').innerText(), /Restart api/);
  await page.click('#confirm-ok');
  // meshd answers 401 without the token: the page asks for it.
  await page.locator('#token-dialog[open]').waitFor({ timeout: 5000 });
  await page.fill('#token-dialog-input', TOKEN);
  await page.click('#token-dialog-ok');
  await page.locator('.toast.ok', { hasText: 'Restart of api accepted' }).waitFor({ timeout: 5000 });
  assert.equal(requests.length, 2, JSON.stringify(requests));
  assert.equal(requests[0].auth, '');
  assert.equal(requests[1].auth, `Bearer ${TOKEN}`);
  assert.match(requests[1].url, /\/api\/v1\/services\/api\/restart$/);
  await waitFor(async () => {
    const s = await meshd.service('api');
    const pids = s.instances.map((i) => i.pid).sort();
    return s.state === 'running' && s.instances.length === 2 && pids.every((p) => p && !oldPids.includes(p));
  }, { timeout: 20000, what: 'api restarted with new pids' });
  // A rolling restart gives each replica a new instance (api-0.1, ...).
  const [api0, api1] = (await meshd.service('api')).instances.map((i) => i.id);
  assert.match(api0, /^api-0\.\d+$/);
  assert.match(api1, /^api-1\.\d+$/);
  // The event shows on the service page.
  await page.locator('.events-list tr[data-type="service.command"]').first().waitFor({ timeout: 5000 });
  // The token is remembered: the next action goes straight through.
  await page.click(`#instances-table tr[data-instance-detail="${api1}"] button[data-action="drain"]`);
  await page.locator('.toast.ok', { hasText: `${api1}: drain` }).waitFor({ timeout: 5000 });
  await waitFor(async () => (await page.locator(`#instances-table tr[data-instance="${api1}"] td`).nth(3).innerText()).includes('draining'), { what: `${api1} draining` });
  await page.locator(`tr[data-instance-detail="${api1}"] .reason`).first().waitFor({ timeout: 5000 });
  assert.match(await page.locator(`tr[data-instance-detail="${api1}"] .explain`).innerText(), /Out of rotation/);
  await page.click(`#instances-table tr[data-instance-detail="${api1}"] button[data-action="ready"]`);
  await page.locator('.toast.ok', { hasText: `${api1}: ready` }).waitFor({ timeout: 5000 });
  // Breakers, where this meshd has them: force one open (with confirmation), then reset it.
  if ((await meshd.api('GET', '/api/v1/breakers')).status === 200) {
    const pill = page.locator(`#instances-table tr[data-instance="${api0}"] td`).nth(4).locator('span');
    await waitFor(async () => (await pill.innerText()) === 'closed', { what: `${api0} breaker closed` });
    await page.click(`#instances-table tr[data-instance-detail="${api0}"] button[data-action="breaker-open"]`);
    await page.locator('#confirm-dialog[open]').waitFor();
    assert.match(await page.locator('#confirm-title').innerText(), new RegExp(`breaker of ${api0.replace('.', '\\.')}`));
    await page.click('#confirm-ok');
    await page.locator('.toast.ok', { hasText: `Breaker of ${api0}: open` }).waitFor({ timeout: 5000 });
    await waitFor(async () => /open/.test(await pill.innerText()), { timeout: 5000, what: `${api0} breaker open on the page` });
    await page.click(`#instances-table tr[data-instance-detail="${api0}"] button[data-action="breaker-reset"]`);
    await page.click('#confirm-ok');
    await waitFor(async () => (await pill.innerText()) === 'closed', { timeout: 5000, what: `${api0} breaker closed again` });
  }
  assert.deepEqual(page.errors, []);
});

test(T('the log tail shows new lines, filters stderr, pauses and searches'), async () => {
  await page.goto(meshd.base + '/#/services/worker');
  const lines = page.locator('.log-view .log-line');
  await lines.first().waitFor({ timeout: 10000 });
  const lastSeq = async () => Number(await lines.last().getAttribute('data-seq'));
  const seq0 = await lastSeq();
  await waitFor(async () => (await lastSeq()) > seq0, { timeout: 5000, what: 'a new log line' });
  // stderr only
  await page.click('.logs button[data-stream="stderr"]');
  await waitFor(async () => (await lines.count()) > 0, { what: 'stderr lines' });
  assert.equal(await page.locator('.log-view .log-line:not(.stderr):not(.marker)').count(), 0);
  await page.click('.logs button[data-stream="all"]');
  // Pause: the view stops moving, the button counts what arrived.
  await page.click('.logs button.pause');
  const frozen = await lastSeq();
  await waitFor(async () => /Resume \(\d+ new\)/.test(await page.locator('.logs button.pause').innerText()), { timeout: 5000, what: 'new lines counted while paused' });
  assert.equal(await lastSeq(), frozen);
  await page.click('.logs button.pause');
  await waitFor(async () => (await lastSeq()) > frozen, { what: 'resumed' });
  // Search filters and highlights.
  const sample = await lines.last().locator('.log-text').innerText();
  const word = sample.split(/\s+/).find((w) => w.length > 3) || sample.slice(0, 4);
  await page.fill('.log-search', word);
  await waitFor(async () => (await page.locator('.log-view mark').count()) > 0, { what: 'highlighted matches' });
  await page.fill('.log-search', '');
});

test(T('the dependency graph renders and highlights the root cause of a degraded service'), async () => {
  await page.goto(meshd.base + '/#/graph');
  const nodes = page.locator('svg.graph a.node');
  await waitFor(async () => (await nodes.count()) === 5, { what: '5 nodes' });
  assert.equal(await page.locator('svg.graph path.edge').count(), 4); // api, worker -> store; web -> api, worker
  assert.equal(await page.locator('svg.graph path.edge.optional').count(), 1);
  // store goes critical: api and worker are degraded by it.
  const store = await meshd.service('store');
  const health = await fetch(`http://127.0.0.1:${store.instances[0].port}/admin/health?status=fail`, { method: 'POST' });
  assert.equal(health.status, 200);
  try {
    await waitFor(async () => (await page.locator('svg.graph a.node.root-cause').count()) === 1, { timeout: 10000, what: 'a root cause highlighted' });
    assert.equal(await page.locator('svg.graph a.node.root-cause').getAttribute('data-service'), 'store');
    assert.ok(await page.locator('svg.graph a.node.degraded[data-service="api"]').count() === 1);
    assert.ok((await page.locator('svg.graph path.edge.cause').count()) >= 1);
    assert.match(await page.locator('.root-cause-note').innerText(), /Root cause: store/);
    // The first screen says why too.
    await page.goto(meshd.base + '/#/');
    await waitFor(async () => /degraded/.test(await row('api').locator('td.why').innerText()), { what: 'api says it is degraded' });
    assert.match(await row('store').locator('td.why').innerText(), /store-0: critical/);
  } finally {
    await fetch(`http://127.0.0.1:${store.instances[0].port}/admin/health?status=ok`, { method: 'POST' });
  }
  await waitFor(async () => (await page.locator('#overall-status').textContent()) === 'healthy', { timeout: 10000, what: 'healthy again' });
});

test(T('the events timeline lists events live and filters them'), async () => {
  await page.goto(meshd.base + '/#/events');
  const rows = page.locator('.events-view table.events tbody tr');
  await waitFor(async () => (await rows.count()) > 5, { what: 'events' });
  await page.selectOption('#event-service-filter', 'flaky');
  await waitFor(async () => {
    const services = await page.locator('.events-view table.events tbody tr td:nth-child(3)').allInnerTexts();
    return services.length > 0 && services.every((s) => s === 'flaky');
  }, { what: 'only flaky events' });
  await page.selectOption('#event-service-filter', '');
  const top = Number(await rows.first().getAttribute('data-seq'));
  await meshd.api('POST', '/api/v1/services/flaky/restart', { token: TOKEN });
  await waitFor(async () => Number(await rows.first().getAttribute('data-seq')) > top, { what: 'a live event on top' });
});

test(T('declared tests run from the page and show pass and fail'), async () => {
  await page.goto(meshd.base + '/#/tests');
  await page.evaluate((t) => localStorage.setItem('meshd.token', t), TOKEN);
  await page.click('#run-tests');
  const rows = page.locator('#tests-table tbody tr');
  await waitFor(async () => (await rows.count()) === 2, { timeout: 20000, what: 'two test results' });
  assert.equal(await page.locator('#tests-table tr[data-ok="true"] td').nth(1).innerText(), 'answers health');
  assert.equal(await page.locator('#tests-table tr[data-ok="false"] td').first().innerText(), 'web');
  assert.match(await page.locator('.tests-view p[aria-live]').innerText(), /1 passed, 1 failed/);
  // The last run is there when the page comes back.
  await page.reload();
  await waitFor(async () => (await rows.count()) === 2, { what: 'the last run after a reload' });
});

test(T('the page says when meshd is gone and recovers when it is back'), async () => {
  await page.goto(meshd.base + '/#/');
  await waitFor(async () => (await page.locator('#services-table tbody tr').count()) === 5, { what: 'rows' });
  const lastSeq = await page.evaluate(() => window.meshd.store.lastEventSeq);
  const port = meshd.port;
  await meshd.stop();
  await waitFor(async () => (await page.locator('#connection').getAttribute('data-state')) === 'down', { timeout: 10000, what: 'indicator down' });
  assert.match(await page.locator('#connection').innerText(), /Disconnected/);
  await sleep(1500);
  await meshd.start({ port });
  await waitFor(async () => (await page.locator('#connection').getAttribute('data-state')) === 'live', { timeout: 20000, what: 'indicator live again' });
  // It resumed from its last seq: the new daemon.start event arrives, nothing is lost or doubled.
  await waitFor(async () => page.evaluate((seq) => window.meshd.store.events.some((e) => e.seq > seq && e.type === 'daemon.start'), lastSeq), { timeout: 10000, what: 'the new daemon.start event' });
  const seqs = await page.evaluate(() => window.meshd.store.events.map((e) => e.seq));
  assert.equal(new Set(seqs).size, seqs.length);
  await waitFor(async () => (await row('web').getAttribute('data-state')) === 'running', { timeout: 20000, what: 'web running again in the table' });
  assert.equal(await page.locator('#services-table tbody tr').count(), 5);
  assert.deepEqual(page.external, []);
});
