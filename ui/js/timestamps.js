// Timestamp visualisation: the waveform on a canvas with each word/character as a segment, a
// karaoke highlight while the audio plays, click a word (chip, table row or canvas segment) to play
// just its span, zoom for long audio, and a table view. This file holds the state, playback and
// events; timeline-draw.js paints, timeline-hit.js does the time/position arithmetic, word-list.js
// builds the chips and the table.
import { t } from './i18n.js';
import { formatClock, formatTime3 } from './format.js';
import { normalizeTimestamps } from './exports.js';
import { fitCanvas } from './canvas.js';
import { drawTimeline } from './timeline-draw.js';
import { indexAt, playEnd, segmentAt, xToTime } from './timeline-hit.js';
import { renderChips, renderTable } from './word-list.js';
import { renderFollowText } from './transcript-follow.js';

export class TimestampView {
  constructor(els) {
    this.els = els; // {section, canvas, audio, play, time, count, words, tableWrap, tbody, zoomIn, zoomOut, zoomFit, scroll, viewWords, viewTable}
    this.items = [];
    this.peaks = null;
    this.duration = 0;
    this.view = { start: 0, span: 1 };
    this.active = -1;
    this.hover = -1;
    this.focusIndex = -1;
    this.stopAt = null;
    this.spanIndex = -1; // the word whose span is playing after a click (kept active to its end)
    this.raf = 0;
    this.chips = [];
    this.rows = [];
    this.textSpans = []; // the transcript's timed words (els.follow), by item index
    this._bind();
    this._ro = new ResizeObserver(() => this.draw());
    this._ro.observe(els.canvas);
  }

  /** @param {{timestamps, audioUrl, duration, peaks, text?: string}} data  text: the transcript, followed in els.follow */
  setData({ timestamps, audioUrl, duration, peaks, text }) {
    this.items = normalizeTimestamps(timestamps);
    this.peaks = peaks || null;
    const lastEnd = this.items.length ? this.items[this.items.length - 1].end : 0;
    this.duration = Math.max(Number(duration) || 0, peaks?.duration || 0, lastEnd, 0.5);
    this.active = -1;
    this.focusIndex = -1;
    this._endSpan();
    const { audio } = this.els;
    audio.pause();
    if (audioUrl) {
      if (audio.src !== audioUrl) audio.src = audioUrl;
    } else audio.removeAttribute('src');
    this.els.play.disabled = !audioUrl;
    this.fit();
    this._renderWords();
    this._renderTable();
    this.textSpans = this.els.follow && text !== undefined ? renderFollowText(this.els.follow, text, this.items) : [];
    this._updateTime();
    this.els.section.hidden = this.items.length === 0;
    this.draw();
  }

  setPeaks(peaks) {
    this.peaks = peaks;
    if (peaks) this._lengthen(peaks.duration);
    this.draw();
  }

  /** The clip turned out longer (decoded peaks or the audio's metadata arrive after the result): a
   * timeline that showed the whole clip keeps showing all of it; a zoomed one keeps its window. */
  _lengthen(seconds) {
    if (!Number.isFinite(seconds) || seconds <= this.duration) return;
    const whole = !this.zoomed;
    this.duration = seconds;
    if (whole) this.fit();
    else this._syncScroll();
    this._updateTime();
  }

  clear() {
    this.els.audio.pause();
    this.items = [];
    this.textSpans = [];
    this.els.section.hidden = true;
  }

  relabel() {
    this._updateTime();
    this._renderTableHead();
  }

  // ----- zoom / view window -----
  fit() {
    this.view = { start: 0, span: this.duration };
    this._syncScroll();
    this.draw();
  }

  zoom(factor) {
    const center = this.els.audio.paused ? this.view.start + this.view.span / 2 : this.els.audio.currentTime;
    const span = Math.min(this.duration, Math.max(1, this.view.span * factor));
    this.view.span = span;
    this.view.start = Math.min(Math.max(0, center - span / 2), Math.max(0, this.duration - span));
    this._syncScroll();
    this.draw();
  }

  /** The view shows less than the whole clip. */
  get zoomed() {
    return this.view.span < this.duration - 1e-6;
  }

  _syncScroll() {
    const { zoomed } = this;
    this.els.scroll.hidden = !zoomed;
    if (zoomed) {
      const max = this.duration - this.view.span;
      this.els.scroll.value = String(Math.round((this.view.start / max) * 1000));
    }
    this.els.zoomOut.disabled = !zoomed;
    this.els.zoomFit.disabled = !zoomed;
    this.els.zoomIn.disabled = this.view.span <= 1.01;
  }

  _follow(time) {
    if (!this.zoomed) return;
    if (time < this.view.start || time > this.view.start + this.view.span * 0.85) {
      this.view.start = Math.min(Math.max(0, time - this.view.span * 0.15), this.duration - this.view.span);
      this._syncScroll();
    }
  }

