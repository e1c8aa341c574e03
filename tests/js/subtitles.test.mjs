// exports.js beyond the basics: cue splitting rules, punctuation recovery, escaping, exporters,
// file names. (cues.test.mjs / exports.test.mjs cover the happy paths.)
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  buildCues, mapTokensToText, joinTokens, normalizeTimestamps, toSRT, toVTT, toTXT, toJSON, EXPORTERS, baseName, isCJK, srtTime, vttTime,
} from '../../ui/js/exports.js';

const words = (list) => list.map(([text, start, end]) => ({ text, start, end }));

test('clock times round to the millisecond and carry into seconds and hours', () => {
  assert.equal(srtTime(0.0004), '00:00:00,000');
  assert.equal(srtTime(0.0005), '00:00:00,001');
  assert.equal(srtTime(59.9996), '00:01:00,000');
  assert.equal(vttTime(3599.9999), '01:00:00.000');
  assert.equal(srtTime(100 * 3600 + 1.25), '100:00:01,250');
  assert.equal(vttTime('12.5'), '00:00:12.500');
  assert.equal(vttTime(undefined), '00:00:00.000');
});

test('normalised timestamps drop items without text or start and trim the text', () => {
  const out = normalizeTimestamps([
    { text: '  hi ', start: 1, end: 1.2 }, { text: '', start: 0, end: 1 }, { text: 'x', start: 'nope' },
    { text: 'late', start: 3 }, { text: 0, start: 2, end: 2.5 },
  ]);
  assert.deepEqual(out, [
    { text: 'hi', start: 1, end: 1.2 }, { text: '0', start: 2, end: 2.5 }, { text: 'late', start: 3, end: 3 },
  ]);
});

test('normalised timestamps prefer seconds over millisecond fields and sort ties by end', () => {
  assert.deepEqual(normalizeTimestamps([{ text: 'a', start: 1, start_time: 5000, end: 2, end_time: 9000 }]), [{ text: 'a', start: 1, end: 2 }]);
  assert.deepEqual(normalizeTimestamps([{ text: 'b', start: 1, end: 3 }, { text: 'a', start: 1, end: 2 }]).map((x) => x.text), ['a', 'b']);
  assert.deepEqual(normalizeTimestamps('not a list'), []);
});

test('tokens: opening brackets and quotes keep their space, closing punctuation does not', () => {
  assert.equal(joinTokens(['say', '(hi)']), 'say (hi)');
  assert.equal(joinTokens(['he', 'said', '"yes"']), 'he said "yes"');
  assert.equal(joinTokens(['wait', ')']), 'wait)');
  assert.equal(joinTokens(['one', ',', 'two', '.']), 'one, two.');
  assert.equal(joinTokens(['日本', 'is', 'here']), '日本is here');
  assert.equal(joinTokens(['in', '東京', 'now']), 'in東京now');
  assert.equal(joinTokens([]), '');
  assert.equal(joinTokens([1, 2]), '1 2');
});

test('CJK detection covers kana, hangul and full-width forms', () => {
  assert.ok(isCJK('ひらがな'));
  assert.ok(isCJK('カタカナ'));
  assert.ok(isCJK('한국어'));
  assert.ok(isCJK('，'));
  assert.ok(!isCJK('Ελληνικά'));
  assert.ok(!isCJK(''));
  assert.ok(!isCJK(null));
});

test('token mapping is case-insensitive, ordered, and stops at far jumps', () => {
  assert.deepEqual(mapTokensToText('The cat. The dog.', words([['the', 0, 0], ['the', 0, 0], ['dog', 0, 0]])),
    [{ from: 0, to: 3 }, { from: 9, to: 12 }, { from: 13, to: 16 }]);
  const far = `a ${'x'.repeat(200)} b`;
  assert.deepEqual(mapTokensToText(far, words([['a', 0, 0], ['b', 0, 0]])), [{ from: 0, to: 1 }, null]);
  assert.deepEqual(mapTokensToText('abc', [{ text: '' }]), [null]);
});

test('cues split when a cue would run longer than maxDuration', () => {
  const ts = words([['a', 0, 1], ['b', 1.2, 2.5], ['c', 2.6, 4], ['d', 4.1, 6.5], ['e', 6.6, 7]]);
  const cues = buildCues({ text: 'a b c d e', timestamps: ts }, { maxDuration: 6 });
  assert.deepEqual(cues.map((c) => c.text), ['a b c', 'd e']);
  assert.deepEqual(cues.map((c) => [c.start, c.end]), [[0, 4], [4.1, 7]]);
});

