// Audio input card: the Upload / Microphone tabs, drag-and-drop + click-to-choose, file details
// (name, size, duration, waveform, player) and the checks made before an upload (source-check.js).
// The microphone's half lives in mic-input.js.
import { t, getUiLanguage } from './i18n.js';
import { computePeaks, decodeAudio, drawMiniWave, toMono, TARGET_RATE } from './audio-utils.js';
import { formatBytes, formatClock } from './format.js';
import { MicRecorder, drawScope } from './recorder.js';
import { micMethods, resetPlayer } from './mic-input.js';
import { MAX_DECODE_BYTES, checkSource } from './source-check.js';


/** A source the app can send: {kind, blob, name, size, url, duration, decoded: Promise<{samples, rate, peaks}>|null} */
export function makeDecoded(blob) {
  if (blob.size > MAX_DECODE_BYTES) return Promise.resolve(null);
  return decodeAudio(blob)
    .then(async (buf) => {
      const samples = await toMono(buf, TARGET_RATE);
      return { samples, rate: TARGET_RATE, peaks: computePeaks(samples, TARGET_RATE), duration: buf.duration };
    })
    .catch(() => null);
}

export class InputPanel {
  constructor(els, { micHooks = {}, onChange, onMicError, onRecordingStart } = {}) {
    this.onRecordingStart = onRecordingStart;
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
    this.limits = {};
    this._tickMic = this._tickMic.bind(this);
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
    this._check(src);
    // a file the server refuses anyway is not decoded either
    src.decoded = (src.refusal ? Promise.resolve(null) : makeDecoded(file)).then((d) => {
      if (this.file !== src) return d;
      if (d) {
        src.duration = d.duration;
        src.peaks = d.peaks;
        fileDuration.textContent = formatClock(d.duration, { tenths: true });
        this._redrawMini();
      } else if (!src.duration) {
        fileDuration.textContent = t('input.durationUnknown');
      }
      src.unreadable = !d && !src.duration && file.size <= MAX_DECODE_BYTES;
      src.checked = true;
      this._check(src);
      this.onChange(this.source);
      return d;
    });
    this.onChange(this.source);
  }

  /** The server's limits (source-check.js limitsFromStatus); the current file is checked again. */
  setLimits(limits) {
    const before = JSON.stringify(this.limits);
    this.limits = limits || {};
    if (this.file && before !== JSON.stringify(this.limits)) { this._check(this.file); this.onChange(this.source); }
  }

  /** Check `src` before any upload: its refusal (null = fine) and the inline hint under the file. */
  _check(src) {
    src.refusal = checkSource(src, this.limits);
    this._showHint();
  }

  _showHint() {
    const { fileHint, fileHintText } = this.els;
    const refusal = this.file?.refusal;
    fileHint.hidden = !refusal;
    if (!refusal) { fileHintText.textContent = ''; return; }
    const loc = getUiLanguage();
    const v = refusal.vars;
    fileHintText.textContent = t(refusal.key, {
      size: v.size !== undefined ? formatBytes(v.size, loc) : undefined,
      max: v.max !== undefined ? (refusal.key === 'check.tooLarge' ? formatBytes(v.max, loc) : formatClock(v.max)) : undefined,
      seconds: v.seconds !== undefined ? formatClock(v.seconds, { tenths: true }) : undefined,
      min: v.min !== undefined ? `${v.min}` : undefined,
    });
  }

  clearFile({ silent = false } = {}) {
    if (this.file) URL.revokeObjectURL(this.file.url);
    this.file = null;
    this._showHint();
    resetPlayer(this.els.fileAudio, this.els.fileCard);
    this.els.dropzone.classList.remove('has-file');
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
    this._showHint();
    this._setMicState(this.micState, this.els.micHint.dataset.i18n || 'mic.hintIdle', this.els.micHint.classList.contains('is-error'));
  }
}

Object.assign(InputPanel.prototype, micMethods);
