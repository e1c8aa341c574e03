// Microphone capture through an AudioWorklet: 16 kHz mono samples for the WAV recording and, when
// streaming, for the live PCM frames; a level meter and a scrolling scope while it records.
import { StreamResampler, concatFloat32, encodeWav, levelOf, TARGET_RATE } from './audio-utils.js';

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

export class MicRecorder {
  constructor({ onLevel } = {}) {
    this.onLevel = onLevel || (() => {});
    this.stream = null;
    this.ctx = null;
    this.node = null;
    this.chunks = [];
    this.samples = 0;
    this.startedAt = 0;
    this.onFrame = null;
    this.active = false;
  }

  get elapsed() {
    return this.active ? (performance.now() - this.startedAt) / 1000 : this.samples / TARGET_RATE;
  }

  /** Start capturing. `onFrame(Float32Array@16kHz)` receives every resampled frame. */
  async start({ onFrame } = {}) {
    if (this.active) return;
    if (!window.isSecureContext) throw new MicError('insecure');
    if (!navigator.mediaDevices?.getUserMedia || typeof AudioWorkletNode === 'undefined') throw new MicError('unsupported');
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      });
    } catch (err) {
      throw new MicError(classify(err), err);
    }
    try {
      const ctx = new AudioContext();
      await ctx.audioWorklet.addModule('/ui/js/pcm-worklet.js');
      if (ctx.state === 'suspended') await ctx.resume();
      const src = ctx.createMediaStreamSource(stream);
      const node = new AudioWorkletNode(ctx, 'pcm-capture', { numberOfInputs: 1, numberOfOutputs: 1, channelCount: 1, channelCountMode: 'explicit' });
      const mute = ctx.createGain();
      mute.gain.value = 0;
      src.connect(node);
      node.connect(mute).connect(ctx.destination); // keeps the graph pulling; silent
      const resampler = new StreamResampler(ctx.sampleRate, TARGET_RATE);
      this.chunks = [];
      this.samples = 0;
      this.onFrame = onFrame || null;
      node.port.onmessage = (e) => {
        if (!this.active) return;
        const frame = e.data;
        this.onLevel(levelOf(frame));
        const out = resampler.process(frame);
        if (!out.length) return;
        this.chunks.push(out);
        this.samples += out.length;
        if (this.onFrame) this.onFrame(out);
      };
      this.stream = stream;
      this.ctx = ctx;
      this.node = node;
      this.src = src;
      this.startedAt = performance.now();
      this.active = true;
    } catch (err) {
      stream.getTracks().forEach((tr) => tr.stop());
      throw new MicError('unsupported', err);
    }
  }

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

  /** Stop and return the recording: {samples (16 kHz Float32), duration, blob (WAV)}. */
  stop() {
    if (!this.active) return null;
    this._teardown();
    const samples = concatFloat32(this.chunks);
    this.chunks = [];
    return { samples, duration: samples.length / TARGET_RATE, blob: encodeWav(samples, TARGET_RATE) };
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
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 300;
  const h = canvas.clientHeight || 96;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
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
    g.beginPath();
    if (g.roundRect) g.roundRect(x, mid - hh / 2, bar, hh, 1.5); else g.rect(x, mid - hh / 2, bar, hh);
    g.fill();
  }
}
