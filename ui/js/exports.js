// Downloads of a transcription result. A result is the API's JSON:
// {text, language, timestamps: [{text, start, end}] | null, duration_seconds, ...}.
// TXT and JSON are written here; SRT and WebVTT come from the server (POST /api/subtitles), whose
// cue builder also serves /v1/audio/transcriptions, so every subtitle file is cut the same way.

/**
 * Timestamp items as {text, start, end} in seconds, in their own order: accepts {text,start,end}
 * (seconds) or {text,start_time,end_time} (ms); drops items without text or a start, and an end
 * that is missing or before the start becomes the start.
 */
export function timedWords(items) {
  if (!Array.isArray(items)) return [];
  const out = [];
  for (const it of items) {
    if (!it) continue;
    let start = it.start ?? (it.start_time !== undefined ? Number(it.start_time) / 1000 : undefined);
    let end = it.end ?? (it.end_time !== undefined ? Number(it.end_time) / 1000 : undefined);
    start = Number(start); end = Number(end);
    const text = String(it.text ?? '').trim();
    if (!text || !Number.isFinite(start)) continue;
    if (!Number.isFinite(end) || end < start) end = start;
    out.push({ text, start, end });
  }
  return out;
}

/** timedWords sorted by time (for drawing). */
export function normalizeTimestamps(items) {
  return timedWords(items).sort((a, b) => a.start - b.start || a.end - b.end);
}

/**
 * The body of POST /api/subtitles for `result` in `format` ("srt" | "vtt"). The words keep their
 * order: the server finds them in the text one after the other, as /v1/audio/transcriptions does.
 */
export function subtitleRequest(result, format) {
  const body = { text: String(result?.text ?? ''), timestamps: timedWords(result?.timestamps), format };
  const duration = Number(result?.duration_seconds);
  if (Number.isFinite(duration) && duration > 0) body.duration_seconds = duration;
  return body;
}

export function toTXT(result) {
  const text = String(result?.text ?? '').trim();
  return text ? `${text}\n` : '';
}

export function toJSON(result) {
  return `${JSON.stringify(result ?? {}, null, 2)}\n`;
}

/** Per format: `build(result)` for the files made here, `server: true` for those asked of the API. */
export const EXPORTERS = {
  txt: { build: toTXT, mime: 'text/plain;charset=utf-8' },
  json: { build: toJSON, mime: 'application/json;charset=utf-8' },
  srt: { server: true, mime: 'application/x-subrip;charset=utf-8' },
  vtt: { server: true, mime: 'text/vtt;charset=utf-8' },
};

/** "meeting.final.mp3" -> "meeting.final" ; falls back to "transcript". */
export function baseName(name) {
  const n = String(name || '').split(/[\\/]/).pop().replace(/\.[A-Za-z0-9]{1,5}$/, '').trim();
  return n.replace(/[^\p{L}\p{N}._ -]+/gu, '_').slice(0, 80) || 'transcript';
}
