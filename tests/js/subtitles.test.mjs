// The UI's subtitle downloads: SRT and WebVTT are cut by the server (POST /api/subtitles, the cue
// builder of /v1/audio/transcriptions too). Here: the request body built from a result, the API
// client call (key, errors, timeout, abort), and that no cue builder is left in the browser.
import test from 'node:test';
import assert from 'node:assert/strict';
import { FakeStorage } from './helpers/fake-dom.mjs';
import { installFetch, jsonResponse, textResponse } from './helpers/net.mjs';
import * as exportsModule from '../../ui/js/exports.js';

globalThis.localStorage = new FakeStorage();
const { subtitleRequest, EXPORTERS } = exportsModule;
const { api, ApiError, setApiKey } = await import('../../ui/js/api.js');

test.beforeEach(() => { globalThis.localStorage = new FakeStorage(); });

async function rejects(promise) {
  try { await promise; } catch (err) { return err; }
  return assert.fail('expected a rejection');
}

const words = (list) => list.map(([text, start, end]) => ({ text, start, end }));

// ---- the request body ----------------------------------------------------------------------
test('the body carries the transcript, the format and the words', () => {
  const body = subtitleRequest({ text: 'Hello world.', timestamps: words([['Hello', 0, 0.4], ['world', 0.5, 0.9]]) }, 'vtt');
  assert.deepEqual(body, { text: 'Hello world.', format: 'vtt', timestamps: words([['Hello', 0, 0.4], ['world', 0.5, 0.9]]) });
});

test('words keep their order: the server finds them in the text one after the other', () => {
  const body = subtitleRequest({ text: 'b a', timestamps: words([['b', 1, 1.5], ['a', 1, 1.2], ['c', 0, 0.1]]) }, 'srt');
  assert.deepEqual(body.timestamps.map((w) => w.text), ['b', 'a', 'c']);
});

test('word text is trimmed and words without text are left out', () => {
  const body = subtitleRequest({ text: 'x', timestamps: words([['  hi ', 0, 1], ['', 1, 2], ['   ', 2, 3], [0, 3, 4]]) }, 'srt');
  assert.deepEqual(body.timestamps, words([['hi', 0, 1], ['0', 3, 4]]));
});

test('millisecond items (start_time/end_time) become seconds; seconds win when both are there', () => {
  const body = subtitleRequest({ timestamps: [{ text: 'a', start_time: 1500, end_time: 2250 }, { text: 'b', start: 3, start_time: 9000, end: 4 }] }, 'srt');
  assert.deepEqual(body.timestamps, words([['a', 1.5, 2.25], ['b', 3, 4]]));
});

test('a word without a finite start is dropped; a missing or early end becomes its start', () => {
  const body = subtitleRequest({ timestamps: [
    { text: 'nan', start: NaN, end: 1 }, { text: 'str', start: 'nope', end: 1 }, { text: 'none' },
    { text: 'late', start: 2 }, { text: 'back', start: 3, end: 2 }, { text: 'inf', start: 4, end: Infinity },
  ] }, 'srt');
  assert.deepEqual(body.timestamps, words([['late', 2, 2], ['back', 3, 3], ['inf', 4, 4]]));
});

test('the body is plain JSON: no NaN or Infinity reaches the server', () => {
  const body = subtitleRequest({ text: 't', duration_seconds: Infinity, timestamps: [{ text: 'a', start: 0, end: -Infinity }] }, 'vtt');
  assert.deepEqual(JSON.parse(JSON.stringify(body)), body);
  assert.equal(body.duration_seconds, undefined);
});

test('duration_seconds is sent when it is a positive number, so no cue outlasts the audio', () => {
  assert.equal(subtitleRequest({ duration_seconds: 5.2, timestamps: [] }, 'srt').duration_seconds, 5.2);
  assert.equal(subtitleRequest({ duration_seconds: '2.5', timestamps: [] }, 'srt').duration_seconds, 2.5);
  for (const bad of [0, -1, NaN, 'x', null, undefined]) {
    assert.ok(!('duration_seconds' in subtitleRequest({ duration_seconds: bad }, 'srt')), String(bad));
  }
});

test('a result without word times sends none (the server answers 400 missing_timestamps)', () => {
  assert.deepEqual(subtitleRequest({ text: 'streamed text', timestamps: null, duration_seconds: 3 }, 'srt'),
    { text: 'streamed text', timestamps: [], format: 'srt', duration_seconds: 3 });
  assert.deepEqual(subtitleRequest({ text: 'x', timestamps: 'not a list' }, 'vtt').timestamps, []);
});

test('no result at all still gives a well-formed body', () => {
  assert.deepEqual(subtitleRequest(null, 'srt'), { text: '', timestamps: [], format: 'srt' });
  assert.deepEqual(subtitleRequest(undefined, 'vtt'), { text: '', timestamps: [], format: 'vtt' });
});

test('the whole /api/transcribe answer can be passed: only the subtitle fields are sent', () => {
  const answer = { text: 'hi', language: 'English', model: 'qwen3-asr-1.7b', rtf: 0.1, duration_seconds: 1, timestamps: words([['hi', 0, 0.5]]) };
  assert.deepEqual(Object.keys(subtitleRequest(answer, 'srt')).sort(), ['duration_seconds', 'format', 'text', 'timestamps']);
});

