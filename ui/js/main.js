// Qwen3-ASR Studio: wires the page together. Each concern lives in its own module:
// i18n.js, api.js, input.js (upload + recorder.js), language-picker.js, streaming.js, result.js
// (+ timestamps.js, exports.js), perf-panel.js, gpu-panel.js, toast.js.
import { initI18n, setUiLanguage, onUiLanguageChange, getUiLanguage, t } from './i18n.js';
import { api, ApiError, getApiKey, setApiKey, timingHeaders } from './api.js';
import { initToasts, toast } from './toast.js';
import { loadSettings, saveSettings } from './settings.js';
import { LanguagePicker, labelFor } from './language-picker.js';
import { InputPanel } from './input.js';
import { ResultView } from './result.js';
import { PerfPanel } from './perf-panel.js';
import { GpuPanel } from './gpu-panel.js';
import { StreamSession, StreamError, pumpSamples } from './streaming.js';
import { formatMB, formatStopwatch } from './format.js';

const $ = (id) => document.getElementById(id);

const settings = loadSettings();
let languages = [];
let busy = null; // {onCancel, timer, startedAt}
let lastShown = null; // {result, source} to restore after a failed/cancelled request
let resultAudioUrl = null;
let picker;
let input;
let result;
let perf;
let gpu;

// ---------------------------------------------------------------- helpers
function isMobile() {
  return window.matchMedia('(max-width: 919px)').matches;
}

function setServiceStatus(state, key, vars) {
  const pill = $('service-status');
  pill.dataset.state = state;
  const label = $('service-status-label');
  label.dataset.i18n = key;
  label.textContent = t(key, vars);
}

function findLanguage(nameOrCode) {
  if (!nameOrCode) return null;
  const q = String(nameOrCode).toLowerCase();
  const pool = languages.filter((l) => l.code !== 'auto');
  return pool.find((l) => l.code.toLowerCase() === q)
    || pool.find((l) => l.group !== 'dialect' && String(l.name).toLowerCase() === q)
    || pool.find((l) => l.group !== 'dialect' && String(l.model_language || '').toLowerCase() === q)
    || pool.find((l) => String(l.name).toLowerCase() === q)
    || null;
}

function showError(err, { titleKey } = {}) {
  if (err instanceof ApiError) {
    if (err.code === 'network') return toast({ type: 'error', title: t('error.networkTitle'), message: t('error.network') });
    if (err.code === 'timeout') return toast({ type: 'error', title: t('error.networkTitle'), message: t('error.timeout') });
    if (err.status === 401) {
      toast({ type: 'warn', title: t('error.unauthorizedTitle'), message: err.message || t('error.unauthorized') });
      showApiKeyField(true);
      return null;
    }
    const title = titleKey ? t(titleKey) : t('error.requestFailed', { status: err.status });
    const retry = err.retryAfter ? ` ${t('error.retryAfter', { s: err.retryAfter })}` : '';
    return toast({ type: 'error', title, message: `${err.message}${retry}` });
  }
  return toast({ type: 'error', title: t(titleKey || 'error.title'), message: String(err?.message || err) });
}

/** The API key field only shows when the server asks for one (or a key is already stored). */
function showApiKeyField(focus = false) {
  const form = $('apikey-form');
  form.hidden = false;
  form.closest('.field-grid').classList.remove('is-single');
  if (focus) $('opt-apikey').focus();
}

// ---------------------------------------------------------------- busy state (elapsed + cancel)
function beginBusy(labelKey, onCancel) {
  const startedAt = performance.now();
  const bar = $('action-bar');
  bar.dataset.busy = 'true';
  $('busy').hidden = false;
  setBusyLabel(labelKey);
  const tick = () => { $('busy-timer').textContent = formatStopwatch((performance.now() - startedAt) / 1000); };
  tick();
  busy = { onCancel, startedAt, timer: setInterval(tick, 100) };
  gpu.setFast(true);
  updateGoButton();
  return startedAt;
}

