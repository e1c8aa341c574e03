// Transcribing the chosen file or recording: POST /api/transcribe (or streaming it, when the
// Streaming switch is on), with the elapsed time, Cancel, and a note while a model loads.
import { t } from './i18n.js';
import { api, timingHeaders } from './api.js';
import { toast } from './toast.js';
import { app } from './app.js';
import { beginBusy, endBusy } from './busy.js';
import { finishResult, requestFields, restorePrevious } from './outcome.js';
import { showError, toastCancelled } from './notify.js';
import { runStreamFile } from './stream-flow.js';

/** While a request waits, say so when the model it needs is loading (lazy load / scale from zero). */
function watchModelLoad(model, timestamps) {
  const note = () => {
    if (!app.busy) return;
    const models = app.gpu.status?.models || {};
    const wanted = [model, ...(timestamps ? Object.keys(models).filter((id) => models[id].kind === 'aligner') : [])];
    const loading = wanted.some((id) => models[id] && (models[id].state === 'loading' || models[id].state === 'not_loaded'));
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
  app.result.showPending('action.working', startedAt);
  watchModelLoad(f.model, f.return_timestamps);
  try {
    const { data, headers } = await api.transcribe(form, { signal: ctrl.signal });
    const times = timingHeaders(headers);
    finishResult(data, source, { total: (performance.now() - startedAt) / 1000, load: times.load });
  } catch (err) {
    restorePrevious();
    if (ctrl.signal.aborted) toastCancelled();
    else showError(err, { titleKey: err?.status ? undefined : 'error.title' });
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
  if (app.settings.streaming) runStreamFile(src);
  else runOffline(src);
}
