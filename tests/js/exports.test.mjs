// exports.js: the downloads made in the browser (TXT, JSON), the exporter table, file names.
// (SRT/VTT come from the server: subtitles.test.mjs.)
import test from 'node:test';
import assert from 'node:assert/strict';
import { normalizeTimestamps, toTXT, toJSON, EXPORTERS, baseName } from '../../ui/js/exports.js';
import { formatClock, formatBytes } from '../../ui/js/format.js';

const result = {
  text: 'Hello world. This is a test.',
  language: 'English',
  duration_seconds: 4,
  timestamps: [{ text: 'Hello', start: 0.1, end: 0.5 }, { text: 'world', start: 0.6, end: 1.0 }],
};

test('timestamps are normalised, sorted and repaired', () => {
  const items = normalizeTimestamps([
    { text: 'b', start: 2, end: 1 }, { text: 'a', start_time: 500, end_time: 900 }, { text: ' ', start: 0 }, null,
  ]);
  assert.deepEqual(items, [{ text: 'a', start: 0.5, end: 0.9 }, { text: 'b', start: 2, end: 2 }]);
  assert.deepEqual(normalizeTimestamps(undefined), []);
});

test('TXT and JSON carry the transcript', () => {
  assert.match(toTXT(result), /Hello world\. This is a test\./);
  assert.equal(JSON.parse(toJSON(result)).language, 'English');
});

test('TXT trims and ends with one newline; JSON is pretty and round-trips', () => {
  assert.equal(toTXT({ text: '\n  hi \n' }), 'hi\n');
  assert.equal(toTXT({}), '');
  assert.equal(toTXT(null), '');
  const r = { text: 'x', timestamps: null, nested: { a: [1, 2] } };
  const json = toJSON(r);
  assert.ok(json.endsWith('}\n'));
  assert.match(json, /\n {2}"text": "x"/);
  assert.deepEqual(JSON.parse(json), r);
  assert.equal(toJSON(undefined), '{}\n');
});

test('each exporter has a UTF-8 mime type; the local ones build their format', () => {
  for (const ex of Object.values(EXPORTERS)) assert.match(ex.mime, /;charset=utf-8$/);
  assert.equal(EXPORTERS.txt.build({ text: 'Hi.' }), 'Hi.\n');
  assert.equal(JSON.parse(EXPORTERS.json.build({ text: 'Hi.' })).text, 'Hi.');
  assert.equal(EXPORTERS.srt.mime.split(';')[0], 'application/x-subrip');
  assert.equal(EXPORTERS.vtt.mime.split(';')[0], 'text/vtt');
});

test('helpers for names and sizes', () => {
  assert.equal(baseName('meeting.final.mp3'), 'meeting.final');
  assert.equal(formatClock(75), '1:15');
  assert.equal(formatBytes(2048, 'en'), '2.00 KB');
});

test('base names drop folders and the extension and replace unsafe characters', () => {
  assert.equal(baseName('C:\\Users\\me\\talk.wav'), 'talk');
  assert.equal(baseName('/tmp/a/b/interview.webm'), 'interview');
  assert.equal(baseName('weird:name*?.flac'), 'weird_name_');
  assert.equal(baseName('会议记录.m4a'), '会议记录');
  assert.equal(baseName('archive.tar.gz'), 'archive.tar');
  assert.equal(baseName('noext'), 'noext');
  assert.equal(baseName('x'.repeat(100) + '.mp3').length, 80);
});

test('base names fall back to "transcript" when nothing is left', () => {
  assert.equal(baseName(''), 'transcript');
  assert.equal(baseName(undefined), 'transcript');
  assert.equal(baseName('.wav'), 'transcript');
  assert.equal(baseName('dir/'), 'transcript');
});
