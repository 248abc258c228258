// A canary rollout seen from the dashboard (docs/reload.md, docs/dashboard.md):
// a reload of a 2-replica service with `rollout: {canary: 1}` waits for
// promote; the Rollout panel shows it with the canary's traffic next to the
// old instances'; Promote finishes it, and a second one is aborted and
// reverted, which the services table and the config note say.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Meshd, launchBrowser, newPage, demo, freePorts, waitFor } from './harness.mjs';

const TOKEN = 'e2e-rollout-token';
let meshd;
let browser;
let page;
let gateway;

before(async () => {
  const [port, gw] = await freePorts(2, 4);
  gateway = gw;
  meshd = new Meshd({
    mesh: { api_token: TOKEN, gateway: `127.0.0.1:${gw}` },
    services: {
      web: {
        command: demo('--quiet'), port, replicas: 2,
        health: { type: 'http', path: '/health', interval: '200ms', timeout: '1s', healthy_threshold: 1, start_period: '5s' },
        rollout: { canary: 1, min_healthy: '1s' },
      },
    },
  }, { name: 'rollout' });
  await meshd.start();
  await meshd.waitAll((s) => s.state === 'running' && s.health === 'passing' && s.instances_passing === 2, 'web running with 2 passing');
  browser = await launchBrowser();
  page = await newPage(browser);
  // The page sends the token the way it does for restart (Settings / localStorage).
  await page.addInitScript((t) => localStorage.setItem('meshd.token', t), TOKEN);
});

after(async () => {
  await browser?.close();
  await meshd?.cleanup();
});

// A reload through the API with a changed env: a process-level change.
async function reloadWithVersion(version) {
  const patch = [{ op: 'add', path: '/services/web/env', value: { RELEASE: version } }];
  const res = await meshd.api('POST', '/admin/config', { body: patch, token: TOKEN }); // a JSON array: a JSON patch
  assert.ok(res.status === 200 || res.status === 202, `reload: ${res.status} ${JSON.stringify(res.data)}`);
}

// Requests through the gateway, so both the canary and the old instances have traffic to compare.
async function traffic(n) {
  let ok = 0;
  for (let i = 0; i < n; i++) {
    const res = await fetch(`http://127.0.0.1:${gateway}/web/hello`);
    await res.arrayBuffer();
    if (res.ok) ok++;
  }
  return ok;
}

const panel = () => page.locator('#rollout-panel');
const rolloutState = () => page.locator('#rollout-state');

async function waitForState(state, timeout = 30000) {
  await waitFor(async () => (await rolloutState().getAttribute('data-state')) === state, { timeout, what: `the Rollout panel to say ${state}` });
}

