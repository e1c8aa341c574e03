// audio-utils.js: PCM conversion, WAV encoding (header parsed back), concatenation, level meter,
// waveform peaks, the WebAudio decode path and the mini waveform drawing; canvas.js, the pixel-ratio
// canvas setup that the waveform, the microphone scope and the timestamp view share.
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  TARGET_RATE, floatToPcm16, encodeWav, concatFloat32, levelOf, computePeaks, decodeAudio, toMono, drawMiniWave,
} from '../../ui/js/audio-utils.js';
import * as audioUtils from '../../ui/js/audio-utils.js';
import { fitCanvas, fillBar } from '../../ui/js/canvas.js';
import { installDom } from './helpers/fake-dom.mjs';

const approx = (a, b, eps = 1e-6) => assert.ok(Math.abs(a - b) <= eps, `${a} ≉ ${b}`);

test('the target rate is 16 kHz', () => {
  assert.equal(TARGET_RATE, 16000);
});

test('float samples map to int16 with asymmetric full scale and clipping', () => {
  const pcm = floatToPcm16(Float32Array.from([0, 1, -1, 0.5, -0.5, 2, -2, 1e-6]));
  assert.ok(pcm instanceof Int16Array);
  assert.deepEqual(Array.from(pcm), [0, 32767, -32768, 16383, -16384, 32767, -32768, 0]);
});

test('pcm conversion keeps the length, including empty input', () => {
  assert.equal(floatToPcm16(new Float32Array(0)).length, 0);
  assert.equal(floatToPcm16(new Float32Array(1234)).length, 1234);
});

async function parseWav(blob) {
  const buf = await blob.arrayBuffer();
  const v = new DataView(buf);
  const str = (o, n) => String.fromCharCode(...new Uint8Array(buf, o, n));
  return {
    buf,
    riff: str(0, 4), riffSize: v.getUint32(4, true), wave: str(8, 4), fmt: str(12, 4), fmtSize: v.getUint32(16, true),
    format: v.getUint16(20, true), channels: v.getUint16(22, true), rate: v.getUint32(24, true), byteRate: v.getUint32(28, true),
    blockAlign: v.getUint16(32, true), bits: v.getUint16(34, true), data: str(36, 4), dataSize: v.getUint32(40, true),
    samples: Array.from({ length: (buf.byteLength - 44) / 2 }, (_, i) => v.getInt16(44 + i * 2, true)),
  };
}

test('WAV header describes 16-bit mono PCM at the given rate', async () => {
  const blob = encodeWav(Float32Array.from([0, 0.5, -0.5, 1]), 16000);
  assert.equal(blob.type, 'audio/wav');
  const w = await parseWav(blob);
  assert.equal(w.riff, 'RIFF');
  assert.equal(w.wave, 'WAVE');
  assert.equal(w.fmt, 'fmt ');
  assert.equal(w.fmtSize, 16);
  assert.equal(w.format, 1);
  assert.equal(w.channels, 1);
  assert.equal(w.rate, 16000);
  assert.equal(w.byteRate, 32000);
  assert.equal(w.blockAlign, 2);
  assert.equal(w.bits, 16);
  assert.equal(w.data, 'data');
  assert.equal(w.dataSize, 8);
  assert.equal(w.riffSize, 36 + 8);
  assert.equal(w.buf.byteLength, 44 + 8);
});

test('WAV data holds the little-endian samples in order', async () => {
  const w = await parseWav(encodeWav(Float32Array.from([0, 0.5, -0.5, 1, -1])));
  assert.deepEqual(w.samples, [0, 16383, -16384, 32767, -32768]);
  assert.equal(w.rate, TARGET_RATE, 'defaults to 16 kHz');
});

test('WAV byte rate follows a non-default sample rate; empty audio is a valid header', async () => {
  const w = await parseWav(encodeWav(new Float32Array(10), 48000));
  assert.equal(w.rate, 48000);
  assert.equal(w.byteRate, 96000);
  assert.equal(w.dataSize, 20);
  const empty = await parseWav(encodeWav(new Float32Array(0)));
  assert.equal(empty.dataSize, 0);
  assert.equal(empty.riffSize, 36);
  assert.equal(empty.buf.byteLength, 44);
});

