// Audio helpers: decoding with WebAudio, rendering files as 16 kHz mono, PCM s16le, WAV encoding,
// and waveform peaks. Decoding uses OfflineAudioContext so no AudioContext starts before a gesture.
// The microphone is not resampled here: it streams at its own rate and the server resamples (soxr).
import { fillBar, fitCanvas } from './canvas.js';

export const TARGET_RATE = 16000;

/** Decode an encoded file (Blob/File/ArrayBuffer) into an AudioBuffer. */
export async function decodeAudio(blobOrBuffer) {
  const buf = blobOrBuffer instanceof ArrayBuffer ? blobOrBuffer : await blobOrBuffer.arrayBuffer();
  const ctx = new OfflineAudioContext(1, 1, 44100);
  return ctx.decodeAudioData(buf.slice(0));
}

/** Mix an AudioBuffer down to mono and resample it to `rate` (default 16 kHz). */
export async function toMono(audioBuffer, rate = TARGET_RATE) {
  const length = Math.max(1, Math.ceil(audioBuffer.duration * rate));
  const ctx = new OfflineAudioContext(1, length, rate);
  const src = ctx.createBufferSource();
  src.buffer = audioBuffer;
  src.connect(ctx.destination);
  src.start();
  const rendered = await ctx.startRendering();
  return rendered.getChannelData(0).slice();
}

/** Float32 [-1, 1] -> Int16 PCM (little-endian on every platform browsers run on). */
export function floatToPcm16(f32) {
  const out = new Int16Array(f32.length);
  for (let i = 0; i < f32.length; i += 1) {
    const s = Math.max(-1, Math.min(1, f32[i]));
    out[i] = s < 0 ? s * 0x8000 : s * 0x7fff;
  }
  return out;
}

/** Encode mono Float32 samples as a 16-bit PCM WAV Blob. */
export function encodeWav(f32, rate = TARGET_RATE) {
  const pcm = floatToPcm16(f32);
  const buffer = new ArrayBuffer(44 + pcm.byteLength);
  const v = new DataView(buffer);
  const str = (o, s) => { for (let i = 0; i < s.length; i += 1) v.setUint8(o + i, s.charCodeAt(i)); };
  str(0, 'RIFF'); v.setUint32(4, 36 + pcm.byteLength, true); str(8, 'WAVE');
  str(12, 'fmt '); v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true);
  v.setUint32(24, rate, true); v.setUint32(28, rate * 2, true); v.setUint16(32, 2, true); v.setUint16(34, 16, true);
  str(36, 'data'); v.setUint32(40, pcm.byteLength, true);
  new Int16Array(buffer, 44).set(pcm);
  return new Blob([buffer], { type: 'audio/wav' });
}

/** Concatenate Float32Array chunks. */
export function concatFloat32(chunks) {
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const out = new Float32Array(total);
  let o = 0;
  for (const c of chunks) { out.set(c, o); o += c.length; }
  return out;
}

/** Root-mean-square level of a frame, mapped to 0..1 on a perceptual (dB) scale. */
export function levelOf(f32) {
  let sum = 0;
  for (let i = 0; i < f32.length; i += 1) sum += f32[i] * f32[i];
  const rms = Math.sqrt(sum / Math.max(1, f32.length));
  const db = 20 * Math.log10(rms + 1e-9);
  return Math.max(0, Math.min(1, (db + 60) / 60));
}

/**
 * Peaks for drawing: `perSecond` min/max pairs per second of audio.
 * @returns {{min: Float32Array, max: Float32Array, perSecond: number, duration: number}}
 */
export function computePeaks(samples, rate, perSecond = 200) {
  const duration = samples.length / rate;
  const n = Math.max(1, Math.min(400000, Math.ceil(duration * perSecond)));
  const step = samples.length / n;
  const min = new Float32Array(n);
  const max = new Float32Array(n);
  for (let i = 0; i < n; i += 1) {
    const a = Math.floor(i * step);
    const b = Math.min(samples.length, Math.max(a + 1, Math.floor((i + 1) * step)));
    let lo = 1; let hi = -1;
    for (let j = a; j < b; j += 1) { const s = samples[j]; if (s < lo) lo = s; if (s > hi) hi = s; }
    if (lo > hi) { lo = 0; hi = 0; }
    min[i] = lo; max[i] = hi;
  }
  return { min, max, perSecond: n / Math.max(duration, 1e-9), duration };
}

/** Draw a compact symmetric waveform (used for the input previews). */
export function drawMiniWave(canvas, peaks, { progress = 0 } = {}) {
  const { g, w, h } = fitCanvas(canvas, { width: 300, height: 44 });
  if (!peaks) return;
  const bar = 3;
  const gap = 2;
  const count = Math.max(1, Math.floor(w / (bar + gap)));
  const grad = g.createLinearGradient(0, 0, w, 0);
  grad.addColorStop(0, '#22e4ff'); grad.addColorStop(0.55, '#8b5cff'); grad.addColorStop(1, '#ff4fd8');
  let peakMax = 0.001;
  for (let i = 0; i < peaks.max.length; i += 1) peakMax = Math.max(peakMax, peaks.max[i], -peaks.min[i]);
  for (let i = 0; i < count; i += 1) {
    const a = Math.floor((i / count) * peaks.max.length);
    const b = Math.max(a + 1, Math.floor(((i + 1) / count) * peaks.max.length));
    let amp = 0;
    for (let j = a; j < b && j < peaks.max.length; j += 1) amp = Math.max(amp, peaks.max[j], -peaks.min[j]);
    const hh = Math.max(2, (amp / peakMax) * (h - 6));
    g.fillStyle = grad;
    g.globalAlpha = progress > 0 && (i + 0.5) / count <= progress ? 1 : 0.42;
    fillBar(g, i * (bar + gap), (h - hh) / 2, bar, hh);
  }
  g.globalAlpha = 1;
}
