// Transcribing the chosen file or recording: POST /api/transcribe with upload and server progress
// (or streaming it, when the Streaming switch is on), with the elapsed time, Cancel, a note while a
// model loads, and a failure kept in the transcript card with Retry.
import { t } from './i18n.js';
import { transcribeWithProgress } from './upload-progress.js';
import { toast } from './toast.js';
import { app } from './app.js';
import { beginBusy, endBusy } from './busy.js';
import { finishResult, requestFields, restorePrevious } from './outcome.js';
import { showFailure, toastCancelled } from './notify.js';
import { runStreamFile } from './stream-flow.js';

/** While a request waits, say so when the model it needs is loading (lazy load / scale from zero). */
function watchModelLoad(model, timestamps) {
  const note = () => {
    if (!app.busy) return;
    const models = app.gpu.status?.models || {};
    // the ASR model is asked first: not loaded yet means it is about to load. The aligner is asked
    // only after the text is back, so only its own 'loading' counts (no flash while it waits its turn)
    const aligners = timestamps ? Object.keys(models).filter((id) => models[id].kind === 'aligner') : [];
    const loading = (models[model] && ['loading', 'not_loaded'].includes(models[model].state))
      || aligners.some((id) => models[id].state === 'loading');
    app.result.setPendingNote(loading ? t('action.loadingModel') : '');
    setTimeout(note, 500);
  };
  setTimeout(note, 300);
}

export async function runOffline(source) {
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
  app.result.showPending('progress.uploading', startedAt);
  watchModelLoad(f.model, f.return_timestamps);
  try {
    const { data } = await transcribeWithProgress(form, {
      signal: ctrl.signal,
      onUpload: (loaded, total) => app.result.setUpload(loaded, total),
      onProgress: (p) => app.result.setProgress(p, (performance.now() - startedAt) / 1000),
    });
    finishResult(data, source, { total: (performance.now() - startedAt) / 1000 });
  } catch (err) {
    if (ctrl.signal.aborted) { restorePrevious(); toastCancelled(); } else showFailure(err, () => runOffline(source));
  } finally {
    endBusy();
  }
}

/** The Go button (and Ctrl/Cmd+Enter). */
export function go() {
  if (app.busy) return;
  const src = app.input.source;
  if (!src) {
    toast({ type: 'info', title: t('action.nothingTitle'), message: t(app.input.tab === 'mic' ? 'action.needRecording' : 'action.needFile') });
    return;
  }
  if (src.refusal) { app.input.els.fileHint.scrollIntoView?.({ block: 'nearest' }); return; } // the hint says why
  if (app.settings.streaming) runStreamFile(src);
  else runOffline(src);
}
