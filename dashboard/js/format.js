// Formatting and the state -> color vocabulary shared by every view.

export function duration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const hr = Math.floor(m / 60);
  if (hr < 24) return `${hr}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(hr / 24)}d ${hr % 24}h`;
}

export function ago(timeMs, now = Date.now()) {
  if (!timeMs) return '—';
  const d = now - timeMs;
  if (d < 5000) return 'just now';
  return `${duration(d)} ago`;
}

export function clock(timeMs) {
  if (!timeMs) return '—';
  const d = new Date(timeMs);
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function dateTime(timeMs) {
  if (!timeMs) return '—';
  const d = new Date(timeMs);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function number(n, digits = 1) {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  if (Math.abs(n) >= 1000) return `${(n / 1000).toFixed(1)}k`;
  return Number.isInteger(n) ? String(n) : n.toFixed(digits);
}

export function percent(ratio) {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return '—';
  const p = ratio * 100;
  return `${p < 10 && p > 0 ? p.toFixed(1) : Math.round(p)}%`;
}

export function millis(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)}s`;
  return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)}ms`;
}

// Tones: ok (green), warn (amber), bad (red), info (blue), muted (grey).
const STATE_TONE = {
  running: 'ok', exited: 'muted', stopped: 'muted', registered: 'ok',
  pending: 'info', starting: 'info', stopping: 'info',
  backoff: 'warn', failed: 'bad',
};
const HEALTH_TONE = { passing: 'ok', warning: 'warn', critical: 'bad', unknown: 'muted' };
const BREAKER_TONE = { closed: 'ok', half_open: 'warn', open: 'bad', forced_open: 'bad', disabled: 'muted' };

export const stateTone = (state) => STATE_TONE[state] || 'muted';
export const healthTone = (health) => HEALTH_TONE[health] || 'muted';
export const breakerTone = (breaker) => BREAKER_TONE[breaker] || 'muted';

// Sort rank: the worse, the higher (for "problems first").
const STATE_RANK = { failed: 7, backoff: 6, stopping: 5, starting: 4, pending: 3, stopped: 2, exited: 1, running: 0 };
const HEALTH_RANK = { critical: 3, warning: 2, unknown: 1, passing: 0 };
export const stateRank = (state) => STATE_RANK[state] ?? 2;
export const healthRank = (health) => HEALTH_RANK[health] ?? 1;

export function label(text) {
  return String(text ?? '').replace(/_/g, ' ');
}

/** The tone of a whole service: its worst signal. */
export function serviceTone(svc) {
  if (!svc) return 'muted';
  const st = stateTone(svc.state);
  if (st === 'bad') return 'bad';
  if (svc.state === 'running' && svc.health === 'critical') return 'bad';
  if (svc.degraded || st === 'warn' || svc.health === 'warning') return 'warn';
  if (svc.state === 'running' && svc.health === 'passing') return 'ok';
  return st === 'ok' ? healthTone(svc.health) : st;
}
