// Result card: empty / pending (elapsed timer, upload and server progress, the text so far) / error
// (error-card.js, with Retry) / live streaming text (stable + dimmed unstable tail) /
// final text with detected language, copy, TXT/JSON/SRT/VTT downloads (subtitles built by the server)
// and the timestamp view.
import { t, getUiLanguage } from './i18n.js';
import { api } from './api.js';
import { EXPORTERS, baseName, subtitleRequest } from './exports.js';
import { formatStopwatch, formatSeconds } from './format.js';
import { renderErrorCard } from './error-card.js';
import { progressEstimate } from './upload-progress.js';
import { TimestampView } from './timestamps.js';
import { labelFor } from './language-picker.js';

export class ResultView {
  constructor(els, { onCopied, onCopyFailed, onExportFailed, findLanguage } = {}) {
    this.els = els;
    this.onCopied = onCopied;
    this.onCopyFailed = onCopyFailed;
    this.onExportFailed = onExportFailed;
    this.findLanguage = findLanguage || (() => null);
    this.result = null;
    this.sourceName = '';
    this.timer = null;
    this.ts = new TimestampView(els.ts);
    els.copy.addEventListener('click', () => this.copy());
    els.copyTimed.addEventListener('click', () => this.copy({ timed: true }));
    els.exportButtons.forEach((b) => b.addEventListener('click', () => this.download(b.dataset.export)));
  }

  _state(state) {
    const { card, empty, pending, transcriptWrap, actions, live, error } = this.els;
    card.dataset.state = state;
    empty.hidden = state !== 'empty';
    pending.hidden = state !== 'pending';
    error.hidden = state !== 'error';
    if (state !== 'pending') this._resetProgress();
    transcriptWrap.hidden = !(state === 'live' || state === 'done');
    actions.hidden = state !== 'done';
    live.hidden = state !== 'live';
    if (state !== 'live') this.setSpeaking(null);
    if (state !== 'done') this.ts.clear();
  }

  showEmpty() {
    this.result = null;
    this._stopTimer();
    this._state('empty');
    this._badges(null);
  }

  /** Pending with an elapsed timer. `labelKey` e.g. action.working / stream.connecting. */
  showPending(labelKey = 'action.working', startedAt = performance.now()) {
    this._state('pending');
    this._badges(null);
    this.setPendingLabel(labelKey);
    this.setPendingNote('');
    this._stopTimer();
    const tick = () => { this.els.pendingTimer.textContent = formatStopwatch((performance.now() - startedAt) / 1000); };
    tick();
    this.timer = setInterval(tick, 100);
  }

  /** Upload progress: bytes sent of the request body. */
  setUpload(loaded, total) {
    const fraction = total > 0 ? loaded / total : 0;
    if (fraction < 1) this.setPendingLabel('progress.uploading');
    else if (this.els.pendingLabel.dataset.i18n === 'progress.uploading') this.setPendingLabel('action.working');
    this._bar(Math.round(fraction * 100), '');
  }

  /** Server progress (a `progress` event): percent, remaining time, the transcript so far. */
  setProgress(progress, elapsedSeconds) {
    this._lastProgress = { progress, elapsedSeconds };
    const { percent, remainingSeconds } = progressEstimate(progress, elapsedSeconds);
    this.setPendingLabel(progress.stage === 'aligning' ? 'progress.aligning' : 'action.working');
    const parts = [t('progress.pieces', { done: progress.pieces_done, total: progress.pieces_total })];
    if (remainingSeconds !== null) parts.push(t('progress.eta', { time: formatSeconds(remainingSeconds, getUiLanguage()) }));
    this._bar(percent, parts.join(' · '));
    const text = this.els.pendingText;
    text.textContent = progress.text || '';
    text.hidden = !progress.text;
    if (text.scrollHeight > text.clientHeight) text.scrollTop = text.scrollHeight;
  }

  _bar(percent, detail) {
    const { pendingProgress, pendingBar, pendingFill, pendingPercent, pendingDetail } = this.els;
    pendingProgress.hidden = false;
    pendingBar.setAttribute('aria-valuenow', String(percent));
    pendingFill.style.width = `${percent}%`;
    pendingPercent.textContent = `${percent}%`;
    pendingDetail.textContent = detail;
  }

  _resetProgress() {
    this._lastProgress = null;
    const { pendingProgress, pendingText } = this.els;
    if (!pendingProgress) return;
    pendingProgress.hidden = true;
    pendingText.hidden = true;
    pendingText.textContent = '';
  }

  /** A failed job: stays in the card (title per error code, the server's message, Retry). */
  showError(err, { onRetry } = {}) {
    this._stopTimer();
    this.result = null;
    this._state('error');
    this._badges(null);
    this._error = { err, onRetry };
    renderErrorCard(this.els, err, onRetry);
  }

  setPendingLabel(key) {
    this.els.pendingLabel.dataset.i18n = key;
    this.els.pendingLabel.textContent = t(key);
  }

  setPendingNote(text) {
    this.els.pendingNote.textContent = text;
  }

  _stopTimer() {
    clearInterval(this.timer);
    this.timer = null;
  }

  /** Live streaming text. */
  showLive(stable, unstable) {
    if (this.els.card.dataset.state !== 'live') {
      this._stopTimer();
      this._state('live');
      this._badges(null);
    }
    this.els.stable.textContent = stable || '';
    this.els.unstable.textContent = unstable || '';
    this.els.unstable.dataset.placeholder = !stable && !unstable ? t('stream.listening') : '';
    const tr = this.els.transcript;
    if (tr.scrollHeight > tr.clientHeight) tr.scrollTop = tr.scrollHeight;
  }