  // ----- playback -----
  playSpan(i) {
    const it = this.items[i];
    if (!it || this.els.play.disabled) return;
    const { audio } = this.els;
    audio.currentTime = it.start;
    this.stopAt = playEnd(it, this.duration);
    this.spanIndex = i;
    this._setActive(i);
    this._follow(it.start);
    clearTimeout(this._stopTimer);
    audio.play().then(() => this._armStop()).catch(() => {});
  }

  /** Stop precisely at the end of a word's span (rAF alone can overshoot on a busy page). */
  _armStop() {
    clearTimeout(this._stopTimer);
    const { audio } = this.els;
    if (this.stopAt === null || audio.paused) return;
    const ms = ((this.stopAt - audio.currentTime) / (audio.playbackRate || 1)) * 1000;
    this._stopTimer = setTimeout(() => {
      if (this.stopAt === null) return;
      if (audio.currentTime >= this.stopAt - 0.02) { audio.pause(); this._endSpan(); this._tick(true); }
      else this._armStop();
    }, Math.max(0, ms));
  }

  _endSpan() {
    this.stopAt = null;
    this.spanIndex = -1;
  }

  toggle() {
    const { audio } = this.els;
    if (audio.paused) {
      this._endSpan();
      if (audio.ended || audio.currentTime >= this.duration - 0.01) audio.currentTime = 0;
      audio.play().catch(() => {});
    } else audio.pause();
  }

  /** Seek to word i's start and play on from there (a click on the word in the transcript). */
  playFrom(i) {
    const it = this.items[i];
    if (!it || this.els.play.disabled) return;
    this.seek(it.start);
    this.els.audio.play().catch(() => {});
  }

  seek(time) {
    this.els.audio.currentTime = Math.max(0, Math.min(this.duration, time));
    this._endSpan();
    this._tick(true);
  }

  _tick(force = false) {
    const { audio } = this.els;
    const time = audio.currentTime;
    if (this.stopAt !== null && time >= this.stopAt) {
      audio.pause();
      this._endSpan();
    }
    // a clicked word stays active while its span plays (a zero-length word covers no time at all)
    const i = this.spanIndex >= 0 && this.stopAt !== null ? this.spanIndex : indexAt(this.items, time);
    if (i !== this.active || force) this._setActive(i);
    if (!audio.paused) this._follow(time);
    this._updateTime();
    this.draw();
  }

  _loop = () => {
    this._tick();
    if (!this.els.audio.paused) this.raf = requestAnimationFrame(this._loop);
  };

  _setActive(i) {
    const prev = this.active;
    this.active = i;
    const time = this.els.audio.currentTime;
    if (prev >= 0 && this.chips[prev]) this.chips[prev].classList.remove('is-active');
    if (prev >= 0 && this.rows[prev]) this.rows[prev].classList.remove('is-active');
    if (prev >= 0 && this.textSpans[prev]) this.textSpans[prev].classList.remove('is-active');
    if (i >= 0 && this.textSpans[i]) this.textSpans[i].classList.add('is-active');
    // "past" marks words already spoken (karaoke)
    for (let k = 0; k < this.chips.length; k += 1) {
      const past = this.items[k].end <= time && k !== i;
      if (this.chips[k].classList.contains('is-past') !== past) this.chips[k].classList.toggle('is-past', past);
    }
    if (i >= 0 && this.chips[i]) {
      this.chips[i].classList.add('is-active');
      if (!this.els.audio.paused) this._scrollInto(this.els.words, this.chips[i]);
    }
    if (i >= 0 && this.rows[i]) {
      this.rows[i].classList.add('is-active');
      if (!this.els.audio.paused && !this.els.tableWrap.hidden) this._scrollInto(this.els.tableWrap, this.rows[i]);
    }
  }

  _scrollInto(container, el) {
    const c = container.getBoundingClientRect();
    const r = el.getBoundingClientRect();
    if (r.top < c.top || r.bottom > c.bottom) container.scrollTop += r.top - c.top - c.height / 3;
  }

  _updateTime() {
    const { audio } = this.els;
    this.els.time.textContent = `${formatClock(audio.currentTime || 0, { tenths: true })} / ${formatClock(this.duration, { tenths: true })}`;
    this.els.count.textContent = this.items.length ? t('ts.count', { n: this.items.length }) : '';
    this.els.play.dataset.playing = String(!audio.paused);
    this.els.play.setAttribute('aria-label', audio.paused ? t('ts.play') : t('ts.pause'));
  }

  // ----- DOM: chips + table -----
  _renderWords() {
    this.chips = renderChips(this.els.words, this.items);
  }

  _renderTableHead() { /* header cells use data-i18n; applyTranslations handles them */ }

  _renderTable() {
    this.rows = renderTable(this.els.tbody, this.items);
  }