// ---- no cue builder in the browser ---------------------------------------------------------
test('exports.js has no cue builder or subtitle writer left', () => {
  for (const name of ['buildCues', 'toSRT', 'toVTT', 'mapTokensToText', 'joinTokens', 'srtTime', 'vttTime', 'isCJK']) {
    assert.equal(exportsModule[name], undefined, name);
  }
});

test('SRT and VTT exporters are served; TXT and JSON are built here', () => {
  assert.deepEqual(Object.keys(EXPORTERS).sort(), ['json', 'srt', 'txt', 'vtt']);
  for (const kind of ['srt', 'vtt']) {
    assert.equal(EXPORTERS[kind].server, true, kind);
    assert.equal(EXPORTERS[kind].build, undefined, kind);
  }
  for (const kind of ['txt', 'json']) assert.equal(typeof EXPORTERS[kind].build, 'function', kind);
});

// ---- the API client ------------------------------------------------------------------------
test('api.subtitles posts the body as JSON and resolves the file text', async () => {
  const vtt = 'WEBVTT\n\n00:00:00.000 --> 00:00:00.500\n你好 &amp; bye\n\n';
  const net = installFetch({ 'POST /api/subtitles': () => new Response(vtt, { headers: { 'content-type': 'text/vtt; charset=utf-8' } }) });
  const body = subtitleRequest({ text: '你好 & bye', timestamps: words([['你', 0, 0.2], ['好', 0.2, 0.5]]) }, 'vtt');
  assert.equal(await api.subtitles(body), vtt);
  const [call] = net.calls;
  assert.deepEqual([call.method, call.url, call.headers.get('content-type')], ['POST', '/api/subtitles', 'application/json']);
  assert.deepEqual(JSON.parse(call.body), body);
  assert.equal(call.cache, 'no-store');
});

test('api.subtitles sends the stored API key like every other call, and none when there is none', async () => {
  const net = installFetch({ 'POST /api/subtitles': () => textResponse('1\n') });
  await api.subtitles({ text: '', timestamps: [], format: 'srt' });
  assert.equal(net.calls[0].headers.get('authorization'), null);
  setApiKey('secret key');
  await api.subtitles({ text: '', timestamps: [], format: 'srt' });
  assert.equal(net.calls[1].headers.get('authorization'), 'Bearer secret key');
});

test('a 400 from the server becomes an ApiError with its code and message', async () => {
  installFetch({
    'POST /api/subtitles': () => jsonResponse({ error: { code: 'invalid_timestamps', message: 'timestamps[3] ends (1 s) before it starts (2 s).', status: 400, param: 'timestamps' } }, { status: 400 }),
  });
  const err = await rejects(api.subtitles({ text: '', timestamps: [], format: 'srt' }));
  assert.ok(err instanceof ApiError);
  assert.deepEqual([err.code, err.status, err.message], ['invalid_timestamps', 400, 'timestamps[3] ends (1 s) before it starts (2 s).']);
});

test('a 401 is "unauthorized" (the page then asks for the key)', async () => {
  installFetch({ 'POST /api/subtitles': () => jsonResponse({ error: { code: 'unauthorized', message: 'A valid API key is required.', status: 401 } }, { status: 401 }) });
  const err = await rejects(api.subtitles({ text: '', timestamps: [], format: 'vtt' }));
  assert.deepEqual([err.code, err.status], ['unauthorized', 401]);
});

test('a server without the endpoint (404 text) is an error, not a file', async () => {
  installFetch({});
  const err = await rejects(api.subtitles({ text: '', timestamps: [], format: 'srt' }));
  assert.ok(err instanceof ApiError);
  assert.equal(err.status, 404);
});

test('a failed fetch is a "network" ApiError', async () => {
  installFetch({ 'POST /api/subtitles': () => { throw new TypeError('Failed to fetch'); } });
  const err = await rejects(api.subtitles({ text: '', timestamps: [], format: 'srt' }));
  assert.deepEqual([err.name, err.code], ['ApiError', 'network']);
});

test('a subtitle request that hangs times out as a "timeout" ApiError', async () => {
  globalThis.fetch = (url, init) => new Promise((resolve, reject) => {
    init.signal?.addEventListener('abort', () => reject(init.signal.reason));
  });
  const err = await rejects(api.subtitles({ text: '', timestamps: [], format: 'srt' }, { timeoutMs: 20 }));
  assert.equal(err.code, 'timeout');
});

test('a caller abort of a subtitle request is rethrown as-is, not as a timeout', async () => {
  globalThis.fetch = (url, init) => new Promise((resolve, reject) => {
    init.signal?.addEventListener('abort', () => reject(init.signal.reason));
  });
  const ctrl = new AbortController();
  const pending = api.subtitles({ text: '', timestamps: [], format: 'srt' }, { signal: ctrl.signal });
  ctrl.abort(new DOMException('page left', 'AbortError'));
  const err = await rejects(pending);
  assert.ok(!(err instanceof ApiError));
  assert.equal(err.message, 'page left');
});
