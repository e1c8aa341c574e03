// recorder.js with a fake getUserMedia/AudioContext/AudioWorklet: error classification, the capture
// graph, raw frames at the device rate, level reports, stop (WAV) / cancel teardown.
import test from 'node:test';
import assert from 'node:assert/strict';
import { installDom } from './helpers/fake-dom.mjs';

const env = installDom();
const { MicRecorder, MicError } = await import('../../ui/js/recorder.js');

let ctxs;
let tracks;
function installAudio({ gum, addModule, rate = 48000 } = {}) {
  ctxs = [];
  tracks = [{ stopped: false, stop() { this.stopped = true; } }];
  const stream = { getTracks: () => tracks };
  globalThis.navigator.mediaDevices = { getUserMedia: gum || (async () => stream) };
  globalThis.AudioWorkletNode = class {
    constructor(ctx, name, opts) { Object.assign(this, { ctx, name, opts, port: { onmessage: null }, disconnected: false }); }
    connect(n) { return n; }
    disconnect() { this.disconnected = true; }
  };
  globalThis.AudioContext = class {
    constructor(opts = {}) { this.opts = opts; this.sampleRate = opts.sampleRate || rate; this.state = 'suspended'; this.modules = []; ctxs.push(this); }
    get audioWorklet() { return { addModule: addModule || (async (u) => { this.modules.push(u); }) }; }
    async resume() { this.state = 'running'; }
    createMediaStreamSource(s) { this.stream = s; return { connect() {}, disconnect() {} }; }
    createGain() { return { gain: { value: 1 }, connect: (d) => d }; }
    get destination() { return {}; }
    async close() { this.state = 'closed'; }
  };
}

async function failsWith(rec, kind) {
  try { await rec.start(); } catch (err) {
    assert.ok(err instanceof MicError);
    assert.equal(err.kind, kind);
    return err;
  }
  return assert.fail('start() should have failed');
}

test('an insecure page cannot record', async () => {
  installAudio();
  env.window.isSecureContext = false;
  await failsWith(new MicRecorder(), 'insecure');
  env.window.isSecureContext = true;
});

test('a browser without getUserMedia or AudioWorklet is "unsupported"', async () => {
  installAudio();
  delete globalThis.AudioWorkletNode;
  await failsWith(new MicRecorder(), 'unsupported');
  installAudio();
  globalThis.navigator.mediaDevices = {};
  await failsWith(new MicRecorder(), 'unsupported');
});

test('getUserMedia errors are classified by name', async () => {
  const cases = {
    NotAllowedError: 'denied', SecurityError: 'denied', NotFoundError: 'missing', OverconstrainedError: 'missing',
    NotReadableError: 'busy', AbortError: 'busy', TypeError: 'unknown',
  };
  for (const [name, kind] of Object.entries(cases)) {
    const cause = Object.assign(new Error(`${name} happened`), { name });
    installAudio({ gum: async () => { throw cause; } });
    const err = await failsWith(new MicRecorder(), kind);
    assert.equal(err.cause, cause);
    assert.equal(err.message, `${name} happened`);
  }
});

test('a worklet that fails to load stops the microphone tracks and closes the context', async () => {
  installAudio({ addModule: async () => { throw new Error('no worklet'); } });
  const levels = [];
  const rec = new MicRecorder({ onLevel: (l) => levels.push(l) });
  await failsWith(rec, 'unsupported');
  assert.ok(tracks[0].stopped);
  assert.equal(rec.active, false);
  await new Promise((r) => setImmediate(r));
  assert.equal(ctxs[0].state, 'closed', 'the AudioContext does not leak');
  assert.equal(rec.ctx, null);
  assert.deepEqual(levels, [0]);
});

test('start builds the capture graph with echo cancellation and resumes the context', async () => {
  let constraints;
  installAudio();
  const gum = globalThis.navigator.mediaDevices.getUserMedia;
  globalThis.navigator.mediaDevices.getUserMedia = (c) => { constraints = c; return gum(c); };
  const rec = new MicRecorder();
  await rec.start();
  assert.deepEqual(constraints.audio, { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true });
  assert.deepEqual(ctxs[0].modules, ['/ui/js/pcm-worklet.js']);
  assert.equal(ctxs[0].state, 'running');
  assert.equal(rec.node.name, 'pcm-capture');
  assert.ok(rec.active);
  await rec.start();
  assert.equal(ctxs.length, 1, 'a second start while active is ignored');
  rec.cancel();
});