function setBusyLabel(key) {
  const el = $('busy-label');
  el.dataset.i18n = key;
  el.textContent = t(key);
}

function endBusy() {
  if (!busy) return;
  clearInterval(busy.timer);
  busy = null;
  $('action-bar').dataset.busy = 'false';
  $('busy').hidden = true;
  gpu.setFast(false);
  updateGoButton();
  const go = $('go-btn');
  if (document.activeElement === document.body || document.activeElement === $('cancel-btn')) go.focus();
}

function restorePrevious() {
  if (lastShown) result.showResult(lastShown.result, lastShown.source);
  else result.showEmpty();
}

function updateGoButton() {
  const go = $('go-btn');
  const src = input?.source;
  go.disabled = !!busy || !src || (input && input.recordingActive);
  const key = settings.streaming ? 'action.stream' : 'action.transcribe';
  $('go-label').dataset.i18n = key;
  $('go-label').textContent = t(key);
  go.title = !src ? t(input?.tab === 'mic' ? 'action.needRecording' : 'action.needFile') : '';
}

// ---------------------------------------------------------------- results
function finishResult(data, source, { total, load = null }) {
  if (resultAudioUrl) URL.revokeObjectURL(resultAudioUrl);
  resultAudioUrl = source?.blob ? URL.createObjectURL(source.blob) : null;
  const shown = { name: source?.name, audioUrl: resultAudioUrl, peaks: source?.peaks || null, duration: source?.duration };
  result.showResult(data, shown);
  lastShown = { result: data, source: shown };
  if (!shown.peaks && source?.decoded) {
    source.decoded.then((d) => {
      if (d && lastShown?.result === data) { shown.peaks = d.peaks; result.setPeaks(d.peaks); }
    });
  }
  perf.show(data, { total, load, memory: gpu.memorySummary(), gpuAvailable: gpu.status?.gpu?.available });
  gpu.refresh().then(() => perf.setMemory(gpu.memorySummary(), gpu.status?.gpu?.available));
  if (isMobile()) {
    const reduce = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    $('result-card').scrollIntoView({ behavior: reduce ? 'auto' : 'smooth', block: 'start' });
  }
}

function requestFields() {
  return {
    language: settings.language || 'auto',
    model: settings.model,
    return_timestamps: !!settings.timestamps,
    dtype: settings.dtype || '',
    context: (settings.context || '').trim(),
  };
}

async function runOffline(source) {
  const ctrl = new AbortController();
  const f = requestFields();
  const form = new FormData();
  form.append('file', source.blob, source.name);
  form.append('language', f.language);
  form.append('model', f.model);
  form.append('return_timestamps', String(f.return_timestamps));
  if (f.dtype) form.append('dtype', f.dtype);
  if (f.context) form.append('context', f.context);
  const startedAt = beginBusy('action.working', () => ctrl.abort());
  result.showPending('action.working', startedAt);
  watchModelLoad(f.model, f.return_timestamps);
  try {
    const { data, headers } = await api.transcribe(form, { signal: ctrl.signal });
    const times = timingHeaders(headers);
    finishResult(data, source, { total: (performance.now() - startedAt) / 1000, load: times.load });
  } catch (err) {
    restorePrevious();
    if (ctrl.signal.aborted) toast({ type: 'info', title: t('action.cancelledTitle'), message: t('action.cancelled') });
    else showError(err, { titleKey: err?.status ? undefined : 'error.title' });
  } finally {
    endBusy();
  }
}

/** While a request waits, say so when the model it needs is loading (lazy load / scale from zero). */
function watchModelLoad(model, timestamps) {
  const note = () => {
    if (!busy) return;
    const models = gpu.status?.models || {};
    const wanted = [model, ...(timestamps ? Object.keys(models).filter((id) => models[id].kind === 'aligner') : [])];
    const loading = wanted.some((id) => models[id] && (models[id].state === 'loading' || models[id].state === 'not_loaded'));
    result.setPendingNote(loading ? t('action.loadingModel') : '');
    setTimeout(note, 500);
  };
  setTimeout(note, 300);
}

