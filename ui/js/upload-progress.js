// POST /api/transcribe with progress: XMLHttpRequest reports the upload's bytes sent, and the answer
// comes as server-sent events (`progress` per finished piece, then `result` or `error`; docs/API.md).
// fetch() cannot report upload progress, hence XHR; its responseText grows as events arrive.
import { ApiError, apiErrorFrom, getApiKey } from './api.js';

/**
 * Split an SSE buffer into complete events and the unfinished rest (pure).
 * @returns {{events: {event: string, data: any}[], rest: string}}
 */
export function parseSse(buffer) {
  const events = [];
  const blocks = buffer.replace(/\r\n/g, '\n').split('\n\n');
  const rest = blocks.pop();
  for (const block of blocks) {
    let event = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (!line || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (!data.length) continue;
    let parsed = data.join('\n');
    try { parsed = JSON.parse(parsed); } catch { /* keep the text */ }
    events.push({ event, data: parsed });
  }
  return { events, rest };
}

/** Percent done and a remaining-time estimate from a progress event and the seconds elapsed (pure). */
export function progressEstimate(progress, elapsedSeconds) {
  const total = Number(progress?.audio_seconds_total) || 0;
  const done = Math.min(total, Number(progress?.audio_seconds_done) || 0);
  const pieces = Number(progress?.pieces_total) || 0;
  let fraction = total > 0 ? done / total : pieces > 0 ? (Number(progress?.pieces_done) || 0) / pieces : 0;
  if (progress?.stage === 'aligning') fraction = Math.max(fraction, 0.97);
  fraction = Math.max(0, Math.min(1, fraction));
  const remaining = fraction > 0.02 && fraction < 1 && elapsedSeconds > 0 ? (elapsedSeconds / fraction) * (1 - fraction) : null;
  return { percent: Math.round(fraction * 100), remainingSeconds: remaining };
}

/**
 * Send `form` to /api/transcribe asking for events.
 * @param {FormData} form
 * @param {{signal?: AbortSignal, onUpload?: (loaded: number, total: number) => void, onProgress?: (p: object) => void}} opts
 * @returns {Promise<{data: object}>} the final result (the same JSON as the plain answer)
 */
export function transcribeWithProgress(form, { signal, onUpload, onProgress } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    let seen = 0;
    let buffer = '';
    let outcome = null;
    const take = () => {
      const type = xhr.getResponseHeader('content-type') || '';
      if (!type.includes('text/event-stream')) return;
      buffer += xhr.responseText.slice(seen);
      seen = xhr.responseText.length;
      const { events, rest } = parseSse(buffer);
      buffer = rest;
      for (const { event, data } of events) {
        if (event === 'progress') onProgress?.(data);
        else if (event === 'result' || event === 'error') outcome = { event, data };
      }
    };
    xhr.open('POST', '/api/transcribe');
    xhr.setRequestHeader('Accept', 'text/event-stream');
    const key = getApiKey();
    if (key) xhr.setRequestHeader('Authorization', `Bearer ${key}`);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onUpload?.(e.loaded, e.total); };
    xhr.upload.onload = () => onUpload?.(1, 1);
    xhr.onprogress = take;
    xhr.onerror = () => reject(new ApiError('network error', { code: 'network' }));
    xhr.onabort = () => reject(new DOMException('cancelled', 'AbortError'));
    xhr.onload = () => {
      take();
      if (xhr.status >= 200 && xhr.status < 300 && outcome?.event === 'result') { resolve({ data: outcome.data }); return; }
      if (outcome?.event === 'error') {
        const status = Number(outcome.data?.error?.status) || 500;
        reject(apiErrorFrom({ status, data: outcome.data }));
        return;
      }
      const type = xhr.getResponseHeader('content-type') || '';
      let data = xhr.responseText;
      if (type.includes('json')) { try { data = JSON.parse(data); } catch { /* text */ } }
      if (xhr.status >= 200 && xhr.status < 300 && data && typeof data === 'object' && 'text' in data) { resolve({ data }); return; }
      reject(apiErrorFrom({
        status: xhr.status >= 200 && xhr.status < 300 ? 502 : xhr.status,
        statusText: xhr.statusText,
        data,
        retryAfter: xhr.getResponseHeader('Retry-After'),
      }));
    };
    if (signal) {
      if (signal.aborted) { reject(new DOMException('cancelled', 'AbortError')); return; }
      signal.addEventListener('abort', () => xhr.abort(), { once: true });
    }
    xhr.send(form);
  });
}
