// recorder.js with a fake getUserMedia/AudioContext/AudioWorklet: error classification, the capture
// graph, resampled frames, level reports, stop (WAV) / cancel teardown.
import test from 'node:test';
import assert from 'node:assert/strict';
import { installDom } from './helpers/fake-dom.mjs';

const env = installDom();
const { MicRecorder, MicError } = await import('../../ui/js/recorder.js');

let ctxs;
let tracks;
function installAudio({ gum, addModule } = {}) {
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
    constructor() { this.sampleRate = 48000; this.state = 'suspended'; this.modules = []; ctxs.push(this); }
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

test('a worklet that fails to load stops the microphone tracks', async () => {
  installAudio({ addModule: async () => { throw new Error('no worklet'); } });
  const rec = new MicRecorder();
  await failsWith(rec, 'unsupported');
  assert.ok(tracks[0].stopped);
  assert.equal(rec.active, false);
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

test('frames are resampled to 16 kHz, forwarded, and levels reported', async () => {
  installAudio();
  const levels = [];
  const rec = new MicRecorder({ onLevel: (l) => levels.push(l) });
  const frames = [];
  await rec.start({ onFrame: (f) => frames.push(Array.from(f)) });
  rec.node.port.onmessage({ data: new Float32Array(480).fill(0.5) });
  rec.node.port.onmessage({ data: new Float32Array(2) });
  assert.deepEqual(frames.map((f) => f.length), [160], 'a too-short frame yields no output');
  assert.ok(frames[0].every((s) => Math.abs(s - 0.5) < 1e-6));
  assert.equal(rec.samples, 160);
  assert.equal(levels.length, 2);
  assert.ok(levels[0] > 0.8 && levels[1] === 0);
  rec.cancel();
});

test('stop tears down and returns the 16 kHz recording as WAV', async () => {
  installAudio();
  const levels = [];
  const rec = new MicRecorder({ onLevel: (l) => levels.push(l) });
  await rec.start();
  const node = rec.node;
  rec.node.port.onmessage({ data: new Float32Array(48000).fill(0.25) });
  const out = rec.stop();
  assert.equal(out.samples.length, 16000);
  assert.equal(out.duration, 1);
  assert.equal(out.blob.type, 'audio/wav');
  assert.equal(out.blob.size, 44 + 32000);
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