  /** The server's VAD on a live stream: true after `speech_started`, false after `speech_stopped`,
   *  null hides the badge (no VAD event yet, or not streaming). */
  setSpeaking(speaking) {
    const { speech, speechText } = this.els;
    speech.hidden = speaking === null;
    this._speaking = speaking;
    if (speaking === null) return;
    speech.dataset.speaking = String(speaking);
    speechText.textContent = t(speaking ? 'stream.speech' : 'stream.pause');
  }

  /**
   * Final result.
   * @param {object} result API JSON
   * @param {{name?: string, audioUrl?: string, peaks?: object, duration?: number}} source
   */
  showResult(result, source = {}) {
    this._stopTimer();
    this.result = result;
    this.sourceName = source.name || '';
    this._state('done');
    this.els.stable.textContent = result.text || '';
    this.els.unstable.textContent = '';
    this.els.transcript.lang = this._langTag(result.language) || '';
    this._badges(result);
    const ts = Array.isArray(result.timestamps) ? result.timestamps : [];
    this.els.copyTimed.hidden = !ts.length;
    if (ts.length) {
      this.ts.setData({ timestamps: ts, audioUrl: source.audioUrl, duration: result.duration_seconds || source.duration, peaks: source.peaks || null,
        text: result.text || '' });
    }
  }

  setPeaks(peaks) {
    if (!this.els.ts.section.hidden) this.ts.setPeaks(peaks);
  }

  _langTag(name) {
    const l = this.findLanguage(name);
    return l && l.code && l.code !== 'auto' ? l.code : '';
  }

  _badges(result) {
    const { badgeLang, badgeLangText, badgeModel } = this.els;
    if (result && result.language) {
      const entry = this.findLanguage(result.language);
      badgeLangText.textContent = entry ? labelFor(entry).main : result.language;
      badgeLang.title = t('result.detected');
      badgeLang.hidden = false;
    } else badgeLang.hidden = true;
    if (result && result.model) {
      badgeModel.textContent = result.model.replace(/^qwen3-asr-/i, 'Qwen3-ASR ').replace(/b$/i, 'B') + (result.dtype ? ` · ${result.dtype}` : '');
      badgeModel.hidden = false;
    } else badgeModel.hidden = true;
  }

  relabel() {
    if (this.result) this._badges(this.result);
    if (this.els.card.dataset.state === 'error' && this._error) renderErrorCard(this.els, this._error.err, this._error.onRetry);
    if (this._lastProgress) this.setProgress(this._lastProgress.progress, this._lastProgress.elapsedSeconds);
    this.ts.relabel();
    if (this._speaking !== null && this._speaking !== undefined) this.setSpeaking(this._speaking);
    if (this.els.card.dataset.state === 'pending' && this.els.pendingLabel.dataset.i18n) this.setPendingLabel(this.els.pendingLabel.dataset.i18n);
  }

  /** Copy the transcript, or (`timed`) the server's timed-text lines `[0:01.2 – 0:03.4] text` (the
   *  subtitle cues); the button pressed shows "Copied" for a moment. */
  async copy({ timed = false } = {}) {
    const button = timed ? this.els.copyTimed : this.els.copy;
    try {
      const text = timed ? await api.subtitles(subtitleRequest(this.result, 'txt')) : this.result?.text || '';
      if (navigator.clipboard && window.isSecureContext) await navigator.clipboard.writeText(text);
      else {
        const ta = document.createElement('textarea');
        ta.value = text;
        ta.setAttribute('readonly', '');
        ta.style.position = 'fixed';
        ta.style.opacity = '0';
        document.body.append(ta);
        ta.select();
        const ok = document.execCommand('copy');
        ta.remove();
        if (!ok) throw new Error('copy');
      }
      const label = button.querySelector('span');
      const use = button.querySelector('use');
      const key = label.dataset.i18n;
      label.textContent = t('result.copied');
      use.setAttribute('href', '#i-check');
      clearTimeout(button._copyTimer);
      button._copyTimer = setTimeout(() => { label.textContent = t(key); use.setAttribute('href', '#i-copy'); }, 1600);
      this.onCopied?.();
    } catch (err) {
      if (err && err.code) this.onExportFailed?.(err, 'txt');
      else this.onCopyFailed?.();
    }
  }

  /** Save the result as `kind`; SRT/VTT are asked of POST /api/subtitles (errors go to onExportFailed). */
  async download(kind) {
    const ex = EXPORTERS[kind];
    const result = this.result;
    if (!ex || !result) return;
    const name = `${baseName(this.sourceName)}.${kind}`;
    let content;
    if (ex.server) {
      const button = Array.from(this.els.exportButtons).find((b) => b.dataset.export === kind);
      if (button) button.disabled = true;
      try {
        content = await api.subtitles(subtitleRequest(result, kind));
      } catch (err) {
        this.onExportFailed?.(err, kind);
        return;
      } finally {
        if (button) button.disabled = false;
      }
    } else content = ex.build(result);
    saveFile(content, ex.mime, name);
  }
}

/** Hand `content` to the browser as a download named `name`. */
function saveFile(content, mime, name) {
  const blob = new Blob([content], { type: mime });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 4000);
}