// ---------------------------------------------------------------- streaming
function streamStartMessage() {
  const f = requestFields();
  return { model: f.model, language: f.language, context: f.context, return_timestamps: f.return_timestamps };
}

function streamCallbacks() {
  return {
    onLoading: () => { setBusyLabel('stream.loadingModel'); result.setPendingLabel('stream.loadingModel'); },
    onPartial: (msg) => {
      const stable = msg.stable_text ?? '';
      const unstable = msg.unstable_text ?? (msg.text && msg.text.startsWith(stable) ? msg.text.slice(stable.length) : '');
      result.showLive(stable, unstable || (!stable ? msg.text || '' : ''));
    },
  };
}

function streamFailed(err) {
  if (err instanceof StreamError && err.code === 'cancelled') return;
  if (err instanceof StreamError && err.beforeReady) {
    const msg = err.message && err.message !== 'error'
      ? err.message
      : t('stream.unavailable', { code: err.closeCode ?? '—' });
    toast({ type: 'error', title: t('stream.unavailableTitle'), message: msg, timeout: 12000 });
    return;
  }
  const msg = err?.message || t('stream.closed', { code: err?.closeCode ?? '—' });
  toast({ type: 'error', title: t('stream.failedTitle'), message: msg });
}

function finalToResult(final) {
  const { type, ...rest } = final;
  return { model: settings.model, timestamps: null, ...rest };
}

/** Streaming from the microphone: hooks called by the input panel. */
let micSession = null;
const micHooks = {
  streaming: () => settings.streaming,
  isStreaming: () => !!micSession,
  async beforeStart() {
    if (!settings.streaming) return null;
    if (busy) throw new Error('busy');
    const session = new StreamSession(streamStartMessage(), {
      ...streamCallbacks(),
      onError: (err) => {
        if (micSession !== session) return;
        micSession = null;
        input.abortMic({ keep: true });
        endBusy();
        restorePrevious();
        streamFailed(err);
      },
    });
    micSession = session;
    const startedAt = beginBusy('stream.connecting', async () => {
      micSession = null;
      session.abort();
      await input.abortMic({ keep: true });
      endBusy();
      restorePrevious();
      toast({ type: 'info', title: t('action.cancelledTitle'), message: t('action.cancelled') });
    });
    session.startedAt = startedAt;
    result.showPending('stream.connecting', startedAt);
    session.start().then(() => {
      if (micSession !== session) return;
      setBusyLabel('stream.live');
      result.showLive('', '');
    }).catch((err) => {
      if (micSession !== session) return;
      micSession = null;
      input.abortMic({ keep: true });
      endBusy();
      restorePrevious();
      streamFailed(err);
    });
    return (f32) => session.sendFloat(f32);
  },
  onStartFailed() {
    if (micSession) { micSession.abort(); micSession = null; endBusy(); restorePrevious(); }
  },
  async afterStop(recording) {
    const session = micSession;
    if (!session) return;
    if (!recording) { micSession = null; session.abort(); endBusy(); restorePrevious(); return; }
    setBusyLabel('stream.finalizing');
    try {
      const final = await session.stop();
      if (micSession !== session) return;
      finishResult(finalToResult(final), recording, { total: (performance.now() - session.startedAt) / 1000 });
    } catch (err) {
      if (micSession === session) { restorePrevious(); streamFailed(err); }
    } finally {
      if (micSession === session) { micSession = null; endBusy(); }
    }
  },
};