test('frames are forwarded raw at the device rate, and levels reported', async () => {
  installAudio();
  const levels = [];
  const rec = new MicRecorder({ onLevel: (l) => levels.push(l) });
  const frames = [];
  await rec.start({ onFrame: (f) => frames.push(f) });
  assert.equal(rec.rate, 48000);
  const first = Float32Array.from({ length: 480 }, (_, i) => Math.sin(i / 5) * 0.5);
  rec.node.port.onmessage({ data: first });
  rec.node.port.onmessage({ data: new Float32Array(2) });
  rec.node.port.onmessage({ data: new Float32Array(0) });
  assert.deepEqual(frames.map((f) => f.length), [480, 2], 'every sample goes out, none averaged away; empty frames are skipped');
  assert.deepEqual(Array.from(frames[0]), Array.from(first), 'the samples are the microphone\'s own');
  assert.equal(rec.samples, 482);
  assert.equal(levels.length, 3);
  assert.ok(levels[0] > 0.6 && levels[1] === 0);
  rec.cancel();
});

test('the frame sink can be set once recording runs (the stream opens when the rate is known)', async () => {
  installAudio({ rate: 44100 });
  const rec = new MicRecorder();
  await rec.start();
  rec.node.port.onmessage({ data: new Float32Array(100) });
  const frames = [];
  rec.onFrame = (f) => frames.push(f.length);
  rec.node.port.onmessage({ data: new Float32Array(300) });
  assert.deepEqual(frames, [300]);
  const out = rec.stop();
  assert.equal(out.rate, 44100);
  assert.equal(out.samples.length, 400, 'the recording holds the frames from before the sink too');
});

test('a device rate the server cannot take (192 kHz) falls back to a 48 kHz context', async () => {
  installAudio({ rate: 192000 });
  const rec = new MicRecorder();
  await rec.start();
  await new Promise((r) => setImmediate(r));
  assert.equal(ctxs.length, 2);
  assert.equal(ctxs[0].state, 'closed');
  assert.deepEqual(ctxs[1].opts, { sampleRate: 48000 });
  assert.equal(rec.rate, 48000);
  rec.cancel();
});

test('stop tears down and returns the recording at the device rate as WAV', async () => {
  installAudio();
  const levels = [];
  const rec = new MicRecorder({ onLevel: (l) => levels.push(l) });
  await rec.start();
  const node = rec.node;
  rec.node.port.onmessage({ data: new Float32Array(48000).fill(0.25) });
  const out = rec.stop();
  assert.equal(out.samples.length, 48000);
  assert.equal(out.rate, 48000);
  assert.equal(out.duration, 1);
  assert.equal(out.blob.type, 'audio/wav');
  assert.equal(out.blob.size, 44 + 96000);
  assert.equal(new DataView(await out.blob.arrayBuffer()).getUint32(24, true), 48000, 'the WAV header says 48 kHz');
  assert.ok(tracks[0].stopped);
  assert.ok(node.disconnected);
  assert.equal(node.port.onmessage, null);
  assert.equal(levels.at(-1), 0, 'the meter drops to zero');
  assert.equal(rec.active, false);
  assert.equal(rec.elapsed, 1, 'elapsed comes from the samples once stopped');
  await new Promise((r) => setImmediate(r));
  assert.equal(ctxs[0].state, 'closed');
  assert.equal(rec.stop(), null, 'stopping twice gives nothing');
});

test('cancel throws the audio away; frames after teardown are ignored', async () => {
  installAudio();
  const rec = new MicRecorder();
  const frames = [];
  await rec.start({ onFrame: (f) => frames.push(f) });
  const { port } = rec.node;
  const handler = port.onmessage;
  rec.cancel();
  handler({ data: new Float32Array(480) });
  assert.equal(frames.length, 0);
  assert.equal(rec.samples, 0);
  assert.equal(rec.chunks.length, 0);
  assert.ok(tracks[0].stopped);
  assert.doesNotThrow(() => rec.cancel());
});

// ---- the input panel with the app's streaming hooks (mic-flow.js), on the real page markup ----
const { loadIndexPage } = await import('./helpers/fake-dom.mjs');
const { FakeWebSocket, flush } = await import('./helpers/net.mjs');

