// result.js on the real page markup: empty/pending/live/done states, badges, copy (clipboard and
// fallback), downloads with file names (SRT/VTT from POST /api/subtitles), and the timestamp view.
import test from 'node:test';
import assert from 'node:assert/strict';
import { installDom, loadIndexPage } from './helpers/fake-dom.mjs';
import { installFetch, flush, jsonResponse, textResponse } from './helpers/net.mjs';
import { installClock } from './helpers/clock.mjs';

const env = installDom({ languages: ['en'] });
installFetch();
const { initI18n } = await import('../../ui/js/i18n.js');
await initI18n();
const { ResultView } = await import('../../ui/js/result.js');

const $ = (id) => env.document.getElementById(id);
const LANGS = [{ code: 'de', name: 'German', native_name: 'Deutsch', group: 'common' }];
let view;
let els;
let events;
let clock;

test.beforeEach(async () => {
  clock = installClock();
  await loadIndexPage(env.document);
  const d = env.document;
  els = {
    card: $('result-card'), empty: $('result-empty'), pending: $('result-pending'), pendingLabel: $('pending-label'), pendingTimer: $('pending-timer'),
    pendingNote: $('pending-note'), transcriptWrap: $('transcript-wrap'), transcript: $('transcript'), stable: $('t-stable'), unstable: $('t-unstable'),
    actions: $('result-actions'), live: $('badge-live'), badgeLang: $('badge-lang'), badgeLangText: $('badge-lang-text'), badgeModel: $('badge-model'),
    copy: $('copy-btn'), copyTimed: $('copy-timed-btn'), speech: $('badge-speech'), speechText: $('badge-speech-text'), exportButtons: d.querySelectorAll('[data-export]'),
    pendingProgress: $('pending-progress'), pendingBar: $('pending-bar'), pendingFill: $('pending-fill'),
    pendingPercent: $('pending-percent'), pendingDetail: $('pending-detail'), pendingText: $('pending-text'),
    error: $('result-error'), errorTitle: $('error-title'), errorMessage: $('error-message'), errorMeta: $('error-meta'), retry: $('retry-btn'),
    ts: {
      section: $('ts-section'), canvas: $('ts-canvas'), audio: $('ts-audio'), play: $('ts-play'), time: $('ts-time'), count: $('ts-count'),
      words: $('ts-words'), tableWrap: $('ts-table-wrap'), tbody: d.querySelector('#ts-table tbody'), zoomIn: $('ts-zoom-in'), zoomOut: $('ts-zoom-out'),
      zoomFit: $('ts-zoom-fit'), scroll: $('ts-scroll'), viewWords: $('ts-view-words'), viewTable: $('ts-view-table'),
    },
  };
  events = [];
  view = new ResultView(els, {
    onCopied: () => events.push('copied'), onCopyFailed: () => events.push('copyFailed'),
    findLanguage: (name) => LANGS.find((l) => l.name === name || l.code === name) || null,
  });
});
test.afterEach(() => clock.uninstall());

const shown = () => ['empty', 'pending', 'transcriptWrap', 'actions', 'live'].filter((k) => !els[k].hidden);

test('empty state shows only the placeholder and no badges', () => {
  view.showEmpty();
  assert.equal(els.card.dataset.state, 'empty');
  assert.deepEqual(shown(), ['empty']);
  assert.ok(els.badgeLang.hidden && els.badgeModel.hidden);
});

test('pending shows the translated label and an elapsed stopwatch', () => {
  view.showPending('stream.connecting', performance.now());
  assert.deepEqual(shown(), ['pending']);
  assert.equal(els.pendingLabel.textContent, 'Connecting to the stream…');
  assert.equal(els.pendingLabel.dataset.i18n, 'stream.connecting');
  assert.equal(els.pendingTimer.textContent, '00:00.0');
  clock.tick(2500);
  assert.equal(els.pendingTimer.textContent, '00:02.5');
  view.setPendingNote('Loading the model');
  assert.equal(els.pendingNote.textContent, 'Loading the model');
  view.showEmpty();
  clock.tick(1000);
  assert.equal(els.pendingTimer.textContent, '00:02.5', 'the timer stopped');
});

test('live text shows stable and unstable parts, with a placeholder when silent', () => {
  view.showLive('', '');
  assert.equal(els.card.dataset.state, 'live');
  assert.deepEqual(shown(), ['transcriptWrap', 'live']);
  assert.equal(els.unstable.dataset.placeholder, 'Listening…');
  els.transcript.scrollHeight = 500;
  els.transcript.clientHeight = 100;
  view.showLive('Hello wor', 'ld');
  assert.equal(els.stable.textContent, 'Hello wor');
  assert.equal(els.unstable.textContent, 'ld');
  assert.equal(els.unstable.dataset.placeholder, '');
  assert.equal(els.transcript.scrollTop, 500, 'follows the newest text');
});