test('concatenation keeps order and total length', () => {
  const out = concatFloat32([Float32Array.from([1, 2]), new Float32Array(0), Float32Array.from([3]), Float32Array.from([4, 5, 6])]);
  assert.ok(out instanceof Float32Array);
  assert.deepEqual(Array.from(out), [1, 2, 3, 4, 5, 6]);
  assert.equal(concatFloat32([]).length, 0);
});

test('no resampler is left in the browser: the microphone streams at its own rate', () => {
  assert.equal(audioUtils.StreamResampler, undefined);
});

function canvasIn(document, { width, height } = {}) {
  const canvas = document.createElement('canvas');
  if (width !== undefined) canvas.clientWidth = width;
  if (height !== undefined) canvas.clientHeight = height;
  return canvas;
}

test('fitCanvas sizes the backing store for the pixel ratio and draws in CSS pixels', () => {
  const { document, window } = installDom();
  window.devicePixelRatio = 1.5;
  const canvas = canvasIn(document, { width: 101, height: 40 });
  const fitted = fitCanvas(canvas);
  assert.deepEqual([canvas.width, canvas.height], [152, 60], 'rounded to whole device pixels');
  assert.deepEqual([fitted.w, fitted.h, fitted.dpr], [101, 40, 1.5]);
  assert.equal(fitted.g, canvas.getContext('2d'));
  assert.deepEqual(fitted.g.calls.map((c) => [c.name, ...c.args]), [['setTransform', 1.5, 0, 0, 1.5, 0, 0], ['clearRect', 0, 0, 101, 40]]);
});

test('fitCanvas keeps an unchanged backing store (no reallocation) and follows a new ratio', () => {
  const { document, window } = installDom();
  window.devicePixelRatio = 2;
  const canvas = canvasIn(document, { width: 50, height: 20 });
  fitCanvas(canvas);
  let writes = 0;
  let width = canvas.width;
  Object.defineProperty(canvas, 'width', { get: () => width, set: (v) => { writes += 1; width = v; }, configurable: true });
  fitCanvas(canvas);
  assert.equal(writes, 0, 'same size: the canvas is only cleared');
  window.devicePixelRatio = 3;
  fitCanvas(canvas);
  assert.equal(writes, 1);
  assert.equal(canvas.width, 150);
});

test('fitCanvas: no pixel ratio counts as 1; a canvas not laid out uses the fallback or gives null', () => {
  const { document, window } = installDom();
  window.devicePixelRatio = undefined;
  const laidOut = canvasIn(document, { width: 0, height: 0 });
  assert.equal(fitCanvas(laidOut), null, 'nothing to draw on');
  assert.equal(laidOut.getContext('2d').calls.length, 0);
  const fitted = fitCanvas(canvasIn(document, { width: 0, height: 0 }), { width: 300, height: 96 });
  assert.deepEqual([fitted.w, fitted.h, fitted.dpr], [300, 96, 1]);
});

test('fillBar draws a rounded bar, or a rectangle where roundRect is missing', () => {
  const { document } = installDom();
  const g = canvasIn(document, { width: 10, height: 10 }).getContext('2d');
  fillBar(g, 1, 2, 3, 4);
  assert.deepEqual(g.calls.map((c) => c.name), ['beginPath', 'roundRect', 'fill']);
  assert.deepEqual(g.named('roundRect')[0].args, [1, 2, 3, 4, 1.5]);
  g.calls.length = 0;
  g.roundRect = undefined;
  fillBar(g, 5, 6, 7, 8);
  assert.deepEqual(g.calls.map((c) => [c.name, ...c.args]), [['beginPath'], ['rect', 5, 6, 7, 8], ['fill']]);
});

