/**
 * The header: pipeline health at a glance. The state is written as a word as well as a colour:
 *   down     — the server does not answer, the pipeline is not running, or the source is disconnected;
 *   degraded — an alert is open, or a check fails or cannot run (the reasons are listed);
 *   healthy  — otherwise.
 */
import { formatBytes, formatCount, formatSeconds } from './format.js';

const LABEL = { healthy: 'healthy', degraded: 'degraded', down: 'down', loading: 'loading…' };

/** The state and its reasons, from `/api/status`, the open alerts and the checks. */
export function healthOf(status, alerts, checks) {
  if (!status) return { state: 'down', reasons: ['the server does not answer'] };
  if (!status.running) return { state: 'down', reasons: ['the pipeline is not running'] };
  if (status.connected === false) return { state: 'down', reasons: ['the source is disconnected'] };
  const reasons = [];
  const alerted = new Set((alerts ?? []).map((a) => a.alert));
  for (const alert of alerts ?? []) reasons.push(`alert ${alert.alert}: ${alert.message}`);
  for (const check of checks ?? []) {
    if (alerted.has(`check:${check.name}`)) continue; // said by its alert
    if (check.status === 'fail' || check.status === 'error')
      reasons.push(`check ${check.name} ${check.status === 'fail' ? 'fails' : 'could not run'}`);
  }
  return { state: reasons.length > 0 ? 'degraded' : 'healthy', reasons };
}

/** Writes `status` and its health into the header. */
export function showHealth(header, status, health) {
  header.dataset.state = health.state;
  const set = (id, text) => {
    header.querySelector(`#${id}`).textContent = text;
  };
  set('health-state', LABEL[health.state] ?? health.state);
  set('health-reasons', health.reasons.join(' · '));
  if (!status) return;
  set('fig-running', status.running ? 'running' : 'stopped');
  set(
    'fig-connected',
    status.connected === undefined ? '–' : status.connected ? 'connected' : 'disconnected',
  );
  set('fig-lag', formatSeconds(status.endToEndLagSeconds));
  set('fig-slot-lag', formatBytes(status.slotLagBytes));
  set('fig-retained', formatBytes(status.slotRetainedBytes));
  set('fig-rate', formatCount(status.changesPerSecond));
  set('fig-applied', formatCount(status.changesApplied));
  set('fig-reconnects', formatCount(status.reconnects));
}
