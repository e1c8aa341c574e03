// Microphone capture through an AudioWorklet at the device's own sample rate: the samples make the
// WAV recording and, when streaming, the live PCM frames (the server resamples them with soxr);
// a level meter and a scrolling scope while it records.
import { concatFloat32, encodeWav, levelOf } from './audio-utils.js';
import { fillBar, fitCanvas } from './canvas.js';

// The rates the streaming protocol accepts (serve_app/stream_protocol.py MIN/MAX_SAMPLE_RATE).
export const MIN_STREAM_RATE = 8000;
export const MAX_STREAM_RATE = 96000;
const FALLBACK_RATE = 48000;

export class MicError extends Error {
  /** kind: insecure | unsupported | denied | missing | busy | unknown */
  constructor(kind, cause) {
    super(cause?.message || kind);
    this.name = 'MicError';
    this.kind = kind;
    this.cause = cause;
  }
}

function classify(err) {
  const name = err?.name || '';
  if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') return 'denied';
  if (name === 'NotFoundError' || name === 'DevicesNotFoundError' || name === 'OverconstrainedError') return 'missing';
  if (name === 'NotReadableError' || name === 'TrackStartError' || name === 'AbortError') return 'busy';
  return 'unknown';
}

/** An AudioContext at the hardware rate, unless that rate is one the server cannot take (192 kHz). */
function openContext() {
  const ctx = new AudioContext();
  if (ctx.sampleRate >= MIN_STREAM_RATE && ctx.sampleRate <= MAX_STREAM_RATE) return ctx;
  ctx.close().catch(() => {});
  return new AudioContext({ sampleRate: FALLBACK_RATE });
}

export class MicRecorder {
  constructor({ onLevel } = {}) {
    this.onLevel = onLevel || (() => {});
    this.stream = null;
    this.ctx = null;
    this.node = null;
    this.src = null;
    this.chunks = [];
    this.samples = 0;
    this.rate = 0;
    this.startedAt = 0;
    this.onFrame = null; // (Float32Array at this.rate) => void; may be set once recording runs
    this.active = false;
  }

  get elapsed() {
    if (this.active) return (performance.now() - this.startedAt) / 1000;
    return this.rate ? this.samples / this.rate : 0;
  }

  /** Start capturing at the device rate (`rate` once started). `onFrame` receives every raw frame. */
  async start({ onFrame } = {}) {
    if (this.active) return;
    if (!window.isSecureContext) throw new MicError('insecure');
    if (!navigator.mediaDevices?.getUserMedia || typeof AudioWorkletNode === 'undefined') throw new MicError('unsupported');
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      });
    } catch (err) {
      throw new MicError(classify(err), err);
    }
    try {
      const ctx = openContext();
      this.ctx = ctx;
      await ctx.audioWorklet.addModule('/ui/js/pcm-worklet.js');
      if (ctx.state === 'suspended') await ctx.resume();
      this.src = ctx.createMediaStreamSource(this.stream);
      this.node = new AudioWorkletNode(ctx, 'pcm-capture', { numberOfInputs: 1, numberOfOutputs: 1, channelCount: 1, channelCountMode: 'explicit' });
      const mute = ctx.createGain();
      mute.gain.value = 0;
      this.src.connect(this.node);
      this.node.connect(mute).connect(ctx.destination); // keeps the graph pulling; silent
      this.chunks = [];
      this.samples = 0;
      this.rate = ctx.sampleRate;
      this.onFrame = onFrame || null;
      this.node.port.onmessage = (e) => {
        if (!this.active) return;
        const frame = e.data;
        this.onLevel(levelOf(frame));
        if (!frame.length) return;
        this.chunks.push(frame);
        this.samples += frame.length;
        if (this.onFrame) this.onFrame(frame);
      };
      this.startedAt = performance.now();
      this.active = true;
    } catch (err) {
      this._teardown();
      throw new MicError('unsupported', err);
    }
  }

  /** The one teardown: silence the worklet, disconnect the graph, stop the tracks, close the context. */
  _teardown() {
    this.active = false;
    if (this.node) this.node.port.onmessage = null;
    try { this.src?.disconnect(); this.node?.disconnect(); } catch { /* already gone */ }
    this.stream?.getTracks().forEach((tr) => tr.stop());
    const ctx = this.ctx;
    this.stream = null; this.ctx = null; this.node = null; this.src = null; this.onFrame = null;
    if (ctx && ctx.state !== 'closed') ctx.close().catch(() => {});
    this.onLevel(0);
  }

  /** Stop and return the recording: {samples (Float32 at `rate`), rate, duration, blob (WAV)}. */
  stop() {
    if (!this.active) return null;
    this._teardown();
    const samples = concatFloat32(this.chunks);
    this.chunks = [];
    return { samples, rate: this.rate, duration: samples.length / this.rate, blob: encodeWav(samples, this.rate) };
  }

  /** Stop and throw the audio away. */
  cancel() {
    if (!this.active) return;
    this._teardown();
    this.chunks = [];
    this.samples = 0;
  }
}

/** Scrolling level scope around the record button: mirrored neon bars, newest on the right. */
export function drawScope(canvas, levels) {
  const { g, w, h } = fitCanvas(canvas, { width: 300, height: 96 });
  const bar = 3;
  const gap = 3;
  const count = Math.floor(w / (bar + gap));
  const mid = h / 2;
  const hole = 54; // keep the area behind the button clear
  const grad = g.createLinearGradient(0, 0, w, 0);
  grad.addColorStop(0, 'rgba(34, 228, 255, 0.15)');
  grad.addColorStop(0.35, 'rgba(34, 228, 255, 0.9)');
  grad.addColorStop(0.65, 'rgba(139, 92, 255, 0.9)');
  grad.addColorStop(1, 'rgba(255, 79, 216, 0.95)');
  g.fillStyle = grad;
  for (let i = 0; i < count; i += 1) {
    const x = i * (bar + gap);
    if (Math.abs(x - w / 2) < hole) continue;
    // mirror: bars spread out from the centre, newest level nearest to the button
    const dist = Math.floor(Math.abs(x - w / 2 + bar / 2) / (bar + gap));
    const lv = levels[levels.length - 1 - (dist - Math.floor(hole / (bar + gap)))] || 0;
    const hh = Math.max(2, lv * (h - 10));
    fillBar(g, x, mid - hh / 2, bar, hh);
  }
}
