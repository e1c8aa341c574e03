// Qwen3-ASR Studio: builds the panels and wires the page together. Each concern lives in its own
// module: app.js (shared state), busy.js (action bar), transcribe-flow.js, stream-flow.js and
// mic-flow.js (the three ways to recognise), outcome.js (showing results), settings-ui.js,
// status-ui.js (status polling, offline state), notify.js (the error card and toasts), demo.js (demo
// banner, sample clips), upload-progress.js (upload + server-sent progress); the panels are input.js
// (upload, source-check.js; mic-input.js + recorder.js), language-picker.js (+ han-fold.js), result.js
// (+ error-card.js, timestamps.js with timeline-draw.js, timeline-hit.js, word-list.js and
// transcript-follow.js, exports.js), perf-panel.js, gpu-panel.js (+ gpu-reasons.js), history-ui.js
// (+ history-store.js), shortcuts.js and toast.js. first-paint.js runs before all of them.
import { initI18n, t } from './i18n.js';
import { initToasts, toast } from './toast.js';
import { InputPanel } from './input.js';
import { ResultView } from './result.js';
import { PerfPanel } from './perf-panel.js';
import { GpuPanel } from './gpu-panel.js';
import { $, app } from './app.js';
import { updateGoButton } from './busy.js';
import { go } from './transcribe-flow.js';
import { micHooks } from './mic-flow.js';
import { showError } from './notify.js';
import { findLanguage, loadLanguages, markUiLangButtons, setupSettings, setupUiLanguage } from './settings-ui.js';
import { onReleased, onStatus, onStatusError } from './status-ui.js';
import { loadSamples } from './demo.js';
import { HistoryPanel } from './history-ui.js';
import { reopenEntry } from './outcome.js';
import { bindShortcuts } from './shortcuts.js';

function collectElements() {
  const q = (sel) => document.querySelector(sel);
  return {
    input: {
      tabs: q('.tabs'), tabUpload: $('tab-upload'), tabMic: $('tab-mic'), panelUpload: $('panel-upload'), panelMic: $('panel-mic'),
      dropzone: $('dropzone'), fileInput: $('file-input'), fileCard: $('file-card'), fileName: $('file-name'), fileSize: $('file-size'),
      fileDuration: $('file-duration'), fileAudio: $('file-audio'), fileClear: $('file-clear'), fileWave: $('file-wave'),
      fileHint: $('file-hint'), fileHintText: $('file-hint-text'),
      micStage: $('mic-stage'), micBtn: $('mic-btn'), micTimer: $('mic-timer'), micLevel: $('mic-level'), micHint: $('mic-hint'), micScope: $('mic-scope'),
      recCard: $('rec-card'), recDuration: $('rec-duration'), recSize: $('rec-size'), recAudio: $('rec-audio'), recClear: $('rec-clear'), recWave: $('rec-wave'),
    },
    result: {
      card: $('result-card'), empty: $('result-empty'), pending: $('result-pending'), pendingLabel: $('pending-label'), pendingTimer: $('pending-timer'),
      pendingNote: $('pending-note'), pendingProgress: $('pending-progress'), pendingBar: $('pending-bar'), pendingFill: $('pending-fill'),
      pendingPercent: $('pending-percent'), pendingDetail: $('pending-detail'), pendingText: $('pending-text'),
      error: $('result-error'), errorTitle: $('error-title'), errorMessage: $('error-message'), errorMeta: $('error-meta'), retry: $('retry-btn'),
      transcriptWrap: $('transcript-wrap'), transcript: $('transcript'), stable: $('t-stable'), unstable: $('t-unstable'),
      actions: $('result-actions'), live: $('badge-live'), speech: $('badge-speech'), speechText: $('badge-speech-text'), badgeLang: $('badge-lang'), badgeLangText: $('badge-lang-text'), badgeModel: $('badge-model'),
      copy: $('copy-btn'), copyTimed: $('copy-timed-btn'), exportButtons: Array.from(document.querySelectorAll('[data-export]')),
      ts: {
        section: $('ts-section'), canvas: $('ts-canvas'), audio: $('ts-audio'), play: $('ts-play'), time: $('ts-time'), count: $('ts-count'),
        words: $('ts-words'), tableWrap: $('ts-table-wrap'), tbody: q('#ts-table tbody'), zoomIn: $('ts-zoom-in'), zoomOut: $('ts-zoom-out'),
        zoomFit: $('ts-zoom-fit'), scroll: $('ts-scroll'), viewWords: $('ts-view-words'), viewTable: $('ts-view-table'),
        follow: $('t-stable'), // the transcript text follows playback (transcript-follow.js)
      },
    },
  };
}

function bindKeys() {
  $('go-btn').addEventListener('click', go);
  $('cancel-btn').addEventListener('click', () => app.busy?.onCancel?.());
  document.addEventListener('keydown', (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') { e.preventDefault(); go(); }
    else if (e.key === 'Escape' && app.busy && !e.defaultPrevented && !e.target.closest?.('input, textarea, select')) app.busy.onCancel?.();
  });
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

  app.gpu = new GpuPanel({
    card: $('gpu-card'), gpuList: $('gpu-list'), modelList: $('model-list'), foot: $('gpu-foot'), releaseAll: $('release-all'),
    onStatus, onError: onStatusError, onReleased,
  });
  setupSettings();
  app.input = new InputPanel(els.input, {
    micHooks,
    onChange: () => updateGoButton(),
    onRecordingStart: () => app.perf?.clear(),
    onMicError: (kind) => toast({ type: 'error', title: t('mic.errTitle'), message: t(`mic.err.${kind}`), timeout: 12000 }),
  });
  // keep the Go button in step with recording start/stop
  new MutationObserver(() => updateGoButton()).observe($('mic-stage'), { attributes: true, attributeFilter: ['data-state'] });
  app.result = new ResultView(els.result, {
    findLanguage,
    onCopied: () => toast({ type: 'success', title: t('result.copiedTitle'), message: t('result.copiedMsg'), timeout: 2500 }),
    onCopyFailed: () => toast({ type: 'error', title: t('result.copyFailed'), message: t('result.copyFailedMsg') }),
    onExportFailed: (err) => showError(err),
  });
  app.perf = new PerfPanel($('perf-stats'));
  app.history = new HistoryPanel({
    list: $('history-list'), empty: $('history-empty'), clear: $('history-clear'),
    onOpen: (entry) => reopenEntry(entry),
    onError: (err) => toast({ type: 'error', title: t('history.failed'), message: String(err?.message || err) }),
  });
  setupUiLanguage();
  bindKeys();
  bindShortcuts({ view: app.result.ts, dialog: $('keys-dialog') });

  app.picker.setLanguages([], app.settings.language);
  updateGoButton();
  app.gpu.start();
  await app.history.refresh();
  await loadLanguages();
  await loadSamples();
  document.documentElement.dataset.ready = 'true';
}

boot().catch((err) => {
  // eslint-disable-next-line no-console
  console.warn('boot failed', err);
  toast({ type: 'error', title: 'Startup failed', message: String(err?.message || err) });
});
