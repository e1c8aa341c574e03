// What a request sends (from the settings) and what its answer shows: the result card, the
// performance panel, the history (kept, and reopened from), and the previous result back after a
// failure or a cancel.
import { $, app } from './app.js';
import { makeDecoded } from './input.js';
import { restoreSettings } from './settings-ui.js';

export function requestFields() {
  const { settings } = app;
  return {
    language: settings.language || 'auto',
    model: settings.model,
    return_timestamps: !!settings.timestamps,
    dtype: settings.dtype || '',
    context: (settings.context || '').trim(),
  };
}

export function restorePrevious() {
  if (app.lastShown) app.result.showResult(app.lastShown.result, app.lastShown.source);
  else app.result.showEmpty();
}

/**
 * Show a finished result. fromHistory: a reopened entry (not kept again; no live GPU numbers).
 */
export function finishResult(data, source, { total, load = null, fromHistory = false }) {
  const { result, perf, gpu } = app;
  if (app.resultAudioUrl) URL.revokeObjectURL(app.resultAudioUrl);
  app.resultAudioUrl = source?.blob ? URL.createObjectURL(source.blob) : null;
  const shown = { name: source?.name, audioUrl: app.resultAudioUrl, peaks: source?.peaks || null, duration: source?.duration };
  result.showResult(data, shown);
  app.lastShown = { result: data, source: shown };
  if (!shown.peaks && source?.decoded) {
    source.decoded.then((d) => {
      if (d && app.lastShown?.result === data) { shown.peaks = d.peaks; result.setPeaks(d.peaks); }
    });
  }
  if (fromHistory) perf.show(data, { total });
  else {
    perf.show(data, { total, load, memory: gpu.memorySummary(), gpuAvailable: gpu.status?.gpu?.available, models: gpu.status?.models });
    gpu.refresh().then(() => perf.setMemory(gpu.memorySummary(), gpu.status?.gpu?.available, gpu.status?.models));
    app.history?.save(data, source, app.settings);
  }
  if (window.matchMedia('(max-width: 759px)').matches) { // one column (ui/css/app.css)
    const reduce = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    $('result-card').scrollIntoView({ behavior: reduce ? 'auto' : 'smooth', block: 'start' });
  }
}

/** Reopen a history entry: its settings back in the settings card, its result with its audio. */
export function reopenEntry(entry) {
  if (app.busy) return; // settings are locked while a request runs
  restoreSettings(entry.settings);
  const blob = entry.audio || null;
  const source = { name: entry.name, blob, duration: entry.duration, peaks: null, decoded: blob ? makeDecoded(blob) : null };
  finishResult(entry.result, source, { total: null, fromHistory: true });
}
