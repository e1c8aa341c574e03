// The HTTP API client (docs/API.md). Every error becomes an ApiError carrying the server's
// error.message, so toasts can show exactly what the server said.

const KEY_STORAGE = 'qwen-asr.api-key';

export class ApiError extends Error {
  constructor(message, { code = 'error', status = 0, retryAfter = null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

export function getApiKey() {
  try { return localStorage.getItem(KEY_STORAGE) || ''; } catch { return ''; }
}

export function setApiKey(key) {
  try {
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
  } catch { /* ignore */ }
}

async function request(path, { method = 'GET', body, json, signal, timeoutMs, as } = {}) {
  const headers = new Headers();
  const key = getApiKey();
  if (key) headers.set('Authorization', `Bearer ${key}`);
  if (json !== undefined) {
    headers.set('Content-Type', 'application/json');
    body = JSON.stringify(json);
  }
  let timer = null;
  let sig = signal;
  if (timeoutMs) {
    const ctrl = new AbortController();
    timer = setTimeout(() => ctrl.abort(new DOMException('timeout', 'TimeoutError')), timeoutMs);
    if (signal) signal.addEventListener('abort', () => ctrl.abort(signal.reason), { once: true });
    sig = ctrl.signal;
  }
  let res;
  try {
    res = await fetch(path, { method, body, headers, signal: sig, cache: 'no-store' });
  } catch (err) {
    if (signal?.aborted) throw err;
    if (err?.name === 'TimeoutError' || sig?.reason?.name === 'TimeoutError') throw new ApiError('timeout', { code: 'timeout' });
    throw new ApiError(String(err?.message || err), { code: 'network' });
  } finally {
    if (timer) clearTimeout(timer);
  }
  const type = res.headers.get('content-type') || '';
  let data = null;
  if (as === 'blob' && res.ok) data = await res.blob();
  else if (type.includes('json')) data = await res.json().catch(() => null);
  else data = await res.text().catch(() => '');
  if (!res.ok) throw apiErrorFrom({ status: res.status, statusText: res.statusText, data, retryAfter: res.headers.get('Retry-After') });
  return { data, headers: res.headers, status: res.status };
}

/** A body that is a web page (a proxy's 502, a login portal): never shown to the user as text. */
function looksLikeMarkup(text) {
  return /^\s*</.test(text) || /<\/?(html|body|head|title|h1|center|pre)\b/i.test(text);
}

/**
 * The ApiError for a failed answer: the server's {error: {code, message}} when it sent one; a
 * plain-text body as it is (its first 300 characters); anything else (an HTML error page) only as "HTTP <status>", flagged
 * `foreign` so the page can say that something in front of the service answered.
 */
export function apiErrorFrom({ status, statusText = '', data, retryAfter = null }) {
  const e = data && typeof data === 'object' ? data.error : null;
  let message = e?.message;
  let foreign = false;
  if (!message && data && typeof data === 'object' && data.detail) {
    message = typeof data.detail === 'string' ? data.detail : JSON.stringify(data.detail);
  }
  if (!message && typeof data === 'string' && data.trim() && !looksLikeMarkup(data)) message = data.trim().slice(0, 300);
  if (!message) { message = `HTTP ${status} ${statusText}`.trim(); foreign = !e; }
  const err = new ApiError(message, {
    code: e?.code || (status === 401 ? 'unauthorized' : `http_${status}`),
    status,
    retryAfter,
  });
  err.foreign = foreign;
  return err;
}

export const api = {
  health: (opts) => request('/health', { timeoutMs: 8000, ...opts }).then((r) => r.data),
  status: (opts) => request('/api/status', { timeoutMs: 8000, ...opts }).then((r) => r.data),
  languages: (opts) => request('/api/languages', { timeoutMs: 15000, ...opts }).then((r) => r.data),
  /** POST /api/transcribe with a FormData; resolves {data, headers}. */
  transcribe: (form, { signal } = {}) => request('/api/transcribe', { method: 'POST', body: form, signal }),
  /** POST /api/subtitles: the server's SRT/VTT file (text) for `body` (exports.js subtitleRequest). */
  subtitles: (body, opts) => request('/api/subtitles', { method: 'POST', json: body, timeoutMs: 120000, ...opts }).then((r) => r.data),
  /** GET /api/samples: the built-in sample clips ({available, samples: [{id, language, transcript, url}]}). */
  samples: (opts) => request('/api/samples', { timeoutMs: 15000, ...opts }).then((r) => r.data),
  /** One sample clip (a URL from api.samples) as a Blob. */
  sampleAudio: (url, opts) => request(url, { timeoutMs: 60000, as: 'blob', ...opts }).then((r) => r.data),
  /** POST /api/gpu-offload; models omitted = all. */
  offload: (models) => request('/api/gpu-offload', { method: 'POST', json: models && models.length ? { models } : {} }).then((r) => r.data),
};

/** Read the X-Time-* response headers as numbers (seconds). */
export function timingHeaders(headers) {
  const num = (name) => {
    const v = headers?.get?.(name);
    const n = v === null || v === undefined ? NaN : parseFloat(v);
    return Number.isFinite(n) ? n : null;
  };
  return { load: num('X-Time-Load'), process: num('X-Time-Process'), total: num('X-Time-Total') };
}