test('a final result shows text, language and model badges, and actions', () => {
  view.showResult({ text: 'Guten Tag', language: 'German', model: 'qwen3-asr-1.7b', dtype: 'bfloat16' }, { name: 'talk.mp3' });
  assert.equal(els.card.dataset.state, 'done');
  assert.deepEqual(shown(), ['transcriptWrap', 'actions']);
  assert.equal(els.stable.textContent, 'Guten Tag');
  assert.equal(els.unstable.textContent, '');
  assert.equal(els.transcript.lang, 'de');
  assert.ok(!els.badgeLang.hidden);
  assert.equal(els.badgeLangText.textContent, 'German');
  assert.equal(els.badgeLang.title, 'Detected language');
  assert.equal(els.badgeModel.textContent, 'Qwen3-ASR 1.7B · bfloat16');
  assert.ok(els.ts.section.hidden, 'no word times, no timestamp view');
});

test('an unknown language name is shown as the server sent it, without a lang tag', () => {
  view.showResult({ text: 'x', language: 'Klingon', model: 'qwen3-asr-0.6b' });
  assert.equal(els.badgeLangText.textContent, 'Klingon');
  assert.equal(els.transcript.lang, '');
  assert.equal(els.badgeModel.textContent, 'Qwen3-ASR 0.6B');
  view.showResult({ text: 'x' });
  assert.ok(els.badgeLang.hidden && els.badgeModel.hidden);
});

test('word timestamps open the timestamp view; a new pending state clears it', () => {
  view.showResult({ text: 'a b', duration_seconds: 2, timestamps: [{ text: 'a', start: 0, end: 0.5 }, { text: 'b', start: 1, end: 1.5 }] }, { audioUrl: 'blob:x' });
  assert.ok(!els.ts.section.hidden);
  assert.equal(els.ts.words.querySelectorAll('.word').length, 2);
  assert.equal(els.ts.audio.src, 'blob:x');
  view.showPending();
  assert.ok(els.ts.section.hidden);
});

test('copy uses the clipboard, flips the label to "Copied" and back', async () => {
  const written = [];
  globalThis.navigator.clipboard = { writeText: async (t) => { written.push(t); } };
  view.showResult({ text: 'copy me' });
  els.copy.click();
  await flush();
  assert.deepEqual(written, ['copy me']);
  assert.deepEqual(events, ['copied']);
  assert.equal(els.copy.querySelector('span').textContent, 'Copied');
  assert.equal(els.copy.querySelector('use').getAttribute('href'), '#i-check');
  clock.tick(1600);
  assert.equal(els.copy.querySelector('span').textContent, 'Copy');
  assert.equal(els.copy.querySelector('use').getAttribute('href'), '#i-copy');
  delete globalThis.navigator.clipboard;
});

test('without a clipboard API copy falls back to execCommand, and reports failure', async () => {
  view.showResult({ text: 'old way' });
  await view.copy();
  assert.deepEqual(env.document.execCommands, ['copy']);
  assert.deepEqual(events, ['copied']);
  assert.equal(env.document.body.querySelectorAll('textarea[readonly]').length, 0, 'helper textarea removed');
  env.document.execCommandResult = false;
  await view.copy();
  assert.deepEqual(events, ['copied', 'copyFailed']);
  env.document.execCommandResult = true;
});

test('copy with timestamps is offered with word times and copies the server\'s timed lines', async () => {
  const net = installFetch({ 'POST /api/subtitles': () => textResponse('[0:00.1 – 0:00.9] Hello there.\n') });
  const written = [];
  globalThis.navigator.clipboard = { writeText: async (t) => { written.push(t); } };
  view.showResult({ text: 'Hello there.' });
  assert.ok(els.copyTimed.hidden, 'no word times: nothing to copy with them');
  view.showResult({ text: 'Hello there.', timestamps: WORDS });
  assert.ok(!els.copyTimed.hidden);
  els.copyTimed.click();
  await flush();
  assert.equal(JSON.parse(net.calls[0].body).format, 'txt');
  assert.deepEqual(written, ['[0:00.1 – 0:00.9] Hello there.\n']);
  assert.equal(els.copyTimed.querySelector('span').textContent, 'Copied');
  assert.equal(els.copy.querySelector('span').textContent, 'Copy', 'only the button pressed flips');
  clock.tick(1600);
  assert.equal(els.copyTimed.querySelector('span').textContent, 'Copy with timestamps');
  delete globalThis.navigator.clipboard;
});

