// Pure formatting helpers (no DOM, no i18n state): numbers, sizes, clocks.

/** "00:12.3" style stopwatch: minutes:seconds.tenths (hours when needed). */
export function formatStopwatch(seconds) {
  const s = Math.max(0, Number(seconds) || 0);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  const tenth = Math.floor((s * 10) % 10);
  const mm = String(m).padStart(2, '0');
  const ss = String(sec).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}.${tenth}` : `${mm}:${ss}.${tenth}`;
}

/** Media clock "1:05" / "1:02:03"; with `tenths` adds ".4". */
export function formatClock(seconds, { tenths = false } = {}) {
  const s = Math.max(0, Number(seconds) || 0);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  let out = h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
  if (tenths) out += `.${Math.floor((s * 10) % 10)}`;
  return out;
}

/** Countdown "9:32" (minutes:seconds), or "1:02:03". */
export function formatCountdown(seconds) {
  return formatClock(Math.ceil(Math.max(0, Number(seconds) || 0)));
}

export function formatNumber(value, locale, digits = 2) {
  if (value === null || value === undefined || !Number.isFinite(Number(value))) return '—';
  return new Intl.NumberFormat(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(Number(value));
}

/** Seconds with a unit: "0.82 s", "12.4 s", "2:05.3" for long spans. */
export function formatSeconds(value, locale) {
  if (value === null || value === undefined || !Number.isFinite(Number(value))) return '—';
  const v = Number(value);
  if (v >= 120) return formatClock(v, { tenths: true });
  const digits = v < 10 ? 2 : 1;
  return `${formatNumber(v, locale, digits)} s`;
}

export function formatBytes(bytes, locale) {
  const b = Number(bytes);
  if (!Number.isFinite(b) || b < 0) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = b;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  const digits = i === 0 ? 0 : v < 10 ? 2 : v < 100 ? 1 : 0;
  return `${formatNumber(v, locale, digits)} ${units[i]}`;
}

/** Megabytes (as reported by NVML) to "5.0 GB" / "812 MB". */
export function formatMB(mb, locale) {
  const v = Number(mb);
  if (!Number.isFinite(v)) return '—';
  if (Math.abs(v) >= 1024) return `${formatNumber(v / 1024, locale, 1)} GB`;
  return `${formatNumber(v, locale, 0)} MB`;
}

/** Timestamp for tables: "1.234" seconds. */
export function formatTime3(seconds) {
  const v = Number(seconds);
  return Number.isFinite(v) ? v.toFixed(3) : '—';
}

/** A file-system friendly stamp: 20250101-120304 */
export function fileStamp(date = new Date()) {
  const p = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}${p(date.getMonth() + 1)}${p(date.getDate())}-${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`;
}
