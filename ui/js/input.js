// Audio input card: the Upload / Microphone tabs, drag-and-drop + click-to-choose, file details
// (name, size, duration, waveform, player) and microphone recording with timer, level meter and scope.
import { t, getUiLanguage } from './i18n.js';
import { computePeaks, decodeAudio, drawMiniWave, toMono, TARGET_RATE } from './audio-utils.js';
import { formatBytes, formatClock, formatStopwatch, fileStamp } from './format.js';
import { MicRecorder, MicError, drawScope } from './recorder.js';

const MAX_DECODE_BYTES = 120 * 1024 * 1024; // bigger files upload fine; they just get no preview waveform
const MIN_RECORDING_SECONDS = 0.1;

/** Stop a player and empty its card. */
function resetPlayer(audio, card) {
  audio.pause();
  audio.removeAttribute('src');
  audio.load();
  card.hidden = true;
}

/** A source the app can send: {kind, blob, name, size, url, duration, decoded: Promise<{samples, rate, peaks}>|null} */
function makeDecoded(blob) {
  if (blob.size > MAX_DECODE_BYTES) return Promise.resolve(null);
  return decodeAudio(blob)
    .then(async (buf) => {
      const samples = await toMono(buf, TARGET_RATE);
      return { samples, rate: TARGET_RATE, peaks: computePeaks(samples, TARGET_RATE), duration: buf.duration };
    })
    .catch(() => null);
}

export class InputPanel {
  constructor(els, { micHooks = {}, onChange, onMicError } = {}) {
    this.els = els;
    // micHooks: {beforeStart() (throws to refuse), started({sampleRate}) -> onFrame | null (throws to
    // refuse), afterStop(recording | null), streaming(), isStreaming()}
    this.micHooks = micHooks;
    this.onChange = onChange || (() => {});
    this.onMicError = onMicError || (() => {});
    this.file = null;
    this.recording = null;
    this.tab = 'upload';
    this.levels = [];
    this.micState = 'idle';
    this.recorder = new MicRecorder({ onLevel: (lv) => this._onLevel(lv) });
    this._bindTabs();
    this._bindUpload();
    this._bindMic();
    for (const [audio, wave, get] of [[els.fileAudio, els.fileWave, () => this.file], [els.recAudio, els.recWave, () => this.recording]]) {
      const paint = () => {
        const src = get();
        if (src?.peaks) drawMiniWave(wave, src.peaks, { progress: audio.duration ? audio.currentTime / audio.duration : 0 });
      };
      audio.addEventListener('timeupdate', paint);
      audio.addEventListener('seeked', paint);
      audio.addEventListener('ended', paint);
      wave.addEventListener('click', (e) => {
        if (!audio.duration || !Number.isFinite(audio.duration)) return;
        const r = wave.getBoundingClientRect();
        audio.currentTime = ((e.clientX - r.left) / r.width) * audio.duration;
      });
    }
    this._ro = new ResizeObserver(() => this._redrawMini());
    this._ro.observe(els.fileWave);
    this._ro.observe(els.recWave);
  }

  /** The source the Transcribe button would send, or null. */
  get source() {
    return this.tab === 'upload' ? this.file : this.recording;
  }

  get recordingActive() {
    return this.micState === 'recording' || this.micState === 'starting';
  }

