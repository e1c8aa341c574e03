// streaming.js: the WebSocket URL, the start/ready/partial/final/error protocol, frame queueing
// before "ready", stop/abort, close codes, and pumping a decoded file through a session.
import test from 'node:test';
import assert from 'node:assert/strict';
import { installDom } from './helpers/fake-dom.mjs';
import { FakeWebSocket, flush } from './helpers/net.mjs';

const env = installDom();
FakeWebSocket.install();
const { StreamSession, StreamError, streamUrl, pumpSamples } = await import('../../ui/js/streaming.js');

test.beforeEach(() => {
  FakeWebSocket.install();
  env.localStorage.clear();
});

async function settle(promise) {
  return promise.then((v) => ({ ok: true, v }), (e) => ({ ok: false, e }));
}

function session(callbacks = {}, start = { model: 'qwen3-asr-0.6b', language: 'auto' }) {
  const events = [];
  const cb = {
    onLoading: (m) => events.push(['loading', m]), onReady: (m) => events.push(['ready', m]), onPartial: (m) => events.push(['partial', m]),
    onFinal: (m) => events.push(['final', m]), onSpeech: (speaking, m) => events.push(['speech', speaking, m]), onError: (e) => events.push(['error', e]), ...callbacks,
  };
  const s = new StreamSession(start, cb);
  return { s, events };
}

test('stream URL follows the page scheme and host', () => {
  assert.equal(streamUrl({ protocol: 'http:', host: 'box:8000' }), 'ws://box:8000/api/transcribe/stream');
  assert.equal(streamUrl({ protocol: 'https:', host: 'asr.example.org' }), 'wss://asr.example.org/api/transcribe/stream');
  assert.equal(streamUrl(), 'ws://localhost:8000/api/transcribe/stream', 'defaults to window.location');
});

test('stream URL carries the stored API key, URL-encoded', () => {
  env.localStorage.setItem('qwen-asr.api-key', 'a b&c=/');
  assert.equal(streamUrl({ protocol: 'https:', host: 'h' }), 'wss://h/api/transcribe/stream?api_key=a%20b%26c%3D%2F');
});

test('the start message defaults to 16 kHz s16le and keeps the caller fields', () => {
  const { s } = session({}, { model: 'm', language: 'de', return_timestamps: true });
  assert.deepEqual(s.startMessage, {
    type: 'start', sample_rate: 16000, format: 'pcm_s16le', model: 'm', language: 'de', return_timestamps: true,
  });
});

test('on open the client sends the start message; start() resolves on "ready"', async () => {
  const { s, events } = session();
  const started = settle(s.start());
  const ws = FakeWebSocket.last;
  assert.equal(ws.url, 'ws://localhost:8000/api/transcribe/stream');
  assert.equal(ws.binaryType, 'arraybuffer');
  ws.serverOpen();
  assert.deepEqual(ws.messages, [s.startMessage]);
  ws.serverSend({ type: 'loading', model: 'm' });
  assert.equal(s.ready, false);
  ws.serverSend({ type: 'ready' });
  assert.deepEqual((await started), { ok: true, v: undefined });
  assert.equal(s.ready, true);
  assert.deepEqual(events.map((e) => e[0]), ['loading', 'ready']);
  assert.equal(events[0][1].model, 'm');
});

test('frames sent before "ready" are queued and flushed in order', async () => {
  const { s } = session();
  const started = s.start();
  const ws = FakeWebSocket.last;
  s.sendFloat(Float32Array.from([0.5, -0.5]));
  ws.serverOpen();
  s.sendFloat(Float32Array.from([1]));
  assert.equal(ws.frames.length, 0, 'nothing binary before ready');
  assert.equal(s.queue.length, 2);
  ws.serverSend({ type: 'ready' });
  await started;
  assert.deepEqual(ws.frames.map((f) => Array.from(f)), [[16383, -16384], [32767]]);
  assert.equal(s.queue.length, 0);
  s.sendFloat(Float32Array.from([0, 0, 0]));
  assert.deepEqual(Array.from(ws.frames[2]), [0, 0, 0], 'after ready frames go out at once');
  assert.equal(s.sentSamples, 6);
});

test('empty frames are not sent or counted', async () => {
  const { s } = session();
  const started = s.start();
  const ws = FakeWebSocket.last;
  ws.serverOpen();
  ws.serverSend({ type: 'ready' });
  await started;
  s.sendFloat(new Float32Array(0));
  assert.equal(ws.frames.length, 0);
  assert.equal(s.sentSamples, 0);
});

