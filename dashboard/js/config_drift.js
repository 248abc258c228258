// The note above every view while the running config is not the file's:
// a rollout failed or was aborted and reverted, so some services run their
// previous definition (GET /api/v1/config: differs_from_file, reverted).
// Fetched at start, after reconnects, and after config and rollout events.

import { api } from './api.js';
import { setText, debounce } from './dom.js';

const ROLLOUT_ENDS = new Set(['reverted', 'aborted', 'succeeded', 'failed']);

function relevant(event) {
  if (event.type?.startsWith('config.')) return true;
  return event.type === 'service.rollout' && ROLLOUT_ENDS.has(event.data?.step);
}

export function configDriftBanner(store, el) {
  const show = (body) => {
    const reverted = body?.reverted || [];
    el.hidden = !body?.differs_from_file;
    document.body.classList.toggle('config-differs', !el.hidden);
    if (el.hidden) return;
    const names = reverted.length ? reverted.join(', ') : 'some services';
    setText(el, `The running config differs from the file: ${names} ${reverted.length === 1 ? 'runs its' : 'run their'} previous definition after a reverted rollout. The file is unchanged; the next reload rolls ${reverted.length === 1 ? 'it' : 'them'} again.`);
    el.dataset.reverted = reverted.join(',');
  };
  const refresh = debounce(async () => {
    try {
      show(await api.config());
    } catch {
      /* meshd is away or wants a token for reads: the next event or reconnect tries again */
    }
  }, 300);
  store.on('events', ({ added }) => {
    if ((added || []).some(relevant)) refresh();
  });
  let wasLive = false;
  store.on('connection', (c) => {
    const live = c.state === 'live';
    if (live && !wasLive) refresh();
    wasLive = live;
  });
  refresh();
}