test('a refused timed-text request is an export failure, not a clipboard one', async () => {
  installFetch({ 'POST /api/subtitles': () => jsonResponse({ error: { code: 'missing_timestamps', message: 'no words' } }, { status: 400 }) });
  const failed = [];
  view.onExportFailed = (err) => failed.push(err.code);
  view.showResult({ text: 'x', timestamps: WORDS });
  await view.copy({ timed: true });
  assert.deepEqual(failed, ['missing_timestamps']);
  assert.deepEqual(events, []);
});

test('the speech badge follows the VAD while live and goes with the live state', () => {
  view.showLive('', '');
  assert.ok(els.speech.hidden, 'no VAD event yet');
  view.setSpeaking(true);
  assert.ok(!els.speech.hidden);
  assert.equal(els.speech.dataset.speaking, 'true');
  assert.equal(els.speechText.textContent, 'Speech');
  view.setSpeaking(false);
  assert.equal(els.speech.dataset.speaking, 'false');
  assert.equal(els.speechText.textContent, 'Pause');
  view.showResult({ text: 'done' });
  assert.ok(els.speech.hidden);
});

function captureDownloads() {
  const clicked = [];
  const orig = env.document.createElement.bind(env.document);
  env.document.createElement = (tag) => { const el = orig(tag); if (tag === 'a') el.addEventListener('click', () => clicked.push(el)); return el; };
  return { clicked, restore: () => { env.document.createElement = orig; } };
}

const exportButton = (kind) => Array.from(els.exportButtons).find((b) => b.dataset.export === kind);
const WORDS = [{ text: 'Hello', start: 0.1, end: 0.5 }, { text: 'there', start: 0.6, end: 0.9 }];

test('downloads are named after the source file and typed per format', async () => {
  installFetch({
    'POST /api/subtitles': (req) => textResponse(`file for ${JSON.parse(req.body).format}`, { headers: { 'content-type': 'text/vtt; charset=utf-8' } }),
  });
  view.showResult({ text: 'Hello.', duration_seconds: 1, timestamps: WORDS }, { name: 'meeting notes.mp3' });
  const { clicked, restore } = captureDownloads();
  const before = env.urls.created.length;
  for (const b of els.exportButtons) b.click();
  await flush();
  restore();
  assert.deepEqual(clicked.map((a) => a.download).sort(), ['meeting notes.json', 'meeting notes.srt', 'meeting notes.txt', 'meeting notes.vtt']);
  const blobs = env.urls.created.slice(before).map((u) => u.blob.type).sort();
  assert.deepEqual(blobs, ['application/json;charset=utf-8', 'application/x-subrip;charset=utf-8', 'text/plain;charset=utf-8', 'text/vtt;charset=utf-8']);
  assert.ok(clicked.every((a) => !a.isConnected), 'anchors removed after the click');
  const revoked = env.urls.revoked.length;
  clock.tick(4000);
  assert.equal(env.urls.revoked.length - revoked, 4, 'object URLs released');
});

test('SRT and VTT are the server\'s files: POST /api/subtitles with the words, in order, and the API key', async () => {
  const net = installFetch({ 'POST /api/subtitles': () => textResponse('1\n00:00:00,100 --> 00:00:00,900\nHello there.\n\n') });
  const { setApiKey } = await import('../../ui/js/api.js');
  setApiKey('k-123');
  const words = [{ text: 'there', start: 0.6, end: 0.9 }, { text: ' Hello ', start: 0.1, end: 0.5 }, { text: '', start: 1, end: 2 }];
  view.showResult({ text: 'Hello there.', language: 'English', duration_seconds: 1.25, timestamps: words }, { name: 'a.wav' });
  const { clicked, restore } = captureDownloads();
  const before = env.urls.created.length;
  await view.download('srt');
  restore();
  setApiKey('');
  const [call] = net.calls;
  assert.equal(call.method, 'POST');
  assert.equal(call.url, '/api/subtitles');
  assert.equal(call.headers.get('authorization'), 'Bearer k-123');
  assert.equal(call.headers.get('content-type'), 'application/json');
  assert.deepEqual(JSON.parse(call.body), {
    text: 'Hello there.', format: 'srt', duration_seconds: 1.25,
    timestamps: [{ text: 'there', start: 0.6, end: 0.9 }, { text: 'Hello', start: 0.1, end: 0.5 }],
  });
  assert.equal(clicked.length, 1);
  const { blob } = env.urls.created[before];
  assert.equal(await blob.text(), '1\n00:00:00,100 --> 00:00:00,900\nHello there.\n\n', 'saved as the server sent it');
});

