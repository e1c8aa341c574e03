// The word times the timestamp view draws (normalizeTimestamps: sorted, repaired) next to the ones
// sent for subtitles (timedWords: in their own order), and the clock/size formatting of the UI.
import test from 'node:test';
import assert from 'node:assert/strict';
import { normalizeTimestamps, timedWords } from '../../ui/js/exports.js';
import { formatStopwatch, formatClock, formatCountdown, formatSeconds, formatMB, formatNumber } from '../../ui/js/format.js';

const words = (list) => list.map(([text, start, end]) => ({ text, start, end }));

test('drawn timestamps are sorted by start, then by end', () => {
  const out = normalizeTimestamps(words([['c', 2, 3], ['b', 1, 3], ['a', 1, 2]]));
  assert.deepEqual(out.map((w) => w.text), ['a', 'b', 'c']);
});

test('drawn and sent words are the same items; only the order differs', () => {
  const items = words([['world', 0.5, 0.9], ['Hello', 0, 0.4], ['', 1, 2]]);
  const sent = timedWords(items);
  assert.deepEqual(sent.map((w) => w.text), ['world', 'Hello']);
  assert.deepEqual(normalizeTimestamps(items), [...sent].sort((a, b) => a.start - b.start));
});

test('items without text or a start are dropped and the text is trimmed', () => {
  const out = normalizeTimestamps([
    { text: '  hi ', start: 1, end: 1.2 }, { text: '', start: 0, end: 1 }, { text: 'x', start: 'nope' },
    { text: 'late', start: 3 }, { text: 0, start: 2, end: 2.5 }, null,
  ]);
  assert.deepEqual(out, [
    { text: 'hi', start: 1, end: 1.2 }, { text: '0', start: 2, end: 2.5 }, { text: 'late', start: 3, end: 3 },
  ]);
});

test('seconds win over millisecond fields; millisecond-only items are converted', () => {
  assert.deepEqual(normalizeTimestamps([{ text: 'a', start: 1, start_time: 5000, end: 2, end_time: 9000 }]), [{ text: 'a', start: 1, end: 2 }]);
  assert.deepEqual(normalizeTimestamps([{ text: 'a', start_time: 500, end_time: 900 }]), [{ text: 'a', start: 0.5, end: 0.9 }]);
});

test('an end before the start is repaired to the start; a non-list is empty', () => {
  assert.deepEqual(normalizeTimestamps([{ text: 'b', start: 2, end: 1 }]), [{ text: 'b', start: 2, end: 2 }]);
  assert.deepEqual(normalizeTimestamps('not a list'), []);
  assert.deepEqual(timedWords(undefined), []);
});

test('clocks and countdowns', () => {
  assert.equal(formatStopwatch(12.34), '00:12.3');
  assert.equal(formatStopwatch(3725.5), '1:02:05.5');
  assert.equal(formatClock(3723, { tenths: false }), '1:02:03');
  assert.equal(formatClock(4.56, { tenths: true }), '0:04.5');
  assert.equal(formatCountdown(571.2), '9:32');
  assert.equal(formatCountdown(-5), '0:00');
});

test('numbers, seconds and GPU memory', () => {
  assert.equal(formatNumber(null, 'en'), '—');
  assert.equal(formatSeconds(0.8234, 'en'), '0.82 s');
  assert.equal(formatSeconds(12.44, 'en'), '12.4 s');
  assert.equal(formatSeconds(125.3, 'en'), '2:05.3');
  assert.equal(formatMB(5120, 'en'), '5.0 GB');
  assert.equal(formatMB('x', 'en'), '—');
});