test('a canary waits for promote on the page, shows its traffic, and Promote finishes it', async () => {
  await reloadWithVersion('2');
  await page.goto(meshd.base + '/#/services/web');
  await waitForState('waiting_promote');
  assert.equal(await rolloutState().innerText(), 'waiting for promote');
  const head = await panel().locator('.panel-head').innerText();
  assert.match(head, /from a config reload \(env\)/);
  assert.match(await panel().locator('.rollout-settings').innerText(), /min healthy 1s · deadline 2m · max parallel 1 · max unavailable 0 · canary 1 · auto revert on/);

  // Replica 0 is the canary, beside its old instance; replica 1 waits.
  const replicas = panel().locator('#rollout-replicas tbody tr');
  assert.equal(await replicas.count(), 2);
  assert.equal(await replicas.nth(0).getAttribute('data-state'), 'canary');
  assert.match(await replicas.nth(0).innerText(), /web-0\s+→\s+web-0\.\d+/);
  assert.match(await replicas.nth(0).locator('td').last().innerText(), /^\d+\.\ds$|^\d+m/);
  assert.equal(await replicas.nth(1).getAttribute('data-state'), 'waiting');

  // The comparison: the canary against both old instances, with traffic.
  assert.equal(await traffic(40), 40);
  const compare = panel().locator('#rollout-compare');
  await waitFor(async () => {
    const canary = Number(await compare.locator('tr[data-group="canary"] td').nth(1).innerText());
    const old = Number(await compare.locator('tr[data-group="old"] td').nth(1).innerText());
    return canary > 0 && old > 0 && canary + old >= 40;
  }, { what: 'requests counted for the canary and the old instances' });
  assert.match(await compare.locator('tr[data-group="canary"]').innerText(), /Canary \(new\)\s+web-0\.\d+/);
  assert.match(await compare.locator('tr[data-group="old"] td').first().innerText(), /web-0, web-1/);
  assert.equal(await compare.locator('tr[data-group="canary"] td').nth(2).innerText(), '0%');
  assert.match(await compare.locator('tr[data-group="canary"] td').nth(3).innerText(), /ms$/);

  // The services table: a badge while it waits.
  await page.goto(meshd.base + '/#/');
  const badge = page.locator('#services-table tbody tr[data-service="web"] .rollout-badge');
  await waitFor(async () => (await badge.getAttribute('data-rollout')) === 'waiting_promote', { what: 'the waiting-for-promote badge' });
  assert.equal(await badge.innerText(), 'waiting for promote');

  await page.goto(meshd.base + '/#/services/web');
  await waitForState('waiting_promote');
  await panel().locator('button[data-action="promote"]').click();
  await waitForState('succeeded', 60000);
  assert.equal(await panel().locator('button[data-action="promote"]').isHidden(), true);
  assert.equal(await panel().locator('#rollout-compare').isHidden(), true);
  const rollout = (await meshd.api('GET', '/api/v1/services/web/rollout')).data;
  assert.equal(rollout.state, 'succeeded');
  assert.deepEqual(rollout.replicas.map((r) => r.state), ['replaced', 'replaced']);
  const config = (await meshd.api('GET', '/api/v1/config')).data;
  assert.equal(config.differs_from_file, false);
  assert.equal(await page.locator('#config-banner').isHidden(), true);
  assert.deepEqual(page.errors, []);
});

test('Abort asks first, then the rollout is reverted, and the table and the config note say so', async () => {
  await reloadWithVersion('3');
  await page.goto(meshd.base + '/#/services/web');
  await waitForState('waiting_promote');
  const olds = (await meshd.api('GET', '/api/v1/services/web/rollout')).data.replicas.map((r) => r.old_instance);
  assert.equal(olds.length, 2);

  await panel().locator('button[data-action="abort"]').click();
  const dialog = page.locator('#confirm-dialog');
  await waitFor(() => dialog.isVisible(), { what: 'the confirmation' });
  assert.match(await dialog.innerText(), /Abort the rollout of web\?/);
  await page.locator('#confirm-ok').click();
  await waitForState('reverted');
  assert.match(await panel().locator('.rollout-reason').innerText(), /aborted by the operator/);
  assert.equal(await panel().locator('button[data-action="abort"]').isHidden(), true);

  // The old instances were never touched: they still serve, and the canary is gone.
  await waitFor(async () => {
    const instances = (await meshd.service('web')).instances;
    return instances.length === 2 && olds.every((id) => instances.some((i) => i.id === id && i.health === 'passing'));
  }, { what: `the old instances ${olds} alone serving` });

  const note = page.locator('#config-banner');
  await waitFor(() => note.isVisible(), { what: 'the config-differs note' });
  assert.match(await note.innerText(), /differs from the file: web runs its previous definition/);
  const config = (await meshd.api('GET', '/api/v1/config')).data;
  assert.equal(config.differs_from_file, true);
  assert.deepEqual(config.reverted, ['web']);

  await page.goto(meshd.base + '/#/');
  const badge = page.locator('#services-table tbody tr[data-service="web"] .rollout-badge');
  await waitFor(async () => (await badge.getAttribute('data-rollout')) === 'reverted', { what: 'the reverted badge' });
  assert.equal(await badge.innerText(), 'reverted');
  assert.deepEqual(page.errors, []);
  assert.deepEqual(page.external, []);
});