test('partials reach the callback; binary and malformed messages are ignored', async () => {
  const { s, events } = session();
  s.start();
  const ws = FakeWebSocket.last;
  ws.serverOpen();
  ws.serverSend({ type: 'ready' });
  ws.serverBinary(new ArrayBuffer(4));
  ws.serverSend('{not json');
  ws.serverSend({ type: 'mystery' });
  ws.serverSend({ type: 'partial', text: 'hel', stable_text: 'he', unstable_text: 'l' });
  assert.deepEqual(events.map((e) => e[0]), ['ready', 'partial']);
  assert.equal(events[1][1].stable_text, 'he');
});

test('the server VAD events reach onSpeech as speaking true, then false', async () => {
  const { s, events } = session();
  s.start();
  const ws = FakeWebSocket.last;
  ws.serverOpen();
  ws.serverSend({ type: 'ready' });
  ws.serverSend({ type: 'speech_started', start_seconds: 0.4 });
  ws.serverSend({ type: 'speech_stopped', end_seconds: 1.9 });
  assert.deepEqual(events.map((e) => e[0]), ['ready', 'speech', 'speech']);
  assert.deepEqual(events.slice(1).map((e) => e[1]), [true, false]);
  assert.equal(events[2][2].end_seconds, 1.9);
});

test('stop sends one stop message and resolves with the final message', async () => {
  const { s, events } = session();
  const started = s.start();
  const ws = FakeWebSocket.last;
  ws.serverOpen();
  ws.serverSend({ type: 'ready' });
  await started;
  const final = s.stop();
  s.stop();
  assert.deepEqual(ws.messages.map((m) => m.type), ['start', 'stop']);
  s.sendFloat(Float32Array.from([0.1]));
  assert.equal(ws.frames.length, 0, 'no audio after stop');
  ws.serverSend({ type: 'final', text: 'hello', language: 'English' });
  const msg = await final;
  assert.equal(msg.text, 'hello');
  assert.equal(s.finished, true);
  ws.serverClose(1000, '');
  await flush();
  assert.deepEqual(events.map((e) => e[0]), ['ready', 'final'], 'a close after the final is not an error');
});

test('stop before "ready" is delivered after the queued audio once ready', async () => {
  const { s } = session();
  const started = s.start();
  const ws = FakeWebSocket.last;
  ws.serverOpen();
  s.sendFloat(Float32Array.from([0.25]));
  s.stop();
  assert.deepEqual(ws.messages.map((m) => m.type), ['start']);
  ws.serverSend({ type: 'ready' });
  await started;
  assert.equal(ws.frames.length, 1);
  const kinds = ws.sent.map((d) => (typeof d === 'string' ? JSON.parse(d).type : 'audio'));
  assert.deepEqual(kinds, ['start', 'audio', 'stop']);
});

test('a server error before ready rejects start() with its code and message', async () => {
  const { s, events } = session();
  const started = settle(s.start());
  const final = settle(s.finalPromise);
  const ws = FakeWebSocket.last;
  ws.serverOpen();
  ws.serverSend({ type: 'error', code: 'model_not_allowed', message: 'model x is not served' });
  const r = await started;
  assert.equal(r.ok, false);
  assert.ok(r.e instanceof StreamError);
  assert.equal(r.e.code, 'model_not_allowed');
  assert.equal(r.e.message, 'model x is not served');
  assert.equal(r.e.beforeReady, true);
  assert.equal((await final).e, r.e, 'the final promise rejects with the same error');
  assert.deepEqual(events.map((e) => e[0]), ['error']);
  ws.serverClose(1011, 'x');
  await flush();
  assert.equal(events.length, 1, 'the close after an error is not reported again');
});

test('a server error after ready is reported to onError and rejects the final', async () => {
  const { s, events } = session();
  const started = s.start();
  const ws = FakeWebSocket.last;
  ws.serverOpen();
  ws.serverSend({ type: 'ready' });
  await started;
  const final = settle(s.stop());
  ws.serverSend({ type: 'error', code: 'internal' });
  const r = await final;
  assert.equal(r.e.code, 'internal');
  assert.equal(r.e.message, 'internal', 'without a message the code is shown');
  assert.equal(r.e.beforeReady, false);
  assert.equal(events.at(-1)[0], 'error');
});

test('a close before ready rejects start() as "unavailable" with the close code', async () => {
  const { s, events } = session();
  const started = settle(s.start());
  FakeWebSocket.last.serverClose(1008, 'policy');
  const r = await started;
  assert.equal(r.e.code, 'unavailable');
  assert.equal(r.e.closeCode, 1008);
  assert.equal(r.e.message, 'policy');
  assert.equal(r.e.beforeReady, true);
  assert.deepEqual(events, [], 'start() callers handle it; onError is for later failures');
});

test('a close after ready without a final is a "closed" error', async () => {
  const { s, events } = session();
  const started = s.start();
  const ws = FakeWebSocket.last;
  ws.serverOpen();
  ws.serverSend({ type: 'ready' });
  await started;
  const final = settle(s.finalPromise);
  ws.serverClose(1006, '');
  const r = await final;
  assert.equal(r.e.code, 'closed');
  assert.equal(r.e.closeCode, 1006);
  assert.equal(r.e.beforeReady, false);
  assert.equal(events.at(-1)[1], r.e);
});