  _showView(which) {
    const words = which === 'words';
    this.els.viewWords.setAttribute('aria-selected', String(words));
    this.els.viewTable.setAttribute('aria-selected', String(!words));
    this.els.viewWords.tabIndex = words ? 0 : -1;
    this.els.viewTable.tabIndex = words ? -1 : 0;
    this.els.words.hidden = !words;
    this.els.tableWrap.hidden = words;
  }

  // ----- canvas -----
  draw() {
    if (this.els.section.hidden) return;
    const fitted = fitCanvas(this.els.canvas);
    if (!fitted) return;
    const { g, w, h } = fitted;
    drawTimeline(g, w, h, {
      items: this.items, view: this.view, active: this.active, hover: this.hover,
      focusIndex: this.focusIndex, now: this.els.audio.currentTime || 0, peaks: this.peaks,
    });
  }

  // ----- events -----
  _bind() {
    const { audio, canvas, play, words, tbody } = this.els;
    audio.addEventListener('play', () => { cancelAnimationFrame(this.raf); this.raf = requestAnimationFrame(this._loop); this._updateTime(); });
    audio.addEventListener('pause', () => { this._tick(true); });
    audio.addEventListener('ended', () => { this._endSpan(); this._tick(true); });
    audio.addEventListener('seeked', () => this._tick(true));
    audio.addEventListener('timeupdate', () => { if (this.stopAt !== null) this._tick(); });
    audio.addEventListener('loadedmetadata', () => this._lengthen(audio.duration));
    play.addEventListener('click', () => this.toggle());
    words.addEventListener('click', (e) => {
      const b = e.target.closest('.word');
      if (b) this.playSpan(Number(b.dataset.i));
    });
    this.els.follow?.addEventListener('click', (e) => {
      const w = e.target.closest('.tw');
      if (w) this.playFrom(Number(w.dataset.i));
    });
    tbody.addEventListener('click', (e) => {
      const tr = e.target.closest('tr');
      if (tr) this.playSpan(Number(tr.dataset.i));
    });
    tbody.addEventListener('keydown', (e) => {
      const tr = e.target.closest('tr');
      if (!tr) return;
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); this.playSpan(Number(tr.dataset.i)); }
      else if (e.key === 'ArrowDown' && tr.nextElementSibling) { e.preventDefault(); tr.nextElementSibling.focus(); }
      else if (e.key === 'ArrowUp' && tr.previousElementSibling) { e.preventDefault(); tr.previousElementSibling.focus(); }
    });
    canvas.addEventListener('click', (e) => {
      const r = canvas.getBoundingClientRect();
      const x = e.clientX - r.left;
      const i = segmentAt(this.items, this.view, x, r.width);
      if (i >= 0) this.playSpan(i);
      else this.seek(xToTime(this.view, x, r.width));
    });
    canvas.addEventListener('mousemove', (e) => {
      const r = canvas.getBoundingClientRect();
      const i = segmentAt(this.items, this.view, e.clientX - r.left, r.width);
      if (i !== this.hover) {
        this.hover = i;
        canvas.title = i >= 0 ? `${this.items[i].text}  ${formatTime3(this.items[i].start)}–${formatTime3(this.items[i].end)} s` : '';
        this.draw();
      }
    });
    canvas.addEventListener('mouseleave', () => { this.hover = -1; this.draw(); });
    canvas.addEventListener('keydown', (e) => {
      if (!this.items.length) return;
      let i = this.focusIndex >= 0 ? this.focusIndex : Math.max(0, this.active);
      if (e.key === 'ArrowRight') i = Math.min(this.items.length - 1, this.focusIndex < 0 ? i : i + 1);
      else if (e.key === 'ArrowLeft') i = Math.max(0, i - 1);
      else if (e.key === 'Home') i = 0;
      else if (e.key === 'End') i = this.items.length - 1;
      else if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); this.playSpan(i); return; }
      else return;
      e.preventDefault();
      this.focusIndex = i;
      this._follow(this.items[i].start);
      this.draw();
    });
    canvas.addEventListener('blur', () => { this.focusIndex = -1; this.draw(); });
    this.els.zoomIn.addEventListener('click', () => this.zoom(0.5));
    this.els.zoomOut.addEventListener('click', () => this.zoom(2));
    this.els.zoomFit.addEventListener('click', () => this.fit());
    this.els.scroll.addEventListener('input', () => {
      const max = this.duration - this.view.span;
      this.view.start = (Number(this.els.scroll.value) / 1000) * max;
      this.draw();
    });
    const tabs = [this.els.viewWords, this.els.viewTable];
    this.els.viewWords.addEventListener('click', () => this._showView('words'));
    this.els.viewTable.addEventListener('click', () => this._showView('table'));
    tabs.forEach((tab, k) => tab.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
        e.preventDefault();
        const next = tabs[(k + 1) % 2];
        next.focus();
        next.click();
      }
    }));
  }
}
