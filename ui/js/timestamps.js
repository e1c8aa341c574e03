// Timestamp visualisation: the waveform on a canvas with each word/character as a segment, a
// karaoke highlight while the audio plays, click a word (chip, table row or canvas segment) to play
// just its span, zoom for long audio, and a table view.
import { t } from './i18n.js';
import { formatClock, formatTime3 } from './format.js';
import { normalizeTimestamps } from './exports.js';
import { fitCanvas } from './canvas.js';

const SEG_COLORS = [
  [34, 228, 255],
  [139, 92, 255],
  [255, 79, 216],
  [61, 255, 168],
];

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
    this.raf = 0;
    this.chips = [];
    this.rows = [];
    this._bind();
    this._ro = new ResizeObserver(() => this.draw());
    this._ro.observe(els.canvas);
  }

  /** @param {{timestamps, audioUrl, duration, peaks}} data */
  setData({ timestamps, audioUrl, duration, peaks }) {
    this.items = normalizeTimestamps(timestamps);
    this.peaks = peaks || null;
    const lastEnd = this.items.length ? this.items[this.items.length - 1].end : 0;
    this.duration = Math.max(Number(duration) || 0, peaks?.duration || 0, lastEnd, 0.5);
    this.active = -1;
    this.focusIndex = -1;
    this.stopAt = null;
    const { audio } = this.els;
    audio.pause();
    if (audioUrl) {
      if (audio.src !== audioUrl) audio.src = audioUrl;
    } else audio.removeAttribute('src');
    this.els.play.disabled = !audioUrl;
    this.fit();
    this._renderWords();
    this._renderTable();
    this._updateTime();
    this.els.section.hidden = this.items.length === 0;
    this.draw();
  }

  setPeaks(peaks) {
    this.peaks = peaks;
    if (peaks) this.duration = Math.max(this.duration, peaks.duration || 0);
    this.draw();
  }

  clear() {
    this.els.audio.pause();
    this.items = [];
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

  _syncScroll() {
    const zoomed = this.view.span < this.duration - 1e-6;
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
    if (this.view.span >= this.duration) return;
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
    this.stopAt = it.end;
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
      if (audio.currentTime >= this.stopAt - 0.02) { audio.pause(); this.stopAt = null; this._tick(true); }
      else this._armStop();
    }, Math.max(0, ms));
  }

  toggle() {
    const { audio } = this.els;
    if (audio.paused) {
      this.stopAt = null;
      if (audio.ended || audio.currentTime >= this.duration - 0.01) audio.currentTime = 0;
      audio.play().catch(() => {});
    } else audio.pause();
  }

  seek(time) {
    this.els.audio.currentTime = Math.max(0, Math.min(this.duration, time));
    this.stopAt = null;
    this._tick(true);
  }

  _indexAt(time) {
    // binary search for the word covering `time`
    let lo = 0;
    let hi = this.items.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const it = this.items[mid];
      if (time < it.start) hi = mid - 1;
      else if (time > it.end) lo = mid + 1;
      else return mid;
    }
    return -1;
  }

  _tick(force = false) {
    const { audio } = this.els;
    const time = audio.currentTime;
    if (this.stopAt !== null && time >= this.stopAt) {
      audio.pause();
      this.stopAt = null;
    }
    const i = this._indexAt(time);
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
    const frag = document.createDocumentFragment();
    this.chips = this.items.map((it, i) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'word';
      b.dataset.i = String(i);
      b.textContent = it.text;
      const small = document.createElement('small');
      small.textContent = `${it.start.toFixed(2)}s`;
      b.append(small);
      b.title = `${formatTime3(it.start)} – ${formatTime3(it.end)} s`;
      frag.append(b);
      return b;
    });
    this.els.words.replaceChildren(frag);
  }

  _renderTableHead() { /* header cells use data-i18n; applyTranslations handles them */ }

  _renderTable() {
    const frag = document.createDocumentFragment();
    this.rows = this.items.map((it, i) => {
      const tr = document.createElement('tr');
      tr.dataset.i = String(i);
      tr.tabIndex = 0;
      const cells = [String(i + 1), it.text, formatTime3(it.start), formatTime3(it.end), formatTime3(it.end - it.start)];
      for (const c of cells) {
        const td = document.createElement('td');
        td.textContent = c;
        tr.append(td);
      }
      frag.append(tr);
      return tr;
    });
    this.els.tbody.replaceChildren(frag);
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
  _xToTime(x, w) {
    return this.view.start + (x / w) * this.view.span;
  }

  _segmentAt(x, w) {
    const time = this._xToTime(x, w);
    const i = this._indexAt(time);
    if (i >= 0) return i;
    // forgiving hit test for very thin segments: nearest within 4 px
    const tol = (4 / w) * this.view.span;
    let best = -1;
    let bestD = tol;
    for (let k = 0; k < this.items.length; k += 1) {
      const it = this.items[k];
      const d = time < it.start ? it.start - time : time > it.end ? time - it.end : 0;
      if (d <= bestD) { best = k; bestD = d; }
      if (it.start > time + tol) break;
    }
    return best;
  }

  draw() {
    const c = this.els.canvas;
    if (this.els.section.hidden) return;
    const fitted = fitCanvas(c);
    if (!fitted) return;
    const { g, w, h } = fitted;
    const ruler = 18;
    const top = 20; // label band
    const waveH = h - ruler - top;
    const mid = top + waveH / 2;
    const { start, span } = this.view;
    const tx = (time) => ((time - start) / span) * w;
    const now = this.els.audio.currentTime || 0;

    // time grid
    const steps = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
    const step = steps.find((s) => (s / span) * w >= 70) || 3600;
    g.font = '10px ui-monospace, "JetBrains Mono", Menlo, monospace';
    g.textBaseline = 'middle';
    for (let tt = Math.ceil(start / step) * step; tt <= start + span + 1e-9; tt += step) {
      const x = Math.round(tx(tt)) + 0.5;
      g.strokeStyle = 'rgba(150, 165, 255, 0.08)';
      g.beginPath(); g.moveTo(x, top); g.lineTo(x, h - ruler); g.stroke();
      g.fillStyle = 'rgba(160, 170, 210, 0.75)';
      const label = step < 1 ? tt.toFixed(1) : formatClock(tt);
      g.fillText(label, Math.min(w - 30, x + 3), h - ruler / 2);
    }

    // word segments
    for (let i = 0; i < this.items.length; i += 1) {
      const it = this.items[i];
      if (it.end < start || it.start > start + span) continue;
      const x0 = tx(it.start);
      const x1 = Math.max(x0 + 1.5, tx(it.end));
      const [r, gg, b] = SEG_COLORS[i % SEG_COLORS.length];
      const isActive = i === this.active;
      const isHover = i === this.hover || i === this.focusIndex;
      g.fillStyle = `rgba(${r}, ${gg}, ${b}, ${isActive ? 0.3 : isHover ? 0.2 : 0.09})`;
      g.fillRect(x0, top, x1 - x0, waveH);
      g.fillStyle = `rgba(${r}, ${gg}, ${b}, ${isActive ? 1 : 0.75})`;
      g.fillRect(x0, top, x1 - x0, 2);
      if (isActive) {
        g.shadowColor = `rgba(${r}, ${gg}, ${b}, 0.9)`;
        g.shadowBlur = 12;
        g.fillRect(x0, top, x1 - x0, 2);
        g.shadowBlur = 0;
      }
      // label
      g.font = `${isActive ? '600 ' : ''}11px system-ui, "Noto Sans", "Noto Sans CJK SC", sans-serif`;
      const tw = g.measureText(it.text).width;
      if (tw + 6 <= x1 - x0 || (isActive && tw + 6 <= w)) {
        g.fillStyle = isActive ? '#ffffff' : `rgba(${r}, ${gg}, ${b}, 0.95)`;
        const lx = Math.max(2, Math.min(w - tw - 2, x0 + (x1 - x0 - tw) / 2));
        g.fillText(it.text, lx, top / 2 + 1);
      }
    }

    // waveform bars
    const bar = 2;
    const gap = 1;
    const count = Math.floor(w / (bar + gap));
    const grad = g.createLinearGradient(0, 0, w, 0);
    grad.addColorStop(0, '#22e4ff'); grad.addColorStop(0.55, '#8b5cff'); grad.addColorStop(1, '#ff4fd8');
    let norm = 1;
    if (this.peaks) {
      let m = 0.001;
      const { max, min } = this.peaks;
      for (let i = 0; i < max.length; i += 1) m = Math.max(m, max[i], -min[i]);
      norm = 1 / m;
    }
    const px = tx(now);
    for (let i = 0; i < count; i += 1) {
      const x = i * (bar + gap);
      const t0 = this._xToTime(x, w);
      const t1 = this._xToTime(x + bar + gap, w);
      let amp = 0;
      if (this.peaks) {
        const ps = this.peaks.perSecond;
        const a = Math.max(0, Math.floor(t0 * ps));
        const b2 = Math.min(this.peaks.max.length, Math.max(a + 1, Math.ceil(t1 * ps)));
        for (let j = a; j < b2; j += 1) amp = Math.max(amp, this.peaks.max[j], -this.peaks.min[j]);
        amp *= norm;
      } else {
        // no decoded audio: show speech activity from the word times
        const k = this._indexAt((t0 + t1) / 2);
        amp = k >= 0 ? 0.35 + 0.25 * Math.abs(Math.sin((t0 + k) * 7)) : 0.04;
      }
      const hh = Math.max(1.5, amp * (waveH - 8));
      g.fillStyle = x <= px ? grad : 'rgba(200, 210, 255, 0.32)';
      g.fillRect(x, mid - hh / 2, bar, hh);
    }

    // playhead
    if (px >= 0 && px <= w) {
      g.fillStyle = '#ffffff';
      g.shadowColor = 'rgba(34, 228, 255, 0.95)';
      g.shadowBlur = 10;
      g.fillRect(Math.round(px) - 1, top - 2, 2, waveH + 4);
      g.shadowBlur = 0;
    }
  }

  // ----- events -----
  _bind() {
    const { audio, canvas, play, words, tbody } = this.els;
    audio.addEventListener('play', () => { cancelAnimationFrame(this.raf); this.raf = requestAnimationFrame(this._loop); this._updateTime(); });
    audio.addEventListener('pause', () => { this._tick(true); });
    audio.addEventListener('ended', () => { this.stopAt = null; this._tick(true); });
    audio.addEventListener('seeked', () => this._tick(true));
    audio.addEventListener('timeupdate', () => { if (this.stopAt !== null) this._tick(); });
    audio.addEventListener('loadedmetadata', () => {
      if (Number.isFinite(audio.duration) && audio.duration > this.duration + 0.05) {
        this.duration = audio.duration;
        this.fit();
      }
      this._updateTime();
    });
    play.addEventListener('click', () => this.toggle());
    words.addEventListener('click', (e) => {
      const b = e.target.closest('.word');
      if (b) this.playSpan(Number(b.dataset.i));
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
      const i = this._segmentAt(x, r.width);
      if (i >= 0) this.playSpan(i);
      else this.seek(this._xToTime(x, r.width));
    });
    canvas.addEventListener('mousemove', (e) => {
      const r = canvas.getBoundingClientRect();
      const i = this._segmentAt(e.clientX - r.left, r.width);
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
