// The History card: recent transcripts from history-store.js, newest first. A click reopens one (its
// audio, text, timestamps and the settings it was made with); "Clear all" forgets every entry.
import { t, getUiLanguage } from './i18n.js';
import { formatClock } from './format.js';
import { HistoryStore } from './history-store.js';

const SNIPPET_CHARS = 90;

/** "Qwen3-ASR 1.7B · English · 0:05.2 · timestamps": what an entry was made with. */
export function entryMeta(entry) {
  const r = entry.result || {};
  const bits = [String(r.model || entry.settings?.model || '').replace(/^qwen3-asr-/i, '').toUpperCase()];
  if (r.language) bits.push(r.language);
  const seconds = Number(r.duration_seconds ?? entry.duration);
  if (Number.isFinite(seconds) && seconds > 0) bits.push(formatClock(seconds, { tenths: true }));
  if (Array.isArray(r.timestamps) && r.timestamps.length) bits.push(t('history.withTimestamps'));
  if (!entry.audio) bits.push(t('history.noAudio'));
  return bits.filter(Boolean).join(' · ');
}

export function snippet(text) {
  const s = String(text || '').replace(/\s+/g, ' ').trim();
  return s.length > SNIPPET_CHARS ? `${s.slice(0, SNIPPET_CHARS - 1)}…` : s;
}

export class HistoryPanel {
  constructor({ list, empty, clear, onOpen, onError, store = new HistoryStore() }) {
    Object.assign(this, { list, empty, clear, onOpen, onError, store });
    this.entries = [];
    clear.addEventListener('click', () => this.clearAll());
    list.addEventListener('click', (e) => {
      const b = e.target.closest('[data-entry]');
      if (b) this.open(Number(b.dataset.entry));
    });
  }

  async refresh() {
    if (!this.store.available) { this.render(); return; }
    try { this.entries = await this.store.list(); } catch (err) { this.onError?.(err); this.entries = []; }
    this.render();
  }

  /** Keep a finished result (settings: the app's, at the time it was sent). */
  async save(result, source, settings) {
    if (!this.store.available) return;
    try {
      await this.store.add({ result, settings, name: source?.name, blob: source?.blob || null, duration: source?.duration });
    } catch (err) { this.onError?.(err); }
    await this.refresh();
  }

  async open(id) {
    try {
      const entry = await this.store.get(id);
      if (entry) this.onOpen?.(entry);
    } catch (err) { this.onError?.(err); }
  }

  async clearAll() {
    try { await this.store.clear(); } catch (err) { this.onError?.(err); }
    await this.refresh();
  }

  render() {
    const when = new Intl.DateTimeFormat(getUiLanguage(), { dateStyle: 'short', timeStyle: 'short' });
    this.list.replaceChildren(...this.entries.map((entry) => {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'history-item';
      b.dataset.entry = String(entry.id);
      const head = document.createElement('span');
      head.className = 'history-head';
      const name = document.createElement('span');
      name.className = 'history-name';
      name.textContent = entry.name;
      const time = document.createElement('time');
      time.className = 'history-when';
      time.dateTime = new Date(entry.savedAt).toISOString();
      time.textContent = when.format(entry.savedAt);
      head.append(name, time);
      const text = document.createElement('span');
      text.className = 'history-text';
      text.textContent = snippet(entry.result?.text) || '—';
      const meta = document.createElement('span');
      meta.className = 'history-meta';
      meta.textContent = entryMeta(entry);
      b.append(head, text, meta);
      b.setAttribute('aria-label', t('history.openAria', { name: entry.name, time: time.textContent }));
      li.append(b);
      return li;
    }));
    this.empty.textContent = this.store.available ? t('history.empty') : t('history.unavailable');
    this.empty.hidden = this.entries.length > 0;
    this.clear.disabled = this.entries.length === 0;
  }

  relabel() { this.render(); }
}
