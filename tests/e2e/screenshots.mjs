// Takes the README's screenshots (docs/images/dashboard-*.png) against a
// real meshd running the demo topology of config/production_services.yaml
// (production overlay: three hyperrag, two twin_service), with one small
// incident staged so that the pages show what they are for.
//   scripts/e2e.sh screenshots     (or: node screenshots.mjs [OUT_DIR])

import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Meshd, launchBrowser, newPage, demo, freePorts, freePort, waitFor, sleep, SOURCE_DIR } from './harness.mjs';

const out = process.argv[2] || join(SOURCE_DIR, 'docs', 'images');
mkdirSync(out, { recursive: true });

const [metrics, hyperrag, agent, twin, p2p, gw, search] = await freePorts(7, 3);
const pgPort = await freePort();
const billingPort = await freePort(); // nothing listens: its check fails
const pg = createServer((s) => s.end()).listen(pgPort, '127.0.0.1');

const health = { type: 'http', path: '/health', interval: '1s', timeout: '1s', healthy_threshold: 1, unhealthy_threshold: 2, start_period: '10s' };
const meshd = new Meshd({
  mesh: { log_level: 'info' },
  defaults: {
    health,
    restart: { policy: 'always', backoff: { initial: '500ms', max: '30s' }, max_restarts: 10, window: '5m' },
    shutdown: { signal: 'SIGTERM', timeout: '3s' },
  },
  services: {
    postgres: { address: `127.0.0.1:${pgPort}`, health: { type: 'tcp', interval: '2s' }, tags: ['db', 'external'], metadata: { team: 'data' } },
    evolution_metrics: { command: demo('--log-every', '700ms'), port: metrics, load_balancer: 'round_robin', tags: ['metrics', 'core'], metadata: { team: 'observability' } },
    hyperrag: { command: demo('--log-every', '400ms'), port: hyperrag, replicas: 3, depends_on: ['evolution_metrics', 'postgres'], load_balancer: 'least_connections', slow_start: '30s', tags: ['rag', 'ai'] },
    agent_forge: { command: demo('--log-every', '900ms'), port: agent, depends_on: [{ service: 'evolution_metrics', condition: 'healthy' }], load_balancer: 'power_of_two', tags: ['agents', 'ai'] },
    twin_service: { command: demo(), port: twin, replicas: 2, load_balancer: 'consistent_hash', hash_key: 'header:X-Twin-Id', tags: ['twin'] },
    p2p_networking: { command: demo('--notify'), port: p2p, health: { type: 'notify', start_period: '15s' }, tags: ['network'] },
    search_index: { command: demo('--log-every', '1s'), port: search, depends_on: ['postgres'], tags: ['search'] },
    legacy_billing: { address: `127.0.0.1:${billingPort}`, health: { type: 'tcp', interval: '2s' }, tags: ['billing', 'external'] },
    gateway: {
      command: demo('--log-every', '500ms'), port: gw, tags: ['edge'],
      depends_on: ['hyperrag', 'agent_forge', { service: 'twin_service', condition: 'started', required: false }, { service: 'search_index', condition: 'healthy', required: false }],
    },
  },
}, { name: 'screenshots' });

const post = (port, status) => fetch(`http://127.0.0.1:${port}/admin/health?status=${status}`, { method: 'POST' });

await meshd.start();
let browser;
try {
  await waitFor(async () => {
    const { services } = await meshd.get('/api/v1/services');
    return services.filter((s) => s.name !== 'legacy_billing').every((s) => s.state === 'running' && s.health === 'passing');
  }, { timeout: 40000, what: 'the demo topology to be up' });
  browser = await launchBrowser();
  const shoot = async (page, name) => {
    await sleep(400);
    await page.screenshot({ path: join(out, name) });
    console.log(`wrote ${join(out, name)}`);
  };

  const page = await newPage(browser);
  await page.goto(meshd.base + '/');
  await sleep(15000);
  // The incident: one hyperrag instance fails its check (the chart dips).
  await post(hyperrag + 2, 'fail');
  await waitFor(async () => (await page.locator('#services-table tbody tr[data-health="critical"], #services-table tbody tr[data-health="warning"]').count()) >= 1, { timeout: 20000, what: 'hyperrag to show its failing instance' });
  await sleep(15000); // a little chart history after the dip
  await shoot(page, 'dashboard-overview.png');

  await page.goto(meshd.base + '/#/services/hyperrag');
  await page.locator('tr[data-instance-detail="hyperrag-2"] .reason').first().waitFor({ timeout: 10000 });
  await page.locator('.log-view .log-line').nth(20).waitFor({ timeout: 10000 });
  await shoot(page, 'dashboard-service.png');

  // A dependency goes down: the graph points at the root cause.
  await post(metrics, 'fail');
  await page.goto(meshd.base + '/#/graph');
  await page.locator('svg.graph a.node.root-cause').first().waitFor({ timeout: 15000 });
  await shoot(page, 'dashboard-graph.png');

  await page.goto(meshd.base + '/#/events');
  await page.locator('.events-view table.events tbody tr').nth(10).waitFor({ timeout: 10000 });
  await shoot(page, 'dashboard-events.png');

  const dark = await newPage(browser, { colorScheme: 'dark' });
  await dark.goto(meshd.base + '/#/services/hyperrag');
  await dark.locator('.log-view .log-line').nth(20).waitFor({ timeout: 10000 });
  await shoot(dark, 'dashboard-dark.png');

  const phone = await newPage(browser, { viewport: { width: 390, height: 844 } });
  await phone.goto(meshd.base + '/');
  await phone.locator('#services-table tbody tr').nth(5).waitFor({ timeout: 10000 });
  await shoot(phone, 'dashboard-phone.png');
} finally {
  await browser?.close();
  await meshd.cleanup();
  pg.close();
}
