// Subtitle cue building and clock/size formatting of the UI (pure functions).
import test from 'node:test';
import assert from 'node:assert/strict';
import { buildCues, mapTokensToText } from '../../ui/js/exports.js';
import { formatStopwatch, formatClock, formatCountdown, formatSeconds, formatMB, formatNumber } from '../../ui/js/format.js';

const words = (list) => list.map(([text, start, end]) => ({ text, start, end }));

test('cues split at sentence ends and keep the text punctuation', () => {
  const cues = buildCues({
    text: 'Hello world. Next one!',
    timestamps: words([['Hello', 0, 0.4], ['world', 0.5, 0.9], ['Next', 1.0, 1.3], ['one', 1.4, 1.7]]),
  });
  assert.deepEqual(cues.map((c) => c.text), ['Hello world.', 'Next one!']);
  assert.deepEqual(cues.map((c) => [c.start, c.end]), [[0, 0.9], [1.0, 1.7]]);
});

test('cues split at long pauses and at the width limit', () => {
  const paused = buildCues({ text: 'a b', timestamps: words([['a', 0, 0.2], ['b', 2.0, 2.2]]) });
  assert.equal(paused.length, 2);
  const wide = buildCues({ text: 'aaaa bbbb cccc', timestamps: words([['aaaa', 0, 0.1], ['bbbb', 0.2, 0.3], ['cccc', 0.4, 0.5]]) },
    { maxChars: 9 });
  assert.deepEqual(wide.map((c) => c.text), ['aaaa bbbb', 'cccc']);
});

test('CJK characters join without spaces in one cue', () => {
  const cues = buildCues({ text: '你好世界', timestamps: words([['你', 0, 0.2], ['好', 0.2, 0.4], ['世', 0.4, 0.6], ['界', 0.6, 0.8]]) });
  assert.deepEqual(cues, [{ start: 0, end: 0.8, text: '你好世界' }]);
});

test('without timestamps one cue spans the audio; empty text gives none', () => {
  assert.deepEqual(buildCues({ text: 'hello\nworld', timestamps: null, duration_seconds: 3 }),
    [{ start: 0, end: 3, text: 'hello world' }]);
  assert.deepEqual(buildCues({ text: '', timestamps: null }), []);
});

test('tokens are located in order; a missing token does not swallow the rest', () => {
  assert.deepEqual(mapTokensToText('Hello, World', words([['hello', 0, 0], ['world', 0, 0]])),
    [{ from: 0, to: 5 }, { from: 7, to: 12 }]);
  assert.deepEqual(mapTokensToText('one two', words([['zzz', 0, 0], ['two', 0, 0]])), [null, { from: 4, to: 7 }]);
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
