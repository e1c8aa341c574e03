// What a request sends (from the settings) and what its answer shows: the result card, the
// performance panel, and the previous result back after a failure or a cancel.
import { $, app } from './app.js';

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

export function finishResult(data, source, { total, load = null }) {
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
  perf.show(data, { total, load, memory: gpu.memorySummary(), gpuAvailable: gpu.status?.gpu?.available });
  gpu.refresh().then(() => perf.setMemory(gpu.memorySummary(), gpu.status?.gpu?.available));
  if (window.matchMedia('(max-width: 919px)').matches) {
    const reduce = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    $('result-card').scrollIntoView({ behavior: reduce ? 'auto' : 'smooth', block: 'start' });
  }
}
