// The cluster's surface on a single node, in a real browser against a real
// meshd: the Nodes view lists this node alone (marked as this node, live,
// with its instance count), the instance table names each instance's node,
// no stale banner or X-Mesh-Stale shows while nothing is stale, and the
// banner follows the nodes body's "stale" when it is.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Meshd, launchBrowser, newPage, demo, freePorts, waitFor } from './harness.mjs';

let meshd;
let browser;
let page;
let self; // this node, as GET /api/v1/nodes says

const fastHealth = { type: 'http', path: '/health', interval: '300ms', timeout: '1s', healthy_threshold: 1, unhealthy_threshold: 1, start_period: '5s' };

before(async () => {
  const ports = await freePorts(2, 2);
  meshd = new Meshd({
    defaults: { health: fastHealth, shutdown: { signal: 'SIGTERM', timeout: '3s' } },
    services: {
      store: { command: demo('--quiet'), port: ports[0] },
      api: { command: demo('--quiet'), port: ports[1], replicas: 2, depends_on: ['store'] },
    },
  }, { name: 'nodes' });
  await meshd.start();
  await meshd.waitAll((s) => s.state === 'running' && s.health === 'passing', 'every service running and passing');
  const nodes = await meshd.get('/api/v1/nodes');
  assert.equal(nodes.nodes.length, 1, JSON.stringify(nodes));
  self = nodes.nodes[0];
  browser = await launchBrowser();
  page = await newPage(browser);
});

after(async () => {
  await browser?.close();
  await meshd?.cleanup();
});

test('GET /api/v1/nodes on a single node: itself, alive, not clustered, never stale', async () => {
  const r = await meshd.api('GET', '/api/v1/nodes');
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('x-mesh-stale'), null);
  assert.equal(r.data.clustered, false);
  assert.equal(r.data.stale, false);
  assert.equal(self.self, true);
  assert.equal(self.state, 'alive');
  assert.ok(self.name, 'the node has a name');
  assert.equal(self.instances, 3); // store-0, api-0, api-1
  assert.equal(self.version, (await meshd.get('/api/v1/version')).version);
  const discover = await meshd.get('/api/v1/discover/api');
  assert.equal(discover.stale, false);
  assert.deepEqual(discover.instances.map((i) => i.node), [self.name, self.name]);
});

test('the Nodes view lists this node, marked, with its instances, and no stale banner', async () => {
  await page.goto(meshd.base + '/#/');
  await page.locator('#services-table tbody tr[data-service="api"]').waitFor();
  await page.click('.tabs a[data-route="nodes"]');
  await waitFor(async () => page.url().endsWith('#/nodes'), { what: 'the Nodes route' });
  assert.equal(await page.locator('.tabs a[aria-current="page"]').innerText(), 'Nodes');
  const row = page.locator(`#nodes-table tbody tr[data-node="${self.name}"]`);
  await row.waitFor({ timeout: 5000 });
  assert.equal(await page.locator('#nodes-table tbody tr').count(), 1);
  assert.equal(await row.getAttribute('data-self'), 'true');
  assert.equal(await row.getAttribute('data-state'), 'alive');
  assert.ok(await row.locator('.self-tag').isVisible(), 'the own node is marked');
  const cells = await row.locator('td').allInnerTexts();
  // Address, API address, version, state, instances, last seen, started.
  assert.equal(cells[1], self.api_address || '—');
  assert.equal(cells[2], self.version);
  assert.equal(cells[3], 'alive');
  assert.equal(cells[4], '3');
  assert.equal(cells[5], 'now'); // last seen: the node serving the page
  assert.match(await page.locator('#nodes-summary').innerText(), /single node/);
  assert.equal(await page.locator('#stale-banner').isVisible(), false);
  assert.deepEqual(page.errors, []);
  assert.deepEqual(page.external, []);
});

test('the instance table has a node column naming this node for each instance', async () => {
  await page.goto(meshd.base + '/#/services/api');
  await page.locator('#instances-table tbody tr[data-instance="api-1"]').waitFor({ timeout: 5000 });
  const head = await page.locator('#instances-table thead th').allTextContents();
  assert.equal(head[1], 'Node');
  for (const id of ['api-0', 'api-1']) {
    const node = page.locator(`#instances-table tr[data-instance="${id}"] td.node`);
    assert.equal(await node.innerText(), self.name, id);
  }
  assert.equal(await page.locator('#stale-banner').isVisible(), false);
  assert.deepEqual(page.errors, []);
});

// A single node is never stale, so the catalog's answer is replaced here:
// the page, polling REST, is told what a cluster node cut off from etcd says.
test('the stale banner shows while the nodes body says stale, and goes when it does not', async () => {
  const polling = await newPage(browser);
  await polling.addInitScript(() => localStorage.setItem('meshd.transport', 'poll'));
  let stale = true;
  await polling.route('**/api/v1/nodes', async (route) => {
    const real = await (await fetch(meshd.base + '/api/v1/nodes')).json();
    await route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ ...real, clustered: true, stale }) });
  });
  await polling.goto(meshd.base + '/#/nodes');
  const banner = polling.locator('#stale-banner');
  await banner.waitFor({ state: 'visible', timeout: 5000 });
  assert.equal(await banner.innerText(), 'cluster catalog unreachable: showing the last known state');
  assert.match(await polling.locator('#nodes-summary').innerText(), /last known state/);
  stale = false;
  await banner.waitFor({ state: 'hidden', timeout: 5000 });
  assert.deepEqual(polling.errors, []);
  await polling.context().close();
});