test('abort closes the socket, rejects the final as cancelled and stays quiet', async () => {
  const { s, events } = session();
  const started = s.start();
  const ws = FakeWebSocket.last;
  ws.serverOpen();
  ws.serverSend({ type: 'ready' });
  await started;
  const final = settle(s.finalPromise);
  s.abort();
  assert.deepEqual(ws.closedWith, { code: 1000, reason: 'cancelled' });
  assert.equal((await final).e.code, 'cancelled');
  ws.onclose?.({ code: 1000, reason: 'cancelled' });
  await flush();
  assert.deepEqual(events.map((e) => e[0]), ['ready']);
  s.sendFloat(Float32Array.from([1]));
  assert.equal(ws.frames.length, 0);
});

test('a WebSocket constructor failure rejects as connect_failed', async () => {
  FakeWebSocket.failNext = new SyntaxError('bad url');
  const { s } = session();
  const r = await settle(s.start());
  assert.equal(r.e.code, 'connect_failed');
  assert.equal(r.e.message, 'bad url');
  assert.equal(r.e.beforeReady, true);
});

test('bufferedAmount reads through to the socket (0 before connecting)', () => {
  const { s } = session();
  assert.equal(s.bufferedAmount, 0);
  s.start();
  FakeWebSocket.last.bufferedAmount = 1234;
  assert.equal(s.bufferedAmount, 1234);
});

function fakeSession() {
  return {
    stopped: false, bufferedAmount: 0, frames: [],
    sendFloat(f) { this.frames.push(Array.from(f)); },
  };
}

test('pumpSamples sends the file in frames and reports progress up to 1', async () => {
  const s = fakeSession();
  const samples = Float32Array.from({ length: 400 }, (_, i) => i / 400);
  const progress = [];
  await pumpSamples(s, samples, { speed: 10000, frameSeconds: 0.01, onProgress: (p) => progress.push(p) });
  assert.deepEqual(s.frames.map((f) => f.length), [160, 160, 80]);
  assert.equal(s.frames.flat().length, 400);
  assert.ok(Math.abs(s.frames[2][79] - 399 / 400) < 1e-6, 'the last sample is sent');
  assert.deepEqual(progress, [0.4, 0.8, 1]);
});

test('pumpSamples frames are at least 10 ms (160 samples)', async () => {
  const s = fakeSession();
  await pumpSamples(s, new Float32Array(500), { speed: 10000, frameSeconds: 0.001 });
  assert.equal(s.frames[0].length, 160);
});

test('pumpSamples stops when the signal aborts or the session stops', async () => {
  const s = fakeSession();
  const ctrl = new AbortController();
  await pumpSamples(s, new Float32Array(16000), {
    speed: 10000, frameSeconds: 0.01, signal: ctrl.signal, onProgress: () => { if (s.frames.length === 3) ctrl.abort(); },
  });
  assert.equal(s.frames.length, 3);
  const s2 = fakeSession();
  await pumpSamples(s2, new Float32Array(16000), { speed: 10000, frameSeconds: 0.01, onProgress: () => { s2.stopped = true; } });
  assert.equal(s2.frames.length, 1);
});

test('pumpSamples waits while the socket buffer is over 1 MiB', async () => {
  const s = fakeSession();
  s.bufferedAmount = 2 << 20;
  const done = pumpSamples(s, new Float32Array(480), { speed: 10000, frameSeconds: 0.01 });
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(s.frames.length, 1, 'held back after the first frame');
  s.bufferedAmount = 0;
  await done;
  assert.equal(s.frames.length, 3);
});

test('a start message with the microphone rate keeps it; the session knows its rate', () => {
  const s = new StreamSession({ model: 'm', sample_rate: 48000 });
  assert.equal(s.startMessage.sample_rate, 48000);
  assert.equal(s.sampleRate, 48000);
  assert.equal(new StreamSession({}).sampleRate, 16000);
});

test('pumpSamples frames follow the session rate (a 48 kHz recording streams 48 kHz frames)', async () => {
  const s = { ...fakeSession(), sampleRate: 48000 };
  await pumpSamples(s, new Float32Array(48000), { speed: 100000, frameSeconds: 0.2 });
  assert.equal(s.frames.length, 5);
  assert.ok(s.frames.every((f) => f.length === 9600), '0.2 s at 48 kHz');
  const tiny = { ...fakeSession(), sampleRate: 48000 };
  await pumpSamples(tiny, new Float32Array(1000), { speed: 100000, frameSeconds: 0.001 });
  assert.equal(tiny.frames[0].length, 480, 'never under 10 ms of audio');
});