test('a failed subtitle request reaches onExportFailed with the server message and saves nothing', async () => {
  installFetch({
    'POST /api/subtitles': () => jsonResponse({ error: { code: 'missing_timestamps', message: 'Subtitles need word times.', status: 400 } }, { status: 400 }),
  });
  const failures = [];
  view.onExportFailed = (err, kind) => failures.push([err.name, err.code, err.status, err.message, kind]);
  view.showResult({ text: 'no times', timestamps: null }, { name: 'a.wav' });
  const { clicked, restore } = captureDownloads();
  const pending = view.download('vtt');
  assert.equal(exportButton('vtt').disabled, true, 'the button waits for the server');
  await pending;
  restore();
  assert.deepEqual(failures, [['ApiError', 'missing_timestamps', 400, 'Subtitles need word times.', 'vtt']]);
  assert.equal(clicked.length, 0);
  assert.equal(exportButton('vtt').disabled, false);
});

test('TXT and JSON downloads never ask the server', async () => {
  const net = installFetch({});
  view.showResult({ text: 'local only' }, { name: 'x.wav' });
  await view.download('txt');
  await view.download('json');
  assert.equal(net.calls.length, 0);
});

test('downloading without a result or for an unknown format does nothing', async () => {
  const net = installFetch({});
  const n = env.urls.created.length;
  await view.download('srt');
  view.showResult({ text: 'x' });
  await view.download('docx');
  assert.equal(env.urls.created.length, n);
  assert.equal(net.calls.length, 0);
});

test('relabel re-translates the pending label', async () => {
  view.showPending('action.working');
  const { setUiLanguage } = await import('../../ui/js/i18n.js');
  await setUiLanguage('ja');
  view.relabel();
  assert.notEqual(els.pendingLabel.textContent, 'action.working');
  assert.equal(els.pendingLabel.dataset.i18n, 'action.working');
  await setUiLanguage('en');
});

test('server progress fills the bar with percent, pieces, an estimate and the text so far', () => {
  view.showPending('action.working', performance.now());
  view.setUpload(50, 100);
  assert.equal(els.pendingLabel.dataset.i18n, 'progress.uploading');
  assert.equal(els.pendingPercent.textContent, '50%');
  view.setUpload(100, 100);
  assert.equal(els.pendingLabel.dataset.i18n, 'action.working');
  view.setProgress({ stage: 'transcribing', pieces_done: 1, pieces_total: 4, audio_seconds_done: 20, audio_seconds_total: 80, text: 'hello' }, 10);
  assert.equal(els.pendingPercent.textContent, '25%');
  assert.equal(els.pendingBar.getAttribute('aria-valuenow'), '25');
  assert.match(els.pendingDetail.textContent, /piece 1 of 4/);
  assert.match(els.pendingDetail.textContent, /left/);
  assert.equal(els.pendingText.textContent, 'hello');
  assert.equal(els.pendingText.hidden, false);
  view.showEmpty();
  assert.equal(els.pendingProgress.hidden, true, 'a new job starts without the old bar');
  assert.equal(els.pendingText.textContent, '');
});

test('an error stays in the card with its title, message, code and a Retry that calls back', () => {
  let retried = 0;
  const err = Object.assign(new Error('Audio is 0.05 s; the minimum is 0.1 s.'), { code: 'audio_too_short', status: 422 });
  view.showError(err, { onRetry: () => { retried += 1; } });
  assert.equal(els.card.dataset.state, 'error');
  assert.deepEqual(shown(), []);
  assert.equal(els.error.hidden, false);
  assert.equal(els.errorTitle.textContent, 'The audio is too short');
  assert.equal(els.errorMessage.textContent, 'Audio is 0.05 s; the minimum is 0.1 s.');
  assert.equal(els.errorMeta.textContent, 'audio_too_short · HTTP 422');
  els.retry.onclick();
  assert.equal(retried, 1);
  clock.tick(60_000);
  assert.equal(els.error.hidden, false, 'it does not vanish like a toast');
  view.showEmpty();
  assert.equal(els.error.hidden, true);
});

test('a proxy error page is named as such, never shown as HTML', () => {
  const err = Object.assign(new Error('HTTP 502 Bad Gateway'), { code: 'http_502', status: 502, foreign: true });
  view.showError(err, {});
  assert.equal(els.errorTitle.textContent, 'A proxy in front of the service failed');
  assert.match(els.errorMessage.textContent, /HTTP 502/);
  assert.equal(els.retry.hidden, true, 'no Retry without a callback');
});
