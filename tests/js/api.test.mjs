// api.js: the API key store, request building (method, headers, JSON body, cache), error mapping to
// ApiError (server messages, status codes, Retry-After, network and timeout) and timing headers.
import test from 'node:test';
import assert from 'node:assert/strict';
import { FakeStorage } from './helpers/fake-dom.mjs';
import { installFetch, jsonResponse, textResponse } from './helpers/net.mjs';

globalThis.localStorage = new FakeStorage();
const { api, ApiError, getApiKey, setApiKey, timingHeaders } = await import('../../ui/js/api.js');

test.beforeEach(() => {
  globalThis.localStorage = new FakeStorage();
});

async function rejects(promise) {
  try { await promise; } catch (err) { return err; }
  assert.fail('expected a rejection');
}

test('ApiError carries code, status and retryAfter with defaults', () => {
  const e = new ApiError('boom');
  assert.ok(e instanceof Error);
  assert.equal(e.name, 'ApiError');
  assert.deepEqual([e.message, e.code, e.status, e.retryAfter], ['boom', 'error', 0, null]);
  const f = new ApiError('busy', { code: 'overloaded', status: 503, retryAfter: '5' });
  assert.deepEqual([f.code, f.status, f.retryAfter], ['overloaded', 503, '5']);
});

test('API key is stored under its key and removed when cleared', () => {
  assert.equal(getApiKey(), '');
  setApiKey('sk-1');
  assert.equal(localStorage.getItem('qwen-asr.api-key'), 'sk-1');
  assert.equal(getApiKey(), 'sk-1');
  setApiKey('');
  assert.equal(localStorage.getItem('qwen-asr.api-key'), null);
  assert.equal(getApiKey(), '');
});

test('API key helpers survive a storage that throws (private mode)', () => {
  localStorage.failing = true;
  assert.equal(getApiKey(), '');
  assert.doesNotThrow(() => setApiKey('x'));
  assert.doesNotThrow(() => setApiKey(''));
});

test('GET requests send no body, bypass the cache and carry the bearer key when set', async () => {
  const net = installFetch({ 'GET /api/status': { ok: true } });
  assert.deepEqual(await api.status(), { ok: true });
  assert.equal(net.calls[0].headers.get('authorization'), null, 'no key, no header');
  setApiKey('secret');
  await api.status();
  const req = net.calls[1];
  assert.equal(req.method, 'GET');
  assert.equal(req.url, '/api/status');
  assert.equal(req.cache, 'no-store');
  assert.equal(req.body, undefined);
  assert.equal(req.headers.get('authorization'), 'Bearer secret');
});

test('health and languages hit their endpoints and resolve the JSON', async () => {
  const net = installFetch({ 'GET /health': { status: 'ok' }, 'GET /api/languages': { languages: [{ code: 'en' }] } });
  assert.deepEqual(await api.health(), { status: 'ok' });
  assert.deepEqual(await api.languages(), { languages: [{ code: 'en' }] });
  assert.deepEqual(net.calls.map((c) => c.url), ['/health', '/api/languages']);
  assert.ok(net.calls.every((c) => c.signal), 'both use a timeout signal');
});

test('offload posts JSON: the listed models, or an empty object for all', async () => {
  const net = installFetch({ 'POST /api/gpu-offload': (req) => jsonResponse({ echo: JSON.parse(req.body) }) });
  assert.deepEqual(await api.offload(['qwen3-asr-0.6b']), { echo: { models: ['qwen3-asr-0.6b'] } });
  assert.deepEqual(await api.offload([]), { echo: {} });
  assert.deepEqual(await api.offload(null), { echo: {} });
  for (const c of net.calls) {
    assert.equal(c.method, 'POST');
    assert.equal(c.headers.get('content-type'), 'application/json');
  }
});

test('transcribe posts the FormData untouched and resolves data, headers and status', async () => {
  const net = installFetch({
    'POST /api/transcribe': () => jsonResponse({ text: 'hi' }, { headers: { 'X-Time-Total': '1.5' } }),
  });
  setApiKey('k');
  const form = new FormData();
  form.append('language', 'auto');
  const ctrl = new AbortController();
  const res = await api.transcribe(form, { signal: ctrl.signal });
  assert.deepEqual(res.data, { text: 'hi' });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-time-total'), '1.5');
  const req = net.calls[0];
  assert.equal(req.body, form);
  assert.equal(req.signal, ctrl.signal, 'no timeout on uploads: the caller signal goes straight through');
  assert.equal(req.headers.get('content-type'), null, 'the browser sets the multipart boundary');
  assert.equal(req.headers.get('authorization'), 'Bearer k');
});

test('a non-JSON success body resolves as text; broken JSON resolves as null', async () => {
  installFetch({ 'GET /health': () => textResponse('fine'), 'GET /api/status': () => new Response('{oops', { headers: { 'content-type': 'application/json' } }) });
  assert.equal(await api.health(), 'fine');
  assert.equal(await api.status(), null);
});

test('server error JSON becomes an ApiError with its code, message and Retry-After', async () => {
  installFetch({
    'POST /api/transcribe': () => jsonResponse({ error: { code: 'overloaded', message: 'Too many requests in flight' } },
      { status: 503, headers: { 'Retry-After': '7' } }),
  });
  const err = await rejects(api.transcribe(new FormData()));
  assert.ok(err instanceof ApiError);
  assert.equal(err.message, 'Too many requests in flight');
  assert.equal(err.code, 'overloaded');
  assert.equal(err.status, 503);
  assert.equal(err.retryAfter, '7');
});

