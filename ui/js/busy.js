// The action bar: the Go button, and while a request runs its label, elapsed time and Cancel.
import { t } from './i18n.js';
import { formatStopwatch } from './format.js';
import { $, app } from './app.js';

export function setBusyLabel(key) {
  const el = $('busy-label');
  el.dataset.i18n = key;
  el.textContent = t(key);
}

export function updateGoButton() {
  const go = $('go-btn');
  const { input, settings } = app;
  const src = input?.source;
  go.disabled = !!app.busy || !src || !!src.refusal || (input && input.recordingActive) || app.offline === true;
  const key = settings.streaming ? 'action.stream' : 'action.transcribe';
  $('go-label').dataset.i18n = key;
  $('go-label').textContent = t(key);
  go.title = !src ? t(input?.tab === 'mic' ? 'action.needRecording' : 'action.needFile') : '';
}

/** While a request runs the settings it was sent with are locked (the controls that were already
 * disabled stay so afterwards). */
function lockSettings(locked) {
  const card = document.querySelector('.card-settings');
  card.dataset.locked = String(locked);
  card.querySelectorAll('input, select, textarea, button').forEach((el) => {
    if (locked) {
      if (!el.disabled) { el.disabled = true; el.dataset.lockedByBusy = ''; }
    } else if (el.dataset.lockedByBusy !== undefined) {
      el.disabled = false;
      delete el.dataset.lockedByBusy;
    }
  });
}

/** Enter the busy state; `onCancel` runs on Cancel or Escape. Returns the start time. */
export function beginBusy(labelKey, onCancel) {
  const startedAt = performance.now();
  lockSettings(true);
  $('action-bar').dataset.busy = 'true';
  $('busy').hidden = false;
  setBusyLabel(labelKey);
  const tick = () => { $('busy-timer').textContent = formatStopwatch((performance.now() - startedAt) / 1000); };
  tick();
  app.busy = { onCancel, startedAt, timer: setInterval(tick, 100) };
  app.gpu.setFast(true);
  updateGoButton();
  return startedAt;
}

export function endBusy() {
  if (!app.busy) return;
  clearInterval(app.busy.timer);
  app.busy = null;
  lockSettings(false);
  $('action-bar').dataset.busy = 'false';
  $('busy').hidden = true;
  app.gpu.setFast(false);
  updateGoButton();
  const go = $('go-btn');
  if (document.activeElement === document.body || document.activeElement === $('cancel-btn')) go.focus();
}
