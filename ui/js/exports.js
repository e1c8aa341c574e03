// Pure functions that turn a transcription result into TXT, JSON, SRT and WebVTT.
// A result is the API's JSON: {text, language, timestamps: [{text, start, end}] | null, duration_seconds, ...}.
// Subtitle cues are built from the word/character times; punctuation is recovered from the text.

const CJK_RE = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\u3000-\u303f\uff00-\uffef]/;
const SENTENCE_END_RE = /[.!?。！？…;；]$/;
const PUNCT_RE = /[\p{P}\p{S}]/u;

export function isCJK(s) {
  return CJK_RE.test(String(s || ''));
}

/** Seconds -> "HH:MM:SS<sep>mmm". */
function clockTime(seconds, sep) {
  let ms = Math.round(Math.max(0, Number(seconds) || 0) * 1000);
  const h = Math.floor(ms / 3600000); ms -= h * 3600000;
  const m = Math.floor(ms / 60000); ms -= m * 60000;
  const s = Math.floor(ms / 1000); ms -= s * 1000;
  const p2 = (n) => String(n).padStart(2, '0');
  return `${p2(h)}:${p2(m)}:${p2(s)}${sep}${String(ms).padStart(3, '0')}`;
}
export const srtTime = (seconds) => clockTime(seconds, ',');
export const vttTime = (seconds) => clockTime(seconds, '.');

/** Normalise timestamp items: accepts {text,start,end} (seconds) or {text,start_time,end_time} (ms). */
export function normalizeTimestamps(items) {
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
  out.sort((a, b) => a.start - b.start || a.end - b.end);
  return out;
}

/** Join tokens: no space around CJK tokens or before punctuation, one space otherwise. */
export function joinTokens(tokens) {
  let out = '';
  for (const raw of tokens) {
    const tok = String(raw);
    if (!out) { out = tok; continue; }
    const prev = out[out.length - 1];
    const first = tok[0];
    const noSpace = isCJK(prev) || isCJK(first) || PUNCT_RE.test(first) && !/[(\[{"'“‘¿¡]/.test(first);
    out += noSpace ? tok : ` ${tok}`;
  }
  return out;
}

/**
 * Find each token inside the transcript text, in order, so cues can carry the text's punctuation.
 * Returns [{from, to}] or null per token (case-insensitive; a token not found keeps null).
 */
export function mapTokensToText(text, tokens) {
  const hay = String(text || '').toLowerCase();
  let cursor = 0;
  return tokens.map((t) => {
    const needle = String(t.text || '').toLowerCase();
    if (!needle) return null;
    const idx = hay.indexOf(needle, cursor);
    // Do not jump far ahead: a token missing from the text must not swallow the rest.
    if (idx < 0 || idx - cursor > 80 + needle.length * 4) return null;
    cursor = idx + needle.length;
    return { from: idx, to: cursor };
  });
}

/** Extend an end offset over punctuation that directly follows (e.g. "world" -> "world."). */
function extendOverPunct(text, to) {
  let i = to;
  while (i < text.length && PUNCT_RE.test(text[i]) && !/[(\[{"“‘¿¡]/.test(text[i])) i += 1;
  return i;
}

/**
 * Group word/character timestamps into subtitle cues.
 * @returns {{start:number,end:number,text:string}[]}
 */
export function buildCues(result, { maxChars = 42, maxDuration = 6, maxGap = 0.9 } = {}) {
  const text = String(result?.text ?? '').trim();
  const words = normalizeTimestamps(result?.timestamps);
  if (!words.length) {
    if (!text) return [];
    const end = Number(result?.duration_seconds) > 0 ? Number(result.duration_seconds) : 0;
    return [{ start: 0, end: Math.max(end, 0.001), text: text.replace(/\s*\n+\s*/g, ' ') }];
  }
  const spans = mapTokensToText(text, words);
  const groups = [];
  let cur = null;
  words.forEach((w, i) => {
    if (cur) {
      const prevText = cur.tokens.join(' ');
      const prevSpan = spans[cur.last];
      const after = prevSpan ? text.slice(prevSpan.to, extendOverPunct(text, prevSpan.to)) : '';
      const ended = SENTENCE_END_RE.test(after) || SENTENCE_END_RE.test(prevText);
      const gap = w.start - cur.end;
      const tooLong = w.end - cur.start > maxDuration;
      const tooWide = joinTokens([...cur.tokens, w.text]).length > maxChars;
      if (ended || gap > maxGap || tooLong || tooWide) { groups.push(cur); cur = null; }
    }
    if (!cur) cur = { start: w.start, end: w.end, tokens: [], first: i, last: i };
    cur.tokens.push(w.text);
    cur.end = Math.max(cur.end, w.end);
    cur.last = i;
  });
  if (cur) groups.push(cur);
  return groups.map((g) => {
    const a = spans[g.first];
    const b = spans[g.last];
    let cueText;
    let contiguous = a && b;
    if (contiguous) {
      for (let k = g.first; k <= g.last; k += 1) if (!spans[k]) { contiguous = false; break; }
    }
    if (contiguous) cueText = text.slice(a.from, extendOverPunct(text, b.to)).replace(/\s*\n+\s*/g, ' ').trim();
    else cueText = joinTokens(g.tokens);
    const end = g.end > g.start ? g.end : g.start + 0.001;
    return { start: g.start, end, text: cueText };
  });
}

export function toSRT(result, opts) {
  const cues = buildCues(result, opts);
  return cues.map((c, i) => `${i + 1}\n${srtTime(c.start)} --> ${srtTime(c.end)}\n${c.text}\n`).join('\n');
}

function escapeVtt(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/-->/g, '--&gt;');
}

export function toVTT(result, opts) {
  const cues = buildCues(result, opts);
  const body = cues.map((c, i) => `${i + 1}\n${vttTime(c.start)} --> ${vttTime(c.end)}\n${escapeVtt(c.text)}\n`).join('\n');
  return body ? `WEBVTT\n\n${body}` : 'WEBVTT\n';
}

export function toTXT(result) {
  const text = String(result?.text ?? '').trim();
  return text ? `${text}\n` : '';
}

export function toJSON(result) {
  return `${JSON.stringify(result ?? {}, null, 2)}\n`;
}

export const EXPORTERS = {
  txt: { build: toTXT, mime: 'text/plain;charset=utf-8' },
  json: { build: toJSON, mime: 'application/json;charset=utf-8' },
  srt: { build: toSRT, mime: 'application/x-subrip;charset=utf-8' },
  vtt: { build: toVTT, mime: 'text/vtt;charset=utf-8' },
};

/** "meeting.final.mp3" -> "meeting.final" ; falls back to "transcript". */
export function baseName(name) {
  const n = String(name || '').split(/[\\/]/).pop().replace(/\.[A-Za-z0-9]{1,5}$/, '').trim();
  return n.replace(/[^\p{L}\p{N}._ -]+/gu, '_').slice(0, 80) || 'transcript';
}