test('FastAPI "detail" errors: strings pass through, structures are serialised', async () => {
  installFetch({
    'GET /api/status': () => jsonResponse({ detail: 'Not allowed' }, { status: 403 }),
    'GET /api/languages': () => jsonResponse({ detail: [{ loc: ['body', 'file'], msg: 'field required' }] }, { status: 422 }),
  });
  const a = await rejects(api.status());
  assert.equal(a.message, 'Not allowed');
  assert.equal(a.code, 'http_403');
  assert.equal(a.retryAfter, null);
  const b = await rejects(api.languages());
  assert.equal(b.status, 422);
  assert.deepEqual(JSON.parse(b.message), [{ loc: ['body', 'file'], msg: 'field required' }]);
});

test('401 without a code is "unauthorized" and keeps the text body as message', async () => {
  installFetch({ 'GET /api/status': () => textResponse('  missing API key \n', { status: 401 }) });
  const err = await rejects(api.status());
  assert.equal(err.code, 'unauthorized');
  assert.equal(err.status, 401);
  assert.equal(err.message, 'missing API key');
});

test('an empty error body falls back to the HTTP status line; long bodies are cut at 300 chars', async () => {
  installFetch({
    'GET /health': () => new Response('', { status: 502, statusText: 'Bad Gateway' }),
    'GET /api/status': () => textResponse('x'.repeat(1000), { status: 500 }),
  });
  const a = await rejects(api.health());
  assert.equal(a.message, 'HTTP 502 Bad Gateway');
  assert.equal(a.code, 'http_502');
  const b = await rejects(api.status());
  assert.equal(b.message.length, 300);
});

test('an error JSON without message or detail uses the status line', async () => {
  installFetch({ 'GET /api/status': () => jsonResponse({ error: { code: 'boom' } }, { status: 500 }) });
  const err = await rejects(api.status());
  assert.equal(err.code, 'boom');
  assert.match(err.message, /^HTTP 500/);
});

test('a failed fetch is a "network" ApiError with the browser message', async () => {
  installFetch({ 'GET /api/status': () => { throw new TypeError('Failed to fetch'); } });
  const err = await rejects(api.status());
  assert.ok(err instanceof ApiError);
  assert.equal(err.code, 'network');
  assert.equal(err.message, 'Failed to fetch');
});

function hangingFetch() {
  const calls = [];
  globalThis.fetch = (url, init) => new Promise((resolve, reject) => {
    calls.push({ url, init });
    init.signal?.addEventListener('abort', () => reject(init.signal.reason ?? new DOMException('aborted', 'AbortError')));
  });
  return calls;
}

test('a request that outlives its timeout becomes a "timeout" ApiError', async () => {
  hangingFetch();
  const started = Date.now();
  const err = await rejects(api.health({ timeoutMs: 30 }));
  assert.ok(err instanceof ApiError);
  assert.equal(err.code, 'timeout');
  assert.ok(Date.now() - started < 5000);
});

test('a caller abort during a timed request is rethrown as-is, not as a timeout', async () => {
  hangingFetch();
  const ctrl = new AbortController();
  const p = api.status({ signal: ctrl.signal, timeoutMs: 10000 });
  ctrl.abort(new DOMException('user cancelled', 'AbortError'));
  const err = await rejects(p);
  assert.ok(!(err instanceof ApiError));
  assert.equal(err.name, 'AbortError');
  assert.equal(err.message, 'user cancelled');
});

test('a caller abort of an upload rethrows the abort error', async () => {
  hangingFetch();
  const ctrl = new AbortController();
  const p = api.transcribe(new FormData(), { signal: ctrl.signal });
  ctrl.abort();
  const err = await rejects(p);
  assert.equal(err.name, 'AbortError');
});

test('timing headers parse to seconds; missing or malformed ones are null', () => {
  const h = new Headers({ 'X-Time-Load': '2.5', 'X-Time-Process': '0.123', 'X-Time-Total': 'soon' });
  assert.deepEqual(timingHeaders(h), { load: 2.5, process: 0.123, total: null });
  assert.deepEqual(timingHeaders(new Headers()), { load: null, process: null, total: null });
  assert.deepEqual(timingHeaders(null), { load: null, process: null, total: null });
  assert.deepEqual(timingHeaders({}), { load: null, process: null, total: null });
  assert.deepEqual(timingHeaders(new Headers({ 'x-time-load': '0' })).load, 0, 'zero is a value, not missing');
});

test('a proxy\'s HTML error page is never the message: the status line, flagged foreign', async () => {
  const page = '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>';
  installFetch({ 'GET /api/status': () => new Response(page, { status: 502, statusText: 'Bad Gateway', headers: { 'content-type': 'text/html' } }) });
  const err = await rejects(api.status());
  assert.equal(err.message, 'HTTP 502 Bad Gateway');
  assert.equal(err.code, 'http_502');
  assert.equal(err.foreign, true);
  assert.doesNotMatch(err.message, /</);
});

test('the service\'s own JSON error is not foreign', async () => {
  installFetch({ 'GET /api/status': () => jsonResponse({ error: { code: 'overloaded', message: 'Busy.' } }, { status: 503 }) });
  const err = await rejects(api.status());
  assert.equal(err.foreign, false);
  assert.equal(err.message, 'Busy.');
});