/** Streaming an uploaded file (or a finished recording) faster than real time. */
async function runStreamFile(source) {
  const ctrl = new AbortController();
  let session = null;
  const startedAt = beginBusy('stream.decoding', () => { ctrl.abort(); session?.abort(); });
  result.showPending('stream.decoding', startedAt);
  try {
    const decoded = await source.decoded;
    if (ctrl.signal.aborted) throw new StreamError('cancelled', { code: 'cancelled' });
    if (!decoded) {
      restorePrevious();
      toast({ type: 'error', title: t('stream.decodeFailedTitle'), message: t('stream.decodeFailed') });
      return;
    }
    session = new StreamSession(streamStartMessage(), streamCallbacks());
    setBusyLabel('stream.connecting');
    result.setPendingLabel('stream.connecting');
    await session.start();
    if (ctrl.signal.aborted) throw new StreamError('cancelled', { code: 'cancelled' });
    setBusyLabel('stream.sending');
    result.showLive('', '');
    await pumpSamples(session, decoded.samples, { speed: 6, frameSeconds: 0.2, signal: ctrl.signal });
    if (ctrl.signal.aborted) throw new StreamError('cancelled', { code: 'cancelled' });
    setBusyLabel('stream.finalizing');
    const final = await session.stop();
    finishResult(finalToResult(final), source, { total: (performance.now() - startedAt) / 1000 });
  } catch (err) {
    restorePrevious();
    if (ctrl.signal.aborted || (err instanceof StreamError && err.code === 'cancelled')) {
      toast({ type: 'info', title: t('action.cancelledTitle'), message: t('action.cancelled') });
    } else streamFailed(err);
    session?.abort();
  } finally {
    endBusy();
  }
}

function go() {
  if (busy) return;
  const src = input.source;
  if (!src) {
    toast({ type: 'info', title: t('action.nothingTitle'), message: t(input.tab === 'mic' ? 'action.needRecording' : 'action.needFile') });
    return;
  }
  if (settings.streaming) runStreamFile(src);
  else runOffline(src);
}

// ---------------------------------------------------------------- settings UI
function updateLangHelp() {
  const help = $('lang-help');
  const sel = picker?.selected;
  help.classList.remove('warn');
  if (!sel) { help.textContent = ''; return; }
  if (settings.timestamps && sel.aligner === false) {
    help.textContent = t('settings.noAligner', { lang: labelFor(sel).main });
    help.classList.add('warn');
  } else if (sel.group === 'dialect') {
    help.textContent = t('settings.dialectNote');
  } else help.textContent = '';
}

function setupSettings() {
  picker = new LanguagePicker({
    root: $('lang-combo'), input: $('lang-input'), toggle: $('lang-toggle'), pop: $('lang-pop'),
    listbox: $('lang-listbox'), empty: $('lang-empty'),
    onChange: (code) => { settings.language = code; saveSettings(settings); updateLangHelp(); },
  });
  document.querySelectorAll('input[name="model"]').forEach((r) => {
    r.checked = r.value === settings.model;
    r.addEventListener('change', () => { if (r.checked) { settings.model = r.value; saveSettings(settings); } });
  });
  if (!document.querySelector('input[name="model"]:checked')) {
    document.querySelector('input[name="model"]').checked = true;
    settings.model = document.querySelector('input[name="model"]').value;
  }
  const ts = $('opt-timestamps');
  ts.checked = settings.timestamps;
  ts.addEventListener('change', () => { settings.timestamps = ts.checked; saveSettings(settings); updateLangHelp(); });
  const st = $('opt-streaming');
  st.checked = settings.streaming;
  st.addEventListener('change', () => { settings.streaming = st.checked; saveSettings(settings); updateGoButton(); });
  const dt = $('opt-dtype');
  dt.value = settings.dtype;
  if (dt.value !== settings.dtype) { settings.dtype = ''; dt.value = ''; }
  dt.addEventListener('change', () => { settings.dtype = dt.value; saveSettings(settings); });
  const ctx = $('opt-context');
  const count = $('context-count');
  ctx.value = settings.context;
  const upd = () => { count.textContent = `${ctx.value.length} / ${ctx.maxLength}`; };
  upd();
  ctx.addEventListener('input', () => { settings.context = ctx.value; saveSettings(settings); upd(); });
  $('apikey-form').addEventListener('submit', (e) => { e.preventDefault(); $('opt-apikey').dispatchEvent(new Event('change')); });
  const key = $('opt-apikey');
  key.value = getApiKey();
  if (!key.value) {
    $('apikey-form').hidden = true;
    $('apikey-form').closest('.field-grid').classList.add('is-single');
  }
  key.addEventListener('change', () => {
    setApiKey(key.value.trim());
    gpu.refresh();
    if (languages.length <= 1) loadLanguages();
  });
}

