// upload-progress.js pure helpers: the SSE parser (events split across chunks, comments, CRLF) and the
// percent / remaining-time estimate shown while a long file is transcribed.
import test from 'node:test';
import assert from 'node:assert/strict';
import { installDom } from './helpers/fake-dom.mjs';

installDom({ languages: ['en'] });
const { parseSse, progressEstimate } = await import('../../ui/js/upload-progress.js');

test('complete events are parsed as JSON, the unfinished tail is kept', () => {
  const { events, rest } = parseSse('event: progress\ndata: {"pieces_done":1}\n\nevent: result\ndata: {"te');
  assert.deepEqual(events, [{ event: 'progress', data: { pieces_done: 1 } }]);
  assert.equal(rest, 'event: result\ndata: {"te');
  const next = parseSse(`${rest}xt":"hi"}\n\n`);
  assert.deepEqual(next.events, [{ event: 'result', data: { text: 'hi' } }]);
  assert.equal(next.rest, '');
});

test('keep-alive comments and CRLF line ends are handled', () => {
  const { events } = parseSse(': keep-alive\n\nevent: progress\r\ndata: {"a":1}\r\n\r\n');
  assert.deepEqual(events, [{ event: 'progress', data: { a: 1 } }]);
});

test('an event without a name is a message; multi-line data is joined', () => {
  const { events } = parseSse('data: one\ndata: two\n\n');
  assert.deepEqual(events, [{ event: 'message', data: 'one\ntwo' }]);
});

test('percent follows the audio seconds done; the estimate scales the elapsed time', () => {
  const p = { pieces_done: 1, pieces_total: 4, audio_seconds_done: 15, audio_seconds_total: 60 };
  const est = progressEstimate(p, 10);
  assert.equal(est.percent, 25);
  assert.equal(est.remainingSeconds, 30);
});

test('no estimate before any progress, none at 100 %; pieces count when seconds are missing', () => {
  assert.equal(progressEstimate({ pieces_done: 0, pieces_total: 3, audio_seconds_total: 30, audio_seconds_done: 0 }, 5).remainingSeconds, null);
  const done = progressEstimate({ pieces_done: 3, pieces_total: 3, audio_seconds_done: 30, audio_seconds_total: 30 }, 9);
  assert.equal(done.percent, 100);
  assert.equal(done.remainingSeconds, null);
  assert.equal(progressEstimate({ pieces_done: 1, pieces_total: 2 }, 4).percent, 50);
  assert.equal(progressEstimate(null, 1).percent, 0);
});

test('the aligning stage reads as nearly done', () => {
  assert.ok(progressEstimate({ stage: 'aligning', pieces_done: 2, pieces_total: 2, audio_seconds_done: 8, audio_seconds_total: 10 }, 3).percent >= 97);
});
