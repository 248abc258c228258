// 200 services: the table renders them all quickly and patches rows in
// place on a change instead of re-rendering.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Meshd, launchBrowser, newPage, waitFor, sleep } from './harness.mjs';

const N = 200;
let meshd;
let browser;
let page;

before(async () => {
  const services = {};
  for (let i = 0; i < N; i++) {
    const name = `svc-${String(i).padStart(3, '0')}`;
    // External instances on a documentation network (never contacted: no check).
    services[name] = {
      address: `192.0.2.${1 + (i % 250)}:${10000 + i}`,
      health: { type: 'none' },
      tags: [i % 2 ? 'odd' : 'even', `group-${i % 7}`],
      ...(i > 0 && i % 10 !== 0 ? { depends_on: [`svc-${String(i - (i % 10)).padStart(3, '0')}`] } : {}),
    };
  }
  meshd = new Meshd({ services }, { name: 'scale' });
  await meshd.start();
  browser = await launchBrowser();
  page = await newPage(browser);
  await page.addInitScript(() => {
    window.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  });
});

after(async () => {
  await browser?.close();
  await meshd?.cleanup();
});

test('200 services render, and a change patches one row without re-rendering', async () => {
  const t0 = Date.now();
  await page.goto(meshd.base + '/');
  const rows = page.locator('#services-table tbody tr');
  await waitFor(async () => (await rows.count()) === N, { timeout: 10000, what: `${N} rows` });
  const renderMs = Date.now() - t0;
  assert.ok(renderMs < 8000, `first render of ${N} rows took ${renderMs} ms`);
  await sleep(1500);

  // Mark every row node; after an update all must be the same nodes.
  await page.evaluate(() => document.querySelectorAll('#services-table tbody tr').forEach((tr) => (tr.__mark = true)));
  const steadyFrom = await page.evaluate(() => performance.now());
  const target = 'svc-042';
  // A second instance registers into one service: its row gets a second square.
  const r = await meshd.api('POST', '/api/v1/registry', {
    body: { service: target, id: `${target}-extra`, address: '192.0.2.250', port: 9999, check: { type: 'none' } },
  });
  assert.ok(r.status === 200 || r.status === 201, JSON.stringify(r.data));
  const cell = page.locator(`#services-table tr[data-service="${target}"] td.instances`);
  await waitFor(async () => /\/2$/.test((await cell.innerText()).trim()), { timeout: 5000, what: 'the row to show 2 instances' });
  assert.equal(await cell.locator('.dot').count(), 2);
  const replaced = await page.evaluate(() => [...document.querySelectorAll('#services-table tbody tr')].filter((tr) => !tr.__mark).length);
  assert.equal(replaced, 0, 'rows were re-created instead of patched');
  assert.equal(await rows.count(), N);

  // Sorting 200 rows by a column and filtering stay responsive.
  const t1 = Date.now();
  await page.click('#services-table thead button:has-text("Service")');
  await waitFor(async () => (await rows.first().getAttribute('data-service')) === 'svc-199', { what: 'sorted descending' });
  await page.fill('#service-filter', 'tag:group-3');
  await waitFor(async () => (await page.locator('#services-table tbody tr:visible').count()) === Math.ceil((N - 3) / 7), { what: 'filtered' });
  assert.ok(Date.now() - t1 < 3000);

  await sleep(3000); // a few polls of 200 services at steady state
  const long = await page.evaluate((from) => window.__longTasks.filter((t) => t.start >= from), steadyFrom);
  const worst = Math.max(0, ...long.map((t) => t.duration));
  // Patching should never block the page noticeably (generous: CI machines are shared).
  assert.ok(worst < 500, `a ${worst.toFixed(0)} ms long task while patching: ${JSON.stringify(long)}`);
  console.log(`# ${N} services: first render ${renderMs} ms; steady-state long tasks: ${long.length}, worst ${worst.toFixed(0)} ms`);

  // The graph lays out 200 services.
  await page.goto(meshd.base + '/#/graph');
  await waitFor(async () => (await page.locator('svg.graph a.node').count()) === N, { timeout: 10000, what: `${N} graph nodes` });
  assert.deepEqual(page.errors, []);
});