async function streamingPage(t) {
  await loadIndexPage(env.document);
  const $ = (id) => env.document.getElementById(id);
  const { InputPanel } = await import('../../ui/js/input.js');
  const { micHooks } = await import('../../ui/js/mic-flow.js');
  const { app } = await import('../../ui/js/app.js');
  const shown = [];
  app.settings.streaming = true;
  app.busy = null;
  app.lastShown = null;
  app.gpu = { setFast() {}, memorySummary: () => null, status: null, refresh: async () => null };
  app.result = {
    showPending: () => shown.push('pending'), showLive: () => shown.push('live'), showEmpty: () => shown.push('empty'),
    showResult: () => shown.push('result'), setPendingLabel() {}, setPeaks() {},
  };
  app.perf = { show() {}, setMemory() {} };
  const q = (sel) => env.document.querySelector(sel);
  const els = {
    tabs: q('.tabs'), tabUpload: $('tab-upload'), tabMic: $('tab-mic'), panelUpload: $('panel-upload'), panelMic: $('panel-mic'),
    dropzone: $('dropzone'), fileInput: $('file-input'), fileCard: $('file-card'), fileName: $('file-name'), fileSize: $('file-size'),
    fileDuration: $('file-duration'), fileAudio: $('file-audio'), fileClear: $('file-clear'), fileWave: $('file-wave'),
    micStage: $('mic-stage'), micBtn: $('mic-btn'), micTimer: $('mic-timer'), micLevel: $('mic-level'), micHint: $('mic-hint'), micScope: $('mic-scope'),
    recCard: $('rec-card'), recDuration: $('rec-duration'), recSize: $('rec-size'), recAudio: $('rec-audio'), recClear: $('rec-clear'), recWave: $('rec-wave'),
  };
  app.input = new InputPanel(els, { micHooks });
  t.after(() => { // a failed assertion must not leave the busy timer running (node would never exit)
    if (app.busy) clearInterval(app.busy.timer);
    app.busy = null;
    app.input.recorder.cancel();
  });
  return { app, input: app.input, shown };
}

test('streaming from the microphone: start carries the device rate, frames go out raw, one teardown on error', async (t) => {
  installAudio({ rate: 44100 });
  FakeWebSocket.install();
  const { app, input, shown } = await streamingPage(t);
  await input.startMic();
  assert.equal(input.micState, 'recording');
  const ws = FakeWebSocket.last;
  ws.serverOpen();
  assert.equal(ws.messages[0].type, 'start');
  assert.equal(ws.messages[0].sample_rate, 44100, 'the AudioContext rate, not 16 kHz');
  ws.serverSend({ type: 'ready' });
  await flush();
  for (let i = 0; i < 3; i += 1) input.recorder.node.port.onmessage({ data: new Float32Array(2048).fill(0.25) });
  assert.deepEqual(ws.frames.map((f) => f.length), [2048, 2048, 2048], 'one PCM frame per worklet frame: nothing resampled');
  assert.ok(ws.frames[0].every((v) => v === Math.trunc(0.25 * 0x7fff)), "the samples themselves, as s16le");
  assert.ok(app.busy, 'the action bar is busy while streaming');
  ws.serverSend({ type: 'error', code: 'internal', message: 'boom' });
  await flush();
  assert.equal(input.micState, 'idle');
  assert.ok(tracks[0].stopped, 'microphone tracks stopped');
  assert.equal(ctxs[0].state, 'closed', 'AudioContext closed');
  assert.equal(app.busy, null, 'busy state (and its timer) ended');
  assert.ok(ws.closedWith, 'the socket is closed');
  assert.ok(input.recording, 'what was recorded is kept');
  assert.equal(input.recording.duration, (3 * 2048) / 44100);
  assert.equal(shown.at(-1), 'empty', 'the previous (empty) result is back');
  assert.equal(micHooksStreaming(app), false);
});

function micHooksStreaming(app) {
  return app.input.micHooks.isStreaming();
}

test('cancelling a microphone stream tears it down the same way and says so', async (t) => {
  installAudio();
  FakeWebSocket.install();
  const { app, input } = await streamingPage(t);
  await input.startMic();
  const ws = FakeWebSocket.last;
  ws.serverOpen();
  app.busy.onCancel();
  await flush();
  assert.equal(input.micState, 'idle');
  assert.ok(tracks[0].stopped);
  assert.equal(ctxs[0].state, 'closed');
  assert.equal(app.busy, null);
  assert.deepEqual(ws.closedWith, { code: 1000, reason: 'cancelled' });
  assert.equal(micHooksStreaming(app), false);
});

test('a recording too short to keep ends its stream without a final', async (t) => {
  installAudio();
  FakeWebSocket.install();
  const { app, input } = await streamingPage(t);
  await input.startMic();
  FakeWebSocket.last.serverOpen();
  input.recorder.node.port.onmessage({ data: new Float32Array(100) });
  assert.equal(await input.stopMic(), null);
  await flush();
  assert.equal(input.micState, 'idle');
  assert.equal(app.busy, null);
  assert.equal(micHooksStreaming(app), false);
  assert.ok(FakeWebSocket.last.closedWith, 'the stream is closed, not left open');
  assert.ok(tracks[0].stopped);
});