test('a pause of exactly maxGap stays in one cue; just over it splits', () => {
  const same = buildCues({ text: 'a b', timestamps: words([['a', 0, 1], ['b', 1.5, 2]]) }, { maxGap: 0.5 });
  assert.equal(same.length, 1);
  const split = buildCues({ text: 'a b', timestamps: words([['a', 0, 1], ['b', 1.51, 2]]) }, { maxGap: 0.5 });
  assert.equal(split.length, 2);
});

test('cues split after sentence punctuation that only the text carries, CJK included', () => {
  const cues = buildCues({
    text: '你好。我很好！',
    timestamps: words([['你', 0, 0.2], ['好', 0.2, 0.4], ['我', 0.5, 0.6], ['很', 0.6, 0.7], ['好', 0.7, 0.8]]),
  });
  assert.deepEqual(cues.map((c) => c.text), ['你好。', '我很好！']);
});

test('a cue whose tokens are not all found falls back to joining the tokens', () => {
  const cues = buildCues({ text: 'Hello there.', timestamps: words([['Hello', 0, 0.5], ['zzz', 0.6, 0.8], ['there', 0.9, 1.2]]) });
  assert.equal(cues.length, 1);
  assert.equal(cues[0].text, 'Hello zzz there');
});

test('newlines inside a cue collapse to one space and zero-length cues get 1 ms', () => {
  const cues = buildCues({ text: 'one\n\ntwo', timestamps: words([['one', 1, 1], ['two', 1, 1]]) });
  assert.equal(cues.length, 1);
  assert.equal(cues[0].text, 'one two');
  assert.equal(cues[0].start, 1);
  assert.ok(Math.abs(cues[0].end - 1.001) < 1e-9);
});

test('cues from millisecond timestamps (start_time/end_time)', () => {
  const cues = buildCues({ text: 'hi there', timestamps: [{ text: 'hi', start_time: 100, end_time: 400 }, { text: 'there', start_time: 500, end_time: 900 }] });
  assert.deepEqual(cues, [{ start: 0.1, end: 0.9, text: 'hi there' }]);
});

test('text-only result without a duration still gets a non-empty cue', () => {
  const [cue] = buildCues({ text: '  only text  ' });
  assert.deepEqual(cue, { start: 0, end: 0.001, text: 'only text' });
  assert.deepEqual(buildCues(null), []);
});

test('SRT of a result without text is empty; VTT is only its header', () => {
  assert.equal(toSRT({ text: '', timestamps: [] }), '');
  assert.equal(toVTT({ text: '' }), 'WEBVTT\n');
});

test('SRT blocks are separated by one blank line and keep raw text', () => {
  const srt = toSRT({ text: 'a < b. c & d.', timestamps: words([['a', 0, 0.2], ['b', 0.3, 0.5], ['c', 2, 2.2], ['d', 2.3, 2.5]]) });
  assert.equal(srt, '1\n00:00:00,000 --> 00:00:00,500\na < b.\n\n2\n00:00:02,000 --> 00:00:02,500\nc & d.\n');
});

test('VTT escapes markup characters and the cue arrow inside text', () => {
  const vtt = toVTT({ text: 'x <b> & y --> z', duration_seconds: 2 });
  assert.equal(vtt, 'WEBVTT\n\n1\n00:00:00.000 --> 00:00:02.000\nx &lt;b&gt; &amp; y --&gt; z\n');
  assert.equal(vtt.split('-->').length, 2, 'only the timing line has an arrow');
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

test('each exporter builds its format with a UTF-8 mime type', () => {
  const r = { text: 'Hi.', duration_seconds: 1 };
  assert.deepEqual(Object.keys(EXPORTERS).sort(), ['json', 'srt', 'txt', 'vtt']);
  for (const ex of Object.values(EXPORTERS)) assert.match(ex.mime, /;charset=utf-8$/);
  assert.equal(EXPORTERS.txt.build(r), 'Hi.\n');
  assert.ok(EXPORTERS.vtt.build(r).startsWith('WEBVTT'));
  assert.ok(EXPORTERS.srt.build(r).startsWith('1\n00:00:00,000 --> 00:00:01,000'));
  assert.equal(JSON.parse(EXPORTERS.json.build(r)).text, 'Hi.');
  assert.equal(EXPORTERS.srt.mime.split(';')[0], 'application/x-subrip');
  assert.equal(EXPORTERS.vtt.mime.split(';')[0], 'text/vtt');
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
