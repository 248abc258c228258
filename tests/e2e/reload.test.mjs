// A config reload seen from the dashboard: a new definition that never
// passes its check is rolled back, and the service page and the services
// table say so (docs/reload.md).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Meshd, launchBrowser, newPage, demo, freePorts, waitFor } from './harness.mjs';

let meshd;
let browser;
let page;

before(async () => {
  const [port] = await freePorts(1);
  meshd = new Meshd({
    services: {
      web: {
        command: demo('--quiet'), port,
        health: { type: 'http', path: '/health', interval: '200ms', timeout: '1s', start_period: '5s' },
      },
    },
  }, { name: 'reload' });
  await meshd.start();
  await meshd.waitAll((s) => s.state === 'running' && s.health === 'passing', 'web running and passing');
  browser = await launchBrowser();
  page = await newPage(browser);
});

after(async () => {
  await browser?.close();
  await meshd?.cleanup();
});

test('a rolled-back service says so on its page and in the table', async () => {
  const pid = (await meshd.service('web')).instances[0].pid;
  // A JSON patch through the seed alias: the new command never passes its check.
  const patch = [
    { op: 'replace', path: '/services/web/command', value: demo('--quiet', '--unhealthy') },
    { op: 'replace', path: '/services/web/health/start_period', value: '1s' },
    { op: 'add', path: '/services/web/rollout', value: { min_healthy: '500ms', deadline: '2s' } },
  ];
  const res = await meshd.api('POST', '/admin/config?wait=true', { body: patch });
  assert.equal(res.status, 200, JSON.stringify(res.data));
  assert.equal(res.data.result, 'rolled_back');

  await page.goto(meshd.base + '/#/services/web');
  const banner = page.locator('p.banner:not(#stale-banner)');
  await waitFor(async () => /rolled back to its previous definition/.test(await banner.innerText()), { what: 'the rollback banner' });
  assert.match(await banner.innerText(), /web-0\.1 was not healthy for 500ms within 2s/);
  assert.match(await page.locator('dl.facts').innerText(), /Last reload\s*rolled back \(command, health, rollout\)/);

  await page.goto(meshd.base + '/#/');
  const why = page.locator('#services-table tbody tr[data-service="web"] td.why');
  await waitFor(async () => /rolled back/.test(await why.innerText()), { what: 'the reason in the services table' });
  // The old instance kept serving all along.
  assert.equal((await meshd.service('web')).instances[0].pid, pid);
});
