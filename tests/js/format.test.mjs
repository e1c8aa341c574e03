// format.js: clocks, countdowns, numbers, sizes and file stamps (pure).
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  formatStopwatch, formatClock, formatCountdown, formatNumber, formatSeconds, formatBytes, formatMB, formatTime3, fileStamp,
} from '../../ui/js/format.js';

test('stopwatch pads minutes and seconds and keeps one tenth digit', () => {
  assert.equal(formatStopwatch(0), '00:00.0');
  assert.equal(formatStopwatch(0.05), '00:00.0');
  assert.equal(formatStopwatch(0.99), '00:00.9');
  assert.equal(formatStopwatch(59.96), '00:59.9');
  assert.equal(formatStopwatch(60), '01:00.0');
  assert.equal(formatStopwatch(599.5), '09:59.5');
});

test('stopwatch shows hours only past one hour and never rounds up into the next second', () => {
  assert.equal(formatStopwatch(3599.9), '59:59.9');
  assert.equal(formatStopwatch(3600), '1:00:00.0');
  assert.equal(formatStopwatch(36000 + 61.2), '10:01:01.2');
});

test('stopwatch treats negative, NaN and non-numbers as zero', () => {
  for (const v of [-5, NaN, undefined, null, 'abc']) assert.equal(formatStopwatch(v), '00:00.0', String(v));
  assert.equal(formatStopwatch('12.5'), '00:12.5');
});

test('media clock: minutes unpadded, seconds padded, hours when needed', () => {
  assert.equal(formatClock(0), '0:00');
  assert.equal(formatClock(9.99), '0:09');
  assert.equal(formatClock(61), '1:01');
  assert.equal(formatClock(600), '10:00');
  assert.equal(formatClock(3600), '1:00:00');
  assert.equal(formatClock(3600 + 5 * 60 + 7), '1:05:07');
});

test('media clock tenths are truncated, not rounded', () => {
  assert.equal(formatClock(1.99, { tenths: true }), '0:01.9');
  assert.equal(formatClock(0, { tenths: true }), '0:00.0');
  assert.equal(formatClock(3661.25, { tenths: true }), '1:01:01.2');
  assert.equal(formatClock(-3, { tenths: true }), '0:00.0');
  assert.equal(formatClock(NaN), '0:00');
});

test('countdown rounds partial seconds up so it never shows 0:00 early', () => {
  assert.equal(formatCountdown(0.2), '0:01');
  assert.equal(formatCountdown(59.01), '1:00');
  assert.equal(formatCountdown(60), '1:00');
  assert.equal(formatCountdown(0), '0:00');
  assert.equal(formatCountdown(3599.5), '1:00:00');
  assert.equal(formatCountdown('x'), '0:00');
});

test('numbers use the locale and the requested fraction digits', () => {
  assert.equal(formatNumber(1234.5, 'en'), '1,234.50');
  assert.equal(formatNumber(1234.5, 'de'), '1.234,50');
  assert.equal(formatNumber(0.12345, 'en', 3), '0.123');
  assert.equal(formatNumber(2, 'en', 0), '2');
  assert.equal(formatNumber('3.5', 'en', 1), '3.5');
  assert.equal(formatNumber(0, 'en'), '0.00');
});

test('numbers that are missing or not finite show a dash', () => {
  for (const v of [null, undefined, NaN, Infinity, -Infinity, 'abc', {}]) assert.equal(formatNumber(v, 'en'), '—', String(v));
});

test('seconds: two decimals under 10 s, one under 2 min, a clock above', () => {
  assert.equal(formatSeconds(0, 'en'), '0.00 s');
  assert.equal(formatSeconds(9.994, 'en'), '9.99 s');
  assert.equal(formatSeconds(10, 'en'), '10.0 s');
  assert.equal(formatSeconds(119.9, 'en'), '119.9 s');
  assert.equal(formatSeconds(120, 'en'), '2:00.0');
  assert.equal(formatSeconds(3725.5, 'en'), '1:02:05.5');
  assert.equal(formatSeconds(1.5, 'de'), '1,50 s');
  assert.equal(formatSeconds(null, 'en'), '—');
  assert.equal(formatSeconds(undefined, 'en'), '—');
  assert.equal(formatSeconds('n/a', 'en'), '—');
});

test('bytes step through units at 1024 with digits by magnitude', () => {
  assert.equal(formatBytes(0, 'en'), '0 B');
  assert.equal(formatBytes(512, 'en'), '512 B');
  assert.equal(formatBytes(1023, 'en'), '1,023 B');
  assert.equal(formatBytes(1024, 'en'), '1.00 KB');
  assert.equal(formatBytes(1536, 'en'), '1.50 KB');
  assert.equal(formatBytes(10 * 1024, 'en'), '10.0 KB');
  assert.equal(formatBytes(100 * 1024, 'en'), '100 KB');
  assert.equal(formatBytes(5 * 1024 ** 2, 'en'), '5.00 MB');
  assert.equal(formatBytes(3 * 1024 ** 3, 'en'), '3.00 GB');
  assert.equal(formatBytes(2 * 1024 ** 4, 'en'), '2.00 TB');
});

test('bytes stop at TB and reject negative or invalid sizes', () => {
  assert.equal(formatBytes(2048 * 1024 ** 4, 'en'), '2,048 TB');
  assert.equal(formatBytes(-1, 'en'), '—');
  assert.equal(formatBytes('big', 'en'), '—');
  assert.equal(formatBytes(undefined, 'en'), '—');
});

test('GPU megabytes switch to GB at 1024 MB, also for negative deltas', () => {
  assert.equal(formatMB(0, 'en'), '0 MB');
  assert.equal(formatMB(812.4, 'en'), '812 MB');
  assert.equal(formatMB(1023, 'en'), '1,023 MB');
  assert.equal(formatMB(1024, 'en'), '1.0 GB');
  assert.equal(formatMB(81559, 'en'), '79.6 GB');
  assert.equal(formatMB(-2048, 'en'), '-2.0 GB');
  assert.equal(formatMB('7168', 'en'), '7.0 GB');
  assert.equal(formatMB(undefined, 'en'), '—');
  assert.equal(formatMB(NaN, 'en'), '—');
});

test('table times have three decimals', () => {
  assert.equal(formatTime3(1.5), '1.500');
  assert.equal(formatTime3(0), '0.000');
  assert.equal(formatTime3('2.25'), '2.250');
  assert.equal(formatTime3(undefined), '—');
  assert.equal(formatTime3('x'), '—');
});

test('file stamps are zero padded local date and time', () => {
  assert.equal(fileStamp(new Date(2025, 0, 2, 3, 4, 5)), '20250102-030405');
  assert.equal(fileStamp(new Date(1999, 11, 31, 23, 59, 58)), '19991231-235958');
  assert.match(fileStamp(), /^\d{8}-\d{6}$/);
});
