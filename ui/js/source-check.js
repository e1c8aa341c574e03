// Checks made before an upload (the server still checks everything): a file over the server's
// max_upload_mb, one the browser cannot read as audio, or audio shorter than min_audio_seconds (or
// longer than max_audio_seconds) gets an inline hint and is not sent.

export const MAX_DECODE_BYTES = 120 * 1024 * 1024; // bigger files upload fine; they just get no preview waveform

/**
 * Why `source` must not be sent under `limits`, or null (pure).
 * @param {{size: number, duration?: number|null, unreadable?: boolean}} source
 * @param {{maxBytes?: number, minSeconds?: number, maxSeconds?: number}} limits
 * @returns {{key: string, vars: object}|null}
 */
export function checkSource(source, limits = {}) {
  if (!source) return null;
  const { maxBytes, minSeconds, maxSeconds } = limits;
  if (maxBytes > 0 && source.size > maxBytes) return { key: 'check.tooLarge', vars: { size: source.size, max: maxBytes } };
  if (source.size === 0) return { key: 'check.empty', vars: {} };
  if (source.unreadable) return { key: 'check.unreadable', vars: {} };
  const d = Number(source.duration);
  if (Number.isFinite(d) && d > 0) {
    if (minSeconds > 0 && d < minSeconds) return { key: 'check.tooShort', vars: { seconds: d, min: minSeconds } };
    if (maxSeconds > 0 && d > maxSeconds) return { key: 'check.tooLong', vars: { seconds: d, max: maxSeconds } };
  }
  return null;
}

/** The server's limits from /api/status (`config`): bytes and seconds. */
export function limitsFromStatus(status) {
  const c = status?.config || {};
  const mb = Number(c.max_upload_mb);
  return {
    maxBytes: Number.isFinite(mb) && mb > 0 ? Math.floor(mb * 1024 * 1024) : 0,
    minSeconds: Number(c.min_audio_seconds) || 0,
    maxSeconds: Number(c.max_audio_seconds) || 0,
  };
}
