// Streaming recognition from the page: the start message, live partials in the result card, error
// toasts, and streaming an uploaded file (or a finished recording) faster than real time.
import { t } from './i18n.js';
import { toast } from './toast.js';
import { StreamSession, StreamError, pumpSamples } from './streaming.js';
import { TARGET_RATE } from './audio-utils.js';
import { app } from './app.js';
import { beginBusy, endBusy, setBusyLabel } from './busy.js';
import { finishResult, requestFields, restorePrevious } from './outcome.js';
import { showFailure, toastCancelled } from './notify.js';

/** The `start` message for audio at `sampleRate` (the server resamples anything but 16 kHz). */
export function streamStartMessage(sampleRate = TARGET_RATE) {
  const f = requestFields();
  return { model: f.model, language: f.language, context: f.context, return_timestamps: f.return_timestamps, sample_rate: sampleRate };
}

export function streamCallbacks() {
  return {
    onLoading: () => { setBusyLabel('stream.loadingModel'); app.result.setPendingLabel('stream.loadingModel'); },
    onPartial: (msg) => {
      const stable = msg.stable_text ?? '';
      const unstable = msg.unstable_text ?? (msg.text && msg.text.startsWith(stable) ? msg.text.slice(stable.length) : '');
      app.result.showLive(stable, unstable || (!stable ? msg.text || '' : ''));
    },
    onSpeech: (speaking) => { if (app.result.els.card.dataset.state === 'live') app.result.setSpeaking(speaking); },
  };
}

export function streamFailed(err) {
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

/** A streaming failure as the error card shows it: the server's message, or what the close says. */
export function streamFailure(err) {
  if (err instanceof StreamError && err.beforeReady && (!err.message || err.message === 'error')) {
    return Object.assign(new StreamError(t('stream.unavailable', { code: err.closeCode ?? '—' }), { code: 'stream_unavailable' }), { status: err.status });
  }
  if (err instanceof StreamError || err instanceof Error) {
    if (!err.message) err.message = t('stream.closed', { code: err?.closeCode ?? '—' });
    return err;
  }
  return new StreamError(String(err), { code: 'stream_failed' });
}

export function finalToResult(final) {
  const { type, ...rest } = final;
  return { model: app.settings.model, timestamps: null, ...rest };
}

const cancelled = () => new StreamError('cancelled', { code: 'cancelled' });

/** Streaming an uploaded file (or a finished recording) faster than real time, at its own rate. */
export async function runStreamFile(source) {
  const ctrl = new AbortController();
  let session = null;
  const startedAt = beginBusy('stream.decoding', () => { ctrl.abort(); session?.abort(); });
  app.result.showPending('stream.decoding', startedAt);
  try {
    const decoded = await source.decoded;
    if (ctrl.signal.aborted) throw cancelled();
    if (!decoded) {
      showFailure(new StreamError(t('stream.decodeFailed'), { code: 'decode_failed' }), () => runStreamFile(source));
      return;
    }
    session = new StreamSession(streamStartMessage(decoded.rate || TARGET_RATE), streamCallbacks());
    setBusyLabel('stream.connecting');
    app.result.setPendingLabel('stream.connecting');
    await session.start();
    if (ctrl.signal.aborted) throw cancelled();
    setBusyLabel('stream.sending');
    app.result.showLive('', '');
    await pumpSamples(session, decoded.samples, { speed: 6, frameSeconds: 0.2, signal: ctrl.signal });
    if (ctrl.signal.aborted) throw cancelled();
    setBusyLabel('stream.finalizing');
    const final = await session.stop();
    finishResult(finalToResult(final), source, { total: (performance.now() - startedAt) / 1000 });
  } catch (err) {
    if (ctrl.signal.aborted || (err instanceof StreamError && err.code === 'cancelled')) { restorePrevious(); toastCancelled(); }
    else showFailure(streamFailure(err), () => runStreamFile(source));
    session?.abort();
  } finally {
    endBusy();
  }
}