function applyServerConfig(status) {
  const dtypes = status?.config?.dtypes;
  const dt = $('opt-dtype');
  if (Array.isArray(dtypes) && dtypes.length) {
    const have = Array.from(dt.options).map((o) => o.value).filter(Boolean);
    if (have.join() !== dtypes.join()) {
      Array.from(dt.options).filter((o) => o.value).forEach((o) => o.remove());
      for (const d of dtypes) { const o = document.createElement('option'); o.value = d; o.textContent = d; dt.append(o); }
      dt.value = dtypes.includes(settings.dtype) ? settings.dtype : '';
    }
  }
  const maxCtx = status?.config?.max_context_chars;
  if (Number.isFinite(maxCtx) && maxCtx > 0) { $('opt-context').maxLength = maxCtx; $('context-count').textContent = `${$('opt-context').value.length} / ${maxCtx}`; }
}

let languagesRetry = null;
async function loadLanguages() {
  clearTimeout(languagesRetry);
  try {
    const data = await api.languages();
    languages = data.languages || [];
    picker.setLanguages(languages, settings.language);
    updateLangHelp();
  } catch (err) {
    if (!languages.length) picker.setLanguages([], 'auto');
    languagesRetry = setTimeout(loadLanguages, 5000);
    if (err?.status === 401) return; // the status poll reports the missing key
  }
}

// ---------------------------------------------------------------- UI language
function markUiLangButtons() {
  const lang = getUiLanguage();
  document.querySelectorAll('[data-ui-lang]').forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.uiLang === lang)));
}

function setupUiLanguage() {
  document.querySelectorAll('[data-ui-lang]').forEach((b) => {
    b.addEventListener('click', () => setUiLanguage(b.dataset.uiLang));
  });
  onUiLanguageChange(() => {
    markUiLangButtons();
    picker.relabel();
    input.relabel();
    result.relabel();
    perf.render();
    gpu.render();
    updateGoButton();
    updateLangHelp();
  });
}

// ---------------------------------------------------------------- GPU status -> header + model dots
let statusFailures = 0;
function onStatus(status) {
  statusFailures = 0;
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
  if (languages.length <= 1 && Array.isArray(status.languages) && status.languages.length) {
    languages = status.languages;
    picker.setLanguages(languages, settings.language);
    updateLangHelp();
  }
}

let warnedAuth = false;
function onStatusError(err, failures, ctx) {
  if (ctx?.action === 'release') { showError(err); return; }
  if (err?.status === 401) {
    setServiceStatus('auth', 'status.auth');
    if (!warnedAuth) { warnedAuth = true; showError(err); }
    return;
  }
  statusFailures = failures;
  if (failures >= 2 || err?.code === 'network') setServiceStatus('offline', 'status.offline');
}

