// What the GPU panel's /api/status polls tell the rest of the page: the header's service pill, the
// model dots, the server's options and languages; release results and polling errors as toasts.
import { t, getUiLanguage } from './i18n.js';
import { toast } from './toast.js';
import { formatMB } from './format.js';
import { $, app } from './app.js';
import { showApiKeyField, showError } from './notify.js';
import { applyServerConfig, setLanguages } from './settings-ui.js';
import { applyDemo } from './demo.js';
import { limitsFromStatus } from './source-check.js';
import { updateGoButton } from './busy.js';

/** Offline: the status panels grey out and actions that need the server wait until it is back. */
export function setOffline(offline) {
  if (app.offline === offline) return;
  app.offline = offline;
  document.documentElement.dataset.offline = String(offline);
  app.gpu.setOffline(offline);
  document.querySelectorAll('[data-needs-server]').forEach((el) => { el.disabled = offline; });
  updateGoButton();
}

function setServiceStatus(state, key, vars) {
  const pill = $('service-status');
  pill.dataset.state = state;
  const label = $('service-status-label');
  label.dataset.i18n = key;
  label.textContent = t(key, vars);
}

export function onStatus(status) {
  setOffline(false);
  applyDemo(status);
  app.input?.setLimits(limitsFromStatus(status));
  const models = status.models || {};
  const loaded = Object.values(models).filter((m) => m.state === 'loaded').length;
  const loading = Object.values(models).some((m) => m.state === 'loading');
  if (loading) setServiceStatus('busy', 'status.loading');
  else setServiceStatus('online', 'status.online', { n: loaded });
  document.querySelectorAll('[data-model-dot]').forEach((dot) => {
    const m = models[dot.dataset.modelDot];
    dot.dataset.state = m?.state || 'not_loaded';
    dot.parentElement.title = m ? t(`state.${m.state}`) : '';
  });
  applyServerConfig(status);
  if (status.version) $('app-version').textContent = `v${status.version}`;
  if (status.config?.api_key_required) showApiKeyField();
  if (app.languages.length <= 1 && Array.isArray(status.languages) && status.languages.length) setLanguages(status.languages);
}

let warnedAuth = false;
export function onStatusError(err, failures, ctx) {
  if (ctx?.action === 'release') { showError(err); return; }
  if (err?.status === 401) {
    setServiceStatus('auth', 'status.auth');
    if (!warnedAuth) { warnedAuth = true; showError(err); }
    return;
  }
  if (failures >= 2 || err?.code === 'network' || err?.foreign) {
    setServiceStatus('offline', 'status.offline');
    setOffline(true);
  }
}

export function onReleased(res) {
  const released = res?.released || [];
  const sum = (gpuInfo, k) => (gpuInfo?.gpus || []).reduce((n, g) => n + (Number(g[k]) || 0), 0);
  const before = sum(res?.gpu_before, 'memory_used_mb');
  const after = sum(res?.gpu_after, 'memory_used_mb');
  const freed = res?.gpu_before?.available && res?.gpu_after?.available ? Math.max(0, before - after) : null;
  const msg = released.length
    ? t('gpu.releasedMsg', { n: released.length }) + (freed !== null ? ` ${t('gpu.freed', { mb: formatMB(freed, getUiLanguage()) })}` : '')
    : t('gpu.nothingToRelease');
  toast({ type: 'success', title: t('gpu.releasedTitle'), message: msg });
}