  // ---------------- tabs ----------------
  _bindTabs() {
    const { tabUpload, tabMic, tabs } = this.els;
    const list = [tabUpload, tabMic];
    const select = (which, focus = false) => {
      this.tab = which;
      const up = which === 'upload';
      tabUpload.setAttribute('aria-selected', String(up));
      tabMic.setAttribute('aria-selected', String(!up));
      tabUpload.tabIndex = up ? 0 : -1;
      tabMic.tabIndex = up ? -1 : 0;
      this.els.panelUpload.hidden = !up;
      this.els.panelMic.hidden = up;
      tabs.dataset.active = up ? 'upload' : 'mic';
      if (focus) (up ? tabUpload : tabMic).focus();
      this.onChange(this.source);
      requestAnimationFrame(() => {
        this._redrawMini();
        if (!up && this.micState !== 'recording') drawScope(this.els.micScope, []);
      });
    };
    this.selectTab = select;
    tabUpload.addEventListener('click', () => select('upload'));
    tabMic.addEventListener('click', () => select('mic'));
    list.forEach((tab, i) => tab.addEventListener('keydown', (e) => {
      if (['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(e.key)) {
        e.preventDefault();
        const next = e.key === 'Home' ? 0 : e.key === 'End' ? 1 : (i + 1) % 2;
        select(next === 0 ? 'upload' : 'mic', true);
      }
    }));
  }

  // ---------------- upload ----------------
  _bindUpload() {
    const { dropzone, fileInput, fileClear } = this.els;
    dropzone.addEventListener('click', () => fileInput.click());
    dropzone.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); fileInput.click(); }
    });
    fileInput.addEventListener('change', () => {
      if (fileInput.files && fileInput.files[0]) this.setFile(fileInput.files[0]);
      fileInput.value = '';
    });
    let depth = 0;
    const isFileDrag = (e) => Array.from(e.dataTransfer?.types || []).includes('Files');
    dropzone.addEventListener('dragenter', (e) => { if (!isFileDrag(e)) return; e.preventDefault(); depth += 1; dropzone.classList.add('is-drag'); });
    dropzone.addEventListener('dragover', (e) => { if (!isFileDrag(e)) return; e.preventDefault(); e.dataTransfer.dropEffect = 'copy'; });
    dropzone.addEventListener('dragleave', () => { depth = Math.max(0, depth - 1); if (!depth) dropzone.classList.remove('is-drag'); });
    dropzone.addEventListener('drop', (e) => {
      e.preventDefault();
      depth = 0;
      dropzone.classList.remove('is-drag');
      const f = e.dataTransfer?.files?.[0];
      if (f) this.setFile(f);
    });
    // A file dropped anywhere on the page goes to the upload tab instead of navigating away.
    window.addEventListener('dragover', (e) => { if (isFileDrag(e)) e.preventDefault(); });
    window.addEventListener('drop', (e) => {
      if (!isFileDrag(e) || dropzone.contains(e.target)) return;
      e.preventDefault();
      const f = e.dataTransfer?.files?.[0];
      if (f) { this.selectTab('upload'); this.setFile(f); }
    });
    fileClear.addEventListener('click', () => this.clearFile());
  }

  setFile(file) {
    this.clearFile({ silent: true });
    const url = URL.createObjectURL(file);
    const src = { kind: 'file', blob: file, name: file.name || 'audio', size: file.size, url, duration: null, decoded: null, peaks: null };
    this.file = src;
    const { fileCard, fileName, fileSize, fileDuration, fileAudio, dropzone } = this.els;
    fileName.textContent = src.name;
    fileName.title = src.name;
    fileSize.textContent = formatBytes(file.size, getUiLanguage());
    fileDuration.textContent = t('input.durationPending');
    fileAudio.src = url;
    fileCard.hidden = false;
    dropzone.classList.add('has-file');
    const onMeta = () => {
      if (this.file !== src) return;
      if (Number.isFinite(fileAudio.duration) && !src.duration) {
        src.duration = fileAudio.duration;
        fileDuration.textContent = formatClock(src.duration, { tenths: true });
      }
    };
    fileAudio.addEventListener('loadedmetadata', onMeta, { once: true });
    src.decoded = makeDecoded(file).then((d) => {
      if (this.file !== src) return d;
      if (d) {
        src.duration = d.duration;
        src.peaks = d.peaks;
        fileDuration.textContent = formatClock(d.duration, { tenths: true });
        this._redrawMini();
      } else if (!src.duration) {
        fileDuration.textContent = t('input.durationUnknown');
      }
      this.onChange(this.source);
      return d;
    });
    this.onChange(this.source);
  }

  clearFile({ silent = false } = {}) {
    if (this.file) URL.revokeObjectURL(this.file.url);
    this.file = null;
    resetPlayer(this.els.fileAudio, this.els.fileCard);
    this.els.dropzone.classList.remove('has-file');
    if (!silent) this.onChange(this.source);
  }

  // ---------------- microphone ----------------
  _bindMic() {
    const { micBtn, recClear } = this.els;
    micBtn.addEventListener('click', () => {
      if (this.micState === 'recording') this.stopMic();
      else if (this.micState === 'idle') this.startMic();
    });
    recClear.addEventListener('click', () => this.clearRecording());
  }

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
  }

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
    this._setMicState('recording', this.micHooks.streaming?.() ? 'mic.hintStreaming' : 'mic.hintRecording');
    this._tickMic();
  }

  _tickMic = () => {
    if (this.micState !== 'recording') return;
    this.els.micTimer.textContent = formatStopwatch(this.recorder.elapsed);
    drawScope(this.els.micScope, this.levels);
    requestAnimationFrame(this._tickMic);
  };

  _onLevel(lv) {
    this.levels.push(lv);
    if (this.levels.length > 400) this.levels.splice(0, this.levels.length - 400);
    this.els.micLevel.querySelector('.level-fill').style.transform = `scaleX(${lv.toFixed(3)})`;
    this.els.micLevel.setAttribute('aria-valuenow', String(Math.round(lv * 100)));
  }

  /** The one way a recording ends: stop the recorder, reset the meter and scope; the audio when kept. */
  _endRecorder({ keep }) {
    const rec = keep ? this.recorder.stop() : (this.recorder.cancel(), null);
    this._setMicState('idle', keep ? 'mic.hintDone' : 'mic.hintIdle');
    drawScope(this.els.micScope, []);
    return rec && rec.duration >= MIN_RECORDING_SECONDS ? rec : null;
  }

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
  }

  /** Abort a running recording (e.g. when streaming failed). Keeps what was captured unless `keep` is false. */
  async abortMic({ keep = true } = {}) {
    if (this.micState === 'starting') { this._abortPending = true; return; }
    if (this.micState !== 'recording') return;
    const rec = this._endRecorder({ keep });
    if (rec) this.setRecording(rec, { hintKey: 'mic.hintDone' });
  }

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
  }

  clearRecording({ silent = false, keepHint = false } = {}) {
    if (this.recording) URL.revokeObjectURL(this.recording.url);
    this.recording = null;
    resetPlayer(this.els.recAudio, this.els.recCard);
    if (this.micState === 'idle' && !keepHint) {
      this.els.micTimer.textContent = formatStopwatch(0);
      this._setMicState('idle', 'mic.hintIdle');
    }
    if (!silent) this.onChange(this.source);
  }

  _redrawMini() {
    const prog = (a) => (a.duration && Number.isFinite(a.duration) ? a.currentTime / a.duration : 0);
    if (this.file && !this.els.fileCard.hidden) drawMiniWave(this.els.fileWave, this.file.peaks, { progress: prog(this.els.fileAudio) });
    if (this.recording && !this.els.recCard.hidden) drawMiniWave(this.els.recWave, this.recording.peaks, { progress: prog(this.els.recAudio) });
  }

  /** Refresh texts that are built in JS after a UI language change. */
  relabel() {
    const loc = getUiLanguage();
    if (this.file) {
      this.els.fileSize.textContent = formatBytes(this.file.size, loc);
      if (!this.file.duration) this.els.fileDuration.textContent = t('input.durationPending');
    }
    if (this.recording) this.els.recSize.textContent = formatBytes(this.recording.size, loc);
    this._setMicState(this.micState, this.els.micHint.dataset.i18n || 'mic.hintIdle', this.els.micHint.classList.contains('is-error'));
  }
}
