// Node's built-in test runner over the UI's pure export and format helpers (no browser needed).
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  srtTime, vttTime, normalizeTimestamps, joinTokens, isCJK, toSRT, toVTT, toTXT, toJSON, baseName,
} from '../../ui/js/exports.js';
import { formatClock, formatBytes } from '../../ui/js/format.js';

const result = {
  text: 'Hello world. This is a test.',
  language: 'English',
  duration_seconds: 4,
  timestamps: [
    { text: 'Hello', start: 0.1, end: 0.5 }, { text: 'world', start: 0.6, end: 1.0 },
    { text: 'This', start: 2.0, end: 2.2 }, { text: 'is', start: 2.3, end: 2.4 },
    { text: 'a', start: 2.5, end: 2.6 }, { text: 'test', start: 2.7, end: 3.1 },
  ],
};

test('clock times use the SRT comma and the VTT dot', () => {
  assert.equal(srtTime(3661.5), '01:01:01,500');
  assert.equal(vttTime(0.042), '00:00:00.042');
  assert.equal(srtTime(-3), '00:00:00,000');
});

test('timestamps are normalised, sorted and repaired', () => {
  const items = normalizeTimestamps([
    { text: 'b', start: 2, end: 1 }, { text: 'a', start_time: 500, end_time: 900 }, { text: ' ', start: 0 }, null,
  ]);
  assert.deepEqual(items, [{ text: 'a', start: 0.5, end: 0.9 }, { text: 'b', start: 2, end: 2 }]);
  assert.deepEqual(normalizeTimestamps(undefined), []);
});

test('tokens join with spaces except around CJK and before punctuation', () => {
  assert.equal(joinTokens(['hello', 'world', '!']), 'hello world!');
  assert.equal(joinTokens(['你', '好', '世', '界']), '你好世界');
  assert.ok(isCJK('日本') && !isCJK('abc'));
});

test('SRT cues are numbered, timed inside the audio and monotonic', () => {
  const srt = toSRT(result);
  const blocks = srt.trim().split(/\n\n+/);
  assert.ok(blocks.length >= 2);
  let last = -1;
  blocks.forEach((block, i) => {
    const [index, times, ...text] = block.split('\n');
    assert.equal(Number(index), i + 1);
    const [start, end] = times.split(' --> ').map((t) => {
      const [h, m, s] = t.replace(',', '.').split(':').map(Number);
      return h * 3600 + m * 60 + s;
    });
    assert.ok(start >= last && end >= start && end <= result.duration_seconds);
    assert.ok(text.join(' ').length > 0);
    last = start;
  });
  assert.match(srt, /Hello world\./);
});

test('VTT starts with its header and uses dots', () => {
  const vtt = toVTT(result);
  assert.ok(vtt.startsWith('WEBVTT'));
  assert.match(vtt, /00:00:00\.100 --> /);
});

test('TXT and JSON carry the transcript', () => {
  assert.match(toTXT(result), /Hello world\. This is a test\./);
  assert.equal(JSON.parse(toJSON(result)).language, 'English');
});

test('helpers for names and sizes', () => {
  assert.equal(baseName('meeting.final.mp3'), 'meeting.final');
  assert.equal(formatClock(75), '1:15');
  assert.equal(formatBytes(2048, 'en'), '2.00 KB');
});
