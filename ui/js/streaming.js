// Streaming recognition over WebSocket (/api/transcribe/stream):
//   client: {"type":"start", model, language, context, sample_rate, format:"pcm_s16le", return_timestamps}
//           (sample_rate: the audio's own rate, 16000 by default; the microphone sends its device rate)
//           binary PCM frames ... {"type":"stop"}
//   server: {"type":"loading"} -> {"type":"ready"} -> {"type":"partial", text, stable_text, unstable_text}*
//           -> {"type":"final", text, language, duration_seconds, process_time_seconds, rtf, timestamps?}
//           or {"type":"error", code, message} then a close.
import { floatToPcm16, TARGET_RATE } from './audio-utils.js';
import { getApiKey } from './api.js';

export class StreamError extends Error {
  constructor(message, { code = 'stream_error', closeCode = null, beforeReady = false } = {}) {
    super(message);
    this.name = 'StreamError';
    this.code = code;
    this.closeCode = closeCode;
    this.beforeReady = beforeReady;
  }
}

export function streamUrl(loc = window.location) {
  const proto = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  const key = getApiKey();
  const q = key ? `?api_key=${encodeURIComponent(key)}` : '';
  return `${proto}//${loc.host}/api/transcribe/stream${q}`;
}

/**
 * One streaming session; `startMessage.sample_rate` is the rate of the samples given to sendFloat
 * (16 kHz unless set: the server resamples any other rate it accepts). Callbacks: onLoading(msg), onReady(), onPartial(msg), onSpeech(speaking, msg), onFinal(msg), onError(StreamError).
 * `start()` resolves once the server says ready; frames sent earlier are queued.
 */
export class StreamSession {
  constructor(startMessage, callbacks = {}) {
    this.startMessage = { type: 'start', sample_rate: TARGET_RATE, format: 'pcm_s16le', ...startMessage };
    this.sampleRate = this.startMessage.sample_rate;
    this.cb = callbacks;
    this.ws = null;
    this.ready = false;
    this.stopped = false;
    this.finished = false;
    this.queue = [];
    this.sentSamples = 0;
    this.finalPromise = new Promise((resolve, reject) => { this._resolveFinal = resolve; this._rejectFinal = reject; });
    this.finalPromise.catch(() => {}); // handled by whoever awaits it
  }

  start() {
    return new Promise((resolve, reject) => {
      let ws;
      try {
        ws = new WebSocket(streamUrl());
      } catch (err) {
        reject(new StreamError(String(err?.message || err), { code: 'connect_failed', beforeReady: true }));
        return;
      }
      ws.binaryType = 'arraybuffer';
      this.ws = ws;
      let lastError = null;
      ws.onopen = () => ws.send(JSON.stringify(this.startMessage));
      ws.onmessage = (ev) => {
        if (typeof ev.data !== 'string') return;
        let msg;
        try { msg = JSON.parse(ev.data); } catch { return; }
        switch (msg.type) {
          case 'loading':
            this.cb.onLoading?.(msg);
            break;
          case 'ready':
            this.ready = true;
            for (const buf of this.queue) ws.send(buf);
            this.queue = [];
            if (this.stopped) ws.send(JSON.stringify({ type: 'stop' }));
            this.cb.onReady?.(msg);
            resolve();
            break;
          case 'partial':
            this.cb.onPartial?.(msg);
            break;
          case 'speech_started':
          case 'speech_stopped':
            this.cb.onSpeech?.(msg.type === 'speech_started', msg);
            break;
          case 'final':
            this.finished = true;
            this.cb.onFinal?.(msg);
            this._resolveFinal(msg);
            break;
          case 'error': {
            lastError = new StreamError(msg.message || msg.code || 'error', { code: msg.code || 'error', beforeReady: !this.ready });
            if (!this.ready) reject(lastError);
            this._rejectFinal(lastError);
            this.cb.onError?.(lastError);
            break;
          }
          default:
            break;
        }
      };
      ws.onerror = () => { /* the close event carries the detail */ };
      ws.onclose = (ev) => {
        if (this.finished || lastError) return;
        const err = new StreamError(ev.reason || '', { code: this.ready ? 'closed' : 'unavailable', closeCode: ev.code, beforeReady: !this.ready });
        if (!this.ready) reject(err);
        this._rejectFinal(err);
        if (this.ready && !this.aborted) this.cb.onError?.(err);
      };
    });
  }

  /** Send Float32 samples (at `sampleRate`) as PCM s16le. */
  sendFloat(f32) {
    if (this.stopped || !f32.length) return;
    const buf = floatToPcm16(f32).buffer;
    this.sentSamples += f32.length;
    if (this.ready && this.ws?.readyState === WebSocket.OPEN) this.ws.send(buf);
    else this.queue.push(buf);
  }

  get bufferedAmount() {
    return this.ws ? this.ws.bufferedAmount : 0;
  }

  /** Tell the server the audio is complete; resolves with the final message. */
  stop() {
    if (!this.stopped) {
      this.stopped = true;
      if (this.ready && this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: 'stop' }));
    }
    return this.finalPromise;
  }

  /** Close without waiting (cancel). */
  abort() {
    this.aborted = true;
    this.stopped = true;
    this._rejectFinal(new StreamError('cancelled', { code: 'cancelled' }));
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000, 'cancelled');
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Send a whole decoded file (mono Float32 at the session's rate) through a session faster than real
 * time: `speed` x real time, in frames of `frameSeconds` (10 ms at least), respecting the socket's buffer.
 */
export async function pumpSamples(session, samples, { speed = 6, frameSeconds = 0.2, signal, onProgress } = {}) {
  const rate = session.sampleRate || TARGET_RATE;
  const frame = Math.max(Math.round(rate / 100), Math.round(rate * frameSeconds));
  const delay = (frameSeconds * 1000) / speed;
  for (let i = 0; i < samples.length; i += frame) {
    if (signal?.aborted || session.stopped) return;
    session.sendFloat(samples.subarray(i, Math.min(samples.length, i + frame)));
    onProgress?.(Math.min(1, (i + frame) / samples.length));
    while (session.bufferedAmount > 1 << 20 && !signal?.aborted) await sleep(20);
    await sleep(delay);
  }
}