test('WAV of a 48 kHz recording stays at 48 kHz (the recording is not resampled)', async () => {
  const blob = encodeWav(new Float32Array(4800), 48000);
  assert.equal(blob.size, 44 + 9600);
  const head = new DataView(await blob.arrayBuffer());
  assert.equal(head.getUint32(24, true), 48000);
});

test('mini waveform and microphone scope both size their canvas through fitCanvas', async () => {
  const { document, window } = installDom();
  window.devicePixelRatio = 2;
  const { drawScope } = await import('../../ui/js/recorder.js');
  const scope = canvasIn(document, { width: 0, height: 0 });
  drawScope(scope, [0.5, 0.5]);
  assert.deepEqual([scope.width, scope.height], [600, 192], 'scope falls back to 300 x 96 CSS px');
  const wave = canvasIn(document, { width: 0, height: 0 });
  drawMiniWave(wave, null);
  assert.deepEqual([wave.width, wave.height], [600, 88], 'waveform falls back to 300 x 44 CSS px');
  assert.equal(scope.getContext('2d').named('setTransform')[0].args[0], 2);
});

test('level: silence is 0, full-scale is 1, -20 dBFS is two thirds', () => {
  assert.equal(levelOf(new Float32Array(128)), 0);
  assert.equal(levelOf(new Float32Array(0)), 0);
  approx(levelOf(new Float32Array(64).fill(1)), 1, 1e-6);
  approx(levelOf(new Float32Array(64).fill(0.1)), 2 / 3, 1e-4);
  approx(levelOf(new Float32Array(64).fill(-0.1)), 2 / 3, 1e-4);
  assert.equal(levelOf(new Float32Array(16).fill(4)), 1, 'clipped at 1');
  assert.equal(levelOf(new Float32Array(16).fill(1e-4)), 0, 'below -60 dB reads as 0');
});

test('peaks give min/max per bucket at the requested density', () => {
  const samples = Float32Array.from([0.1, -0.2, 0.5, 0.3, -0.9, 0.0, 0.2, 0.2, -0.1, 0.4]);
  const p = computePeaks(samples, 10, 5);
  assert.equal(p.duration, 1);
  assert.equal(p.min.length, 5);
  assert.equal(p.perSecond, 5);
  assert.deepEqual(Array.from(p.max).map((x) => +x.toFixed(3)), [0.1, 0.5, 0, 0.2, 0.4]);
  assert.deepEqual(Array.from(p.min).map((x) => +x.toFixed(3)), [-0.2, 0.3, -0.9, 0.2, -0.1]);
});

test('peaks of empty audio are one flat bucket, and long audio is capped', () => {
  const empty = computePeaks(new Float32Array(0), 16000);
  assert.equal(empty.min.length, 1);
  assert.equal(empty.min[0], 0);
  assert.equal(empty.max[0], 0);
  const short = computePeaks(new Float32Array(3), 16000, 200);
  assert.equal(short.max.length, 1);
  // 2 000 s at 200 buckets/s would be 400 000 buckets: the cap keeps it there and perSecond follows
  const big = computePeaks(new Float32Array(2100 * 10), 10, 200);
  assert.equal(big.max.length, 400000);
  approx(big.perSecond, 400000 / 2100, 1e-6);
});

test('peaks cover every sample: a single spike shows up in its bucket', () => {
  const s = new Float32Array(16000);
  s[12345] = 0.8;
  const p = computePeaks(s, 16000, 100);
  const bucket = Math.floor(12345 / 160);
  assert.ok(Math.abs(p.max[bucket] - 0.8) < 1e-6);
  assert.equal(Array.from(p.max).filter((x) => x > 0).length, 1);
});

class FakeOfflineContext {
  static created = [];

  constructor(channels, length, rate) {
    Object.assign(this, { channels, length, rate, decoded: null, source: null });
    FakeOfflineContext.created.push(this);
  }

  decodeAudioData(buf) { this.decoded = buf; return Promise.resolve({ duration: 2.5, bytes: buf.byteLength }); }