function onReleased(res) {
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

// ---------------------------------------------------------------- boot
function collectElements() {
  const q = (sel) => document.querySelector(sel);
  return {
    input: {
      tabs: q('.tabs'), tabUpload: $('tab-upload'), tabMic: $('tab-mic'), panelUpload: $('panel-upload'), panelMic: $('panel-mic'),
      dropzone: $('dropzone'), fileInput: $('file-input'), fileCard: $('file-card'), fileName: $('file-name'), fileSize: $('file-size'),
      fileDuration: $('file-duration'), fileAudio: $('file-audio'), fileClear: $('file-clear'), fileWave: $('file-wave'),
      micStage: $('mic-stage'), micBtn: $('mic-btn'), micTimer: $('mic-timer'), micLevel: $('mic-level'), micHint: $('mic-hint'), micScope: $('mic-scope'),
      recCard: $('rec-card'), recDuration: $('rec-duration'), recSize: $('rec-size'), recAudio: $('rec-audio'), recClear: $('rec-clear'), recWave: $('rec-wave'),
    },
    result: {
      card: $('result-card'), empty: $('result-empty'), pending: $('result-pending'), pendingLabel: $('pending-label'), pendingTimer: $('pending-timer'),
      pendingNote: $('pending-note'), transcriptWrap: $('transcript-wrap'), transcript: $('transcript'), stable: $('t-stable'), unstable: $('t-unstable'),
      actions: $('result-actions'), live: $('badge-live'), badgeLang: $('badge-lang'), badgeLangText: $('badge-lang-text'), badgeModel: $('badge-model'),
      copy: $('copy-btn'), exportButtons: Array.from(document.querySelectorAll('[data-export]')),
      ts: {
        section: $('ts-section'), canvas: $('ts-canvas'), audio: $('ts-audio'), play: $('ts-play'), time: $('ts-time'), count: $('ts-count'),
        words: $('ts-words'), tableWrap: $('ts-table-wrap'), tbody: q('#ts-table tbody'), zoomIn: $('ts-zoom-in'), zoomOut: $('ts-zoom-out'),
        zoomFit: $('ts-zoom-fit'), scroll: $('ts-scroll'), viewWords: $('ts-view-words'), viewTable: $('ts-view-table'),
      },
    },
  };
}

async function boot() {
  initToasts($('toasts'));
  try {
    await initI18n();
  } catch (err) {
    toast({ type: 'error', title: 'i18n', message: String(err?.message || err) });
  }
  markUiLangButtons();
  const els = collectElements();

  gpu = new GpuPanel({
    card: $('gpu-card'), gpuList: $('gpu-list'), modelList: $('model-list'), foot: $('gpu-foot'), releaseAll: $('release-all'),
    onStatus, onError: onStatusError, onReleased,
  });
  setupSettings();
  input = new InputPanel(els.input, {
    micHooks,
    onChange: () => updateGoButton(),
    onMicError: (kind) => toast({ type: 'error', title: t('mic.errTitle'), message: t(`mic.err.${kind}`), timeout: 12000 }),
  });
  // keep the Go button in step with recording start/stop
  new MutationObserver(() => updateGoButton()).observe($('mic-stage'), { attributes: true, attributeFilter: ['data-state'] });
  result = new ResultView(els.result, {
    findLanguage,
    onCopied: () => toast({ type: 'success', title: t('result.copiedTitle'), message: t('result.copiedMsg'), timeout: 2500 }),
    onCopyFailed: () => toast({ type: 'error', title: t('result.copyFailed'), message: t('result.copyFailedMsg') }),
  });
  perf = new PerfPanel($('perf-stats'));
  setupUiLanguage();

  $('go-btn').addEventListener('click', go);
  $('cancel-btn').addEventListener('click', () => busy?.onCancel?.());
  document.addEventListener('keydown', (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') { e.preventDefault(); go(); }
    else if (e.key === 'Escape' && busy && !e.defaultPrevented && !e.target.closest?.('input, textarea, select')) busy.onCancel?.();
  });

  picker.setLanguages([], settings.language);
  updateGoButton();
  gpu.start();
  await loadLanguages();
  document.documentElement.dataset.ready = 'true';
}

boot().catch((err) => {
  // eslint-disable-next-line no-console
  console.warn('boot failed', err);
  toast({ type: 'error', title: 'Startup failed', message: String(err?.message || err) });
});
