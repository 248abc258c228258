// The same end-to-end tests with the page forced onto its REST polling
// fallback (what it uses when /ws is unavailable): a killed service's row
// must still turn within 2 seconds, and so on.
process.env.MESHD_E2E_TRANSPORT = 'poll';
await import('./dashboard.test.mjs');