  createBufferSource() {
    this.source = { connected: null, started: false, connect: (d) => { this.source.connected = d; }, start: () => { this.source.started = true; } };
    return this.source;
  }

  get destination() { return 'dest'; }

  startRendering() {
    const data = Float32Array.from({ length: this.length }, (_, i) => i / this.length);
    return Promise.resolve({ getChannelData: () => data });
  }
}

test('decodeAudio decodes a copy of the bytes from a Blob or an ArrayBuffer', async () => {
  globalThis.OfflineAudioContext = FakeOfflineContext;
  FakeOfflineContext.created = [];
  const ab = new Uint8Array([1, 2, 3, 4]).buffer;
  const res = await decodeAudio(ab);
  assert.equal(res.bytes, 4);
  const ctx = FakeOfflineContext.created[0];
  assert.notEqual(ctx.decoded, ab, 'decodeAudioData detaches its input, so a copy is passed');
  assert.equal(ab.byteLength, 4);
  const fromBlob = await decodeAudio(new Blob([new Uint8Array(7)]));
  assert.equal(fromBlob.bytes, 7);
});

test('toMono renders a mono 16 kHz buffer of the audio duration and returns a copy', async () => {
  globalThis.OfflineAudioContext = FakeOfflineContext;
  FakeOfflineContext.created = [];
  const audioBuffer = { duration: 0.5 };
  const out = await toMono(audioBuffer);
  const ctx = FakeOfflineContext.created[0];
  assert.deepEqual([ctx.channels, ctx.length, ctx.rate], [1, 8000, 16000]);
  assert.equal(ctx.source.connected, 'dest');
  assert.ok(ctx.source.started);
  assert.equal(ctx.source.buffer, audioBuffer);
  assert.equal(out.length, 8000);
  const tiny = await toMono({ duration: 0 }, 8000);
  assert.equal(tiny.length, 1, 'never a zero-length context');
});

test('mini waveform sizes the canvas for the pixel ratio and draws one bar per 5 px', () => {
  const { document, window } = installDom();
  window.devicePixelRatio = 2;
  const canvas = document.createElement('canvas');
  canvas.clientWidth = 100;
  canvas.clientHeight = 40;
  const peaks = computePeaks(Float32Array.from({ length: 1600 }, (_, i) => Math.sin(i)), 16000, 200);
  drawMiniWave(canvas, peaks, { progress: 0.5 });
  assert.equal(canvas.width, 200);
  assert.equal(canvas.height, 80);
  const g = canvas.getContext('2d');
  const fills = g.named('fill');
  assert.equal(fills.length, 20);
  assert.deepEqual(fills.map((c) => c.globalAlpha).slice(0, 10), Array(10).fill(1), 'played half is bright');
  assert.deepEqual(fills.map((c) => c.globalAlpha).slice(10), Array(10).fill(0.42), 'rest is dimmed');
  assert.equal(g.globalAlpha, 1);
});

test('mini waveform without peaks only clears', () => {
  const { document } = installDom();
  const canvas = document.createElement('canvas');
  drawMiniWave(canvas, null);
  const g = canvas.getContext('2d');
  assert.equal(canvas.width, 300, 'falls back to a 300 px width');
  assert.deepEqual(g.calls.map((c) => c.name), ['setTransform', 'clearRect']);
});

test('mini waveform bars scale to the loudest peak', () => {
  const { document } = installDom();
  const canvas = document.createElement('canvas');
  canvas.clientWidth = 10;
  canvas.clientHeight = 46;
  const peaks = { min: Float32Array.from([-0.1, -0.05]), max: Float32Array.from([0.1, 0.05]) };
  drawMiniWave(canvas, peaks);
  const rects = canvas.getContext('2d').named('roundRect');
  assert.equal(rects.length, 2);
  assert.equal(rects[0].args[3], 40, 'loudest bar fills h - 6');
  assert.equal(rects[1].args[3], 20, 'half as loud, half as tall');
});
