// history-ui.js on the real page markup with an in-memory store: entries listed newest first with
// name, snippet and what they were made with; a click hands the entry over; Clear all empties it.
import test from 'node:test';
import assert from 'node:assert/strict';
import { installDom, loadIndexPage } from './helpers/fake-dom.mjs';
import { installFetch } from './helpers/net.mjs';

const env = installDom({ languages: ['en'] });
installFetch();
const { initI18n } = await import('../../ui/js/i18n.js');
await initI18n();
const { HistoryPanel, entryMeta, snippet } = await import('../../ui/js/history-ui.js');
const { KEPT_SETTINGS, MAX_AUDIO_BYTES } = await import('../../ui/js/history-store.js');

/** The HistoryStore interface over an array (IndexedDB itself is exercised in Chromium). */
class MemoryStore {
  constructor() { this.entries = []; this.next = 1; }
  get available() { return true; }
  async add(e) { const entry = { ...e, id: this.next++, savedAt: 1_700_000_000_000, audio: e.blob }; this.entries.push(entry); return entry; }
  async list() { return [...this.entries].sort((a, b) => b.id - a.id); }
  async get(id) { return this.entries.find((e) => e.id === id); }
  async clear() { this.entries = []; }
}

const $ = (id) => env.document.getElementById(id);
let panel;
let opened;
test.beforeEach(async () => {
  await loadIndexPage(env.document);
  opened = [];
  panel = new HistoryPanel({ list: $('history-list'), empty: $('history-empty'), clear: $('history-clear'),
    onOpen: (e) => opened.push(e), store: new MemoryStore() });
  await panel.refresh();
});

const RESULT = { text: 'hello world', language: 'English', model: 'qwen3-asr-0.6b', duration_seconds: 5.2,
  timestamps: [{ text: 'hello', start: 0, end: 0.5 }] };

test('empty: the note shows and Clear all is off', () => {
  assert.equal($('history-list').children.length, 0);
  assert.ok(!$('history-empty').hidden);
  assert.ok($('history-clear').disabled);
});

test('saved results are listed newest first with name, snippet and meta', async () => {
  await panel.save(RESULT, { name: 'a.wav', blob: { size: 10 }, duration: 5.2 }, { model: 'qwen3-asr-0.6b', timestamps: true });
  await panel.save({ ...RESULT, text: 'second', timestamps: null }, { name: 'b.wav', blob: null }, {});
  const items = $('history-list').querySelectorAll('.history-item');
  assert.deepEqual(items.map((b) => b.querySelector('.history-name').textContent), ['b.wav', 'a.wav']);
  assert.equal(items[1].querySelector('.history-text').textContent, 'hello world');
  assert.equal(items[1].querySelector('.history-meta').textContent, '0.6B · English · 0:05.2 · timestamps');
  assert.ok(items[0].querySelector('.history-meta').textContent.endsWith('audio not kept'));
  assert.ok($('history-empty').hidden);
  assert.ok(!$('history-clear').disabled);
});

test('a click hands the whole entry to onOpen', async () => {
  await panel.save(RESULT, { name: 'a.wav', blob: { size: 10 } }, { model: 'qwen3-asr-0.6b' });
  $('history-list').querySelector('.history-item').click();
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(opened.length, 1);
  assert.equal(opened[0].result.text, 'hello world');
  assert.equal(opened[0].settings.model, 'qwen3-asr-0.6b');
});

test('Clear all empties the list', async () => {
  await panel.save(RESULT, { name: 'a.wav' }, {});
  $('history-clear').click();
  await new Promise((r) => setTimeout(r, 0));
  await new Promise((r) => setTimeout(r, 0));
  assert.equal($('history-list').children.length, 0);
  assert.ok(!$('history-empty').hidden);
});

test('snippet folds whitespace and cuts long text; meta names what is missing', () => {
  assert.equal(snippet('  a \n b  '), 'a b');
  assert.equal(snippet('x'.repeat(200)).length, 90);
  assert.equal(entryMeta({ result: { model: 'qwen3-asr-1.7b' }, audio: null }), '1.7B · audio not kept');
  assert.ok(KEPT_SETTINGS.includes('model') && KEPT_SETTINGS.includes('timestamps') && MAX_AUDIO_BYTES > 1e6);
});
