// The audio input card's microphone: start/stop with the hooks that open a live stream, the
// timer, level meter and scope, and the finished recording's card. Mixed into InputPanel (input.js).
import { t, getUiLanguage } from './i18n.js';
import { computePeaks } from './audio-utils.js';
import { formatBytes, formatClock, formatStopwatch, fileStamp } from './format.js';
import { MicError, drawScope } from './recorder.js';

const MIN_RECORDING_SECONDS = 0.1;

/** Stop a player and empty its card. */
export function resetPlayer(audio, card) {
  audio.pause();
  audio.removeAttribute('src');
  audio.load();
  card.hidden = true;
}

export const micMethods = {
  _bindMic() {
    const { micBtn, recClear } = this.els;
    micBtn.addEventListener('click', () => {
      if (this.micState === 'recording') this.stopMic();
      else if (this.micState === 'idle') this.startMic();
    });
    recClear.addEventListener('click', () => this.clearRecording());
  },

  _setMicState(state, hintKey, isError = false) {
    this.micState = state;
    const { micStage, micBtn, micHint } = this.els;
    micStage.dataset.state = state;
    micBtn.setAttribute('aria-pressed', String(state === 'recording'));
    micBtn.setAttribute('aria-label', state === 'recording' ? t('mic.stop') : t('mic.start'));
    micBtn.dataset.i18nAttr = state === 'recording' ? 'aria-label:mic.stop' : 'aria-label:mic.start';
    micBtn.disabled = state === 'starting' || state === 'finishing';
    if (hintKey) {
      micHint.dataset.i18n = hintKey;
      micHint.textContent = t(hintKey);
    }
    micHint.classList.toggle('is-error', isError);
  },

  async startMic() {
    if (this.micState !== 'idle') return;
    this._setMicState('starting', 'mic.hintStarting');
    try {
      await this.micHooks.beforeStart?.();
    } catch {
      this._setMicState('idle', 'mic.hintIdle');
      return;
    }
    this._abortPending = false;
    try {
      await this.recorder.start();
    } catch (err) {
      const kind = err instanceof MicError ? err.kind : 'unknown';
      this._setMicState('idle', `mic.err.${kind}`, true);
      this.onMicError(kind, err);
      return;
    }
    try {
      // the stream opens once the device rate is known: its start message carries that rate
      this.recorder.onFrame = this._abortPending ? null : (this.micHooks.started?.({ sampleRate: this.recorder.rate }) || null);
    } catch {
      this._abortPending = true;
    }
    if (this._abortPending) {
      this._abortPending = false;
      this._endRecorder({ keep: false });
      return;
    }
    this.levels = [];
    // a new recording: the previous one and its numbers are gone
    this.clearRecording({ silent: true, keepHint: true });
    this.onRecordingStart?.();
    this._setMicState('recording', this.micHooks.streaming?.() ? 'mic.hintStreaming' : 'mic.hintRecording');
    this._tickMic();
  },

  _tickMic() {
    if (this.micState !== 'recording') return;
    this.els.micTimer.textContent = formatStopwatch(this.recorder.elapsed);
    drawScope(this.els.micScope, this.levels);
    requestAnimationFrame(this._tickMic);
  },

  _onLevel(lv) {
    this.levels.push(lv);
    if (this.levels.length > 400) this.levels.splice(0, this.levels.length - 400);
    this.els.micLevel.querySelector('.level-fill').style.transform = `scaleX(${lv.toFixed(3)})`;
    this.els.micLevel.setAttribute('aria-valuenow', String(Math.round(lv * 100)));
  },

  /** The one way a recording ends: stop the recorder, reset the meter and scope; the audio when kept. */
  _endRecorder({ keep }) {
    const rec = keep ? this.recorder.stop() : (this.recorder.cancel(), null);
    this._setMicState('idle', keep ? 'mic.hintDone' : 'mic.hintIdle');
    drawScope(this.els.micScope, []);
    return rec && rec.duration >= MIN_RECORDING_SECONDS ? rec : null;
  },

  /** Stop recording; the recording becomes the current source. */
  async stopMic() {
    if (this.micState !== 'recording') return null;
    const rec = this._endRecorder({ keep: true });
    if (!rec) {
      this._setMicState('idle', 'mic.err.tooShort', true);
      await this.micHooks.afterStop?.(null);
      return null;
    }
    const streamed = !!this.micHooks.streaming?.() && !!this.micHooks.isStreaming?.();
    this.setRecording(rec, { hintKey: streamed ? 'mic.hintStreamDone' : 'mic.hintDone' });
    await this.micHooks.afterStop?.(this.recording);
    return this.recording;
  },

  /** Abort a running recording (e.g. when streaming failed). Keeps what was captured unless `keep` is false. */
  async abortMic({ keep = true } = {}) {
    if (this.micState === 'starting') { this._abortPending = true; return; }
    if (this.micState !== 'recording') return;
    const rec = this._endRecorder({ keep });
    if (rec) this.setRecording(rec, { hintKey: 'mic.hintDone' });
  },

  setRecording(rec, { hintKey } = {}) {
    this.clearRecording({ silent: true, keepHint: true });
    if (hintKey) this._setMicState(this.micState, hintKey);
    const url = URL.createObjectURL(rec.blob);
    const name = `recording-${fileStamp()}.wav`;
    const peaks = computePeaks(rec.samples, rec.rate);
    this.recording = {
      kind: 'recording', blob: rec.blob, name, size: rec.blob.size, url, duration: rec.duration, peaks,
      decoded: Promise.resolve({ samples: rec.samples, rate: rec.rate, peaks, duration: rec.duration }),
    };
    const { recCard, recDuration, recSize, recAudio, micTimer } = this.els;
    recDuration.textContent = formatClock(rec.duration, { tenths: true });
    recSize.textContent = formatBytes(rec.blob.size, getUiLanguage());
    recAudio.src = url;
    recCard.hidden = false;
    micTimer.textContent = formatStopwatch(rec.duration);
    requestAnimationFrame(() => this._redrawMini());
    this.onChange(this.source);
  },

  clearRecording({ silent = false, keepHint = false } = {}) {
    if (this.recording) URL.revokeObjectURL(this.recording.url);
    this.recording = null;
    resetPlayer(this.els.recAudio, this.els.recCard);
    if (this.micState === 'idle' && !keepHint) {
      this.els.micTimer.textContent = formatStopwatch(0);
      this._setMicState('idle', 'mic.hintIdle');
    }
    if (!silent) this.onChange(this.source);
  },
};
