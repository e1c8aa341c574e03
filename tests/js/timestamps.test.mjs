// timestamps.js on the real page markup: word chips and table, word lookup by time, click-to-play a
// word's span and stop at its end, karaoke classes, zoom/scroll window, view tabs, canvas hit tests.
import test from 'node:test';
import assert from 'node:assert/strict';
import { installDom, loadIndexPage, fire } from './helpers/fake-dom.mjs';
import { installFetch, flush } from './helpers/net.mjs';
import { installClock } from './helpers/clock.mjs';

const env = installDom({ languages: ['en'] });
installFetch();
const { initI18n } = await import('../../ui/js/i18n.js');
await initI18n();
const { TimestampView } = await import('../../ui/js/timestamps.js');
const { indexAt, segmentAt, playEnd, MIN_PLAY_SECONDS } = await import('../../ui/js/timeline-hit.js');
const { segmentBounds, MIN_SEGMENT_PX } = await import('../../ui/js/timeline-draw.js');

const TS = [
  { text: 'Hello', start: 0.1, end: 0.5 }, { text: 'world', start: 0.6, end: 1.0 },
  { text: 'this', start: 2.0, end: 2.2 }, { text: 'is', start: 2.3, end: 2.4 }, { text: 'fine', start: 2.5, end: 3.1 },
];
const $ = (id) => env.document.getElementById(id);
let view;
let els;

test.beforeEach(async () => {
  await loadIndexPage(env.document);
  const d = env.document;
  els = {
    section: $('ts-section'), canvas: $('ts-canvas'), audio: $('ts-audio'), play: $('ts-play'), time: $('ts-time'), count: $('ts-count'),
    words: $('ts-words'), tableWrap: $('ts-table-wrap'), tbody: d.querySelector('#ts-table tbody'), zoomIn: $('ts-zoom-in'), zoomOut: $('ts-zoom-out'),
    zoomFit: $('ts-zoom-fit'), scroll: $('ts-scroll'), viewWords: $('ts-view-words'), viewTable: $('ts-view-table'),
  };
  els.canvas.clientWidth = 1000;
  els.canvas.clientHeight = 120;
  els.canvas.rect = { left: 0, top: 0, width: 1000, height: 120 };
  view = new TimestampView(els);
});

test.afterEach(() => {
  // the fake audio never advances, so a word's stop timer would re-arm forever: end playback
  view.stopAt = null;
  els.audio.pause();
});

const chips = () => els.words.querySelectorAll('.word');

test('setData renders one chip and one table row per word and shows the section', () => {
  view.setData({ timestamps: TS, audioUrl: 'blob:a', duration: 4 });
  assert.ok(!els.section.hidden);
  assert.equal(chips().length, 5);
  assert.equal(chips()[0].firstChild.textContent, 'Hello');
  assert.equal(chips()[0].querySelector('small').textContent, '0.10–0.50', 'a chip shows start–end');
  assert.equal(chips()[0].title, '0.100 – 0.500 s');
  const rows = els.tbody.querySelectorAll('tr');
  assert.equal(rows.length, 5);
  assert.deepEqual(rows[4].children.map((td) => td.textContent), ['5', 'fine', '2.500', '3.100', '0.600']);
  assert.equal(els.count.textContent, '5 segments');
  assert.equal(els.time.textContent, '0:00.0 / 0:04.0');
  assert.equal(els.audio.src, 'blob:a');
  assert.ok(!els.play.disabled);
  assert.equal(els.play.getAttribute('aria-label'), 'Play');
});

test('words are normalised: sorted, empty ones dropped', () => {
  view.setData({ timestamps: [TS[1], { text: ' ', start: 0 }, TS[0]], duration: 2 });
  assert.deepEqual(chips().map((c) => c.firstChild.textContent), ['Hello', 'world']);
});

test('no timestamps hides the section; no audio disables playback', () => {
  view.setData({ timestamps: [], audioUrl: null, duration: 3 });
  assert.ok(els.section.hidden);
  view.setData({ timestamps: TS, audioUrl: null });
  assert.ok(els.play.disabled);
  assert.equal(els.audio.getAttribute('src'), null);
  chips()[0].click();
  assert.equal(els.audio.playCalls, 0, 'no audio, nothing to play');
});

test('the duration covers the longest of audio, peaks and the last word', () => {
  view.setData({ timestamps: TS, duration: 1 });
  assert.equal(view.duration, 3.1);
  view.setData({ timestamps: TS, duration: 2, peaks: { duration: 9, min: new Float32Array(1), max: new Float32Array(1), perSecond: 1 } });
  assert.equal(view.duration, 9);
  view.setData({ timestamps: [{ text: 'a', start: 0, end: 0.1 }] });
  assert.equal(view.duration, 0.5, 'never shorter than half a second');
});

test('the word at a time is found inside spans, and none in the gaps', () => {
  view.setData({ timestamps: TS, duration: 4 });
  assert.equal(indexAt(view.items, 0.1), 0);
  assert.equal(indexAt(view.items, 0.3), 0);
  assert.equal(indexAt(view.items, 0.5), 0);
  assert.equal(indexAt(view.items, 0.55), -1);
  assert.equal(indexAt(view.items, 2.35), 3);
  assert.equal(indexAt(view.items, 3.1), 4);
  assert.equal(indexAt(view.items, 3.5), -1);
  assert.equal(indexAt(view.items, 0), -1);
});

test('clicking a word plays just its span and stops at its end', async () => {
  view.setData({ timestamps: TS, audioUrl: 'blob:a', duration: 4 });
  chips()[2].click();
  const { audio } = els;
  assert.equal(audio.currentTime, 2.0);
  assert.equal(view.stopAt, 2.2);
  assert.equal(audio.playCalls, 1);
  assert.ok(chips()[2].classList.contains('is-active'));
  assert.ok(els.tbody.querySelectorAll('tr')[2].classList.contains('is-active'));
  assert.equal(els.play.dataset.playing, 'true');
  audio.currentTime = 2.21;
  fire(audio, 'timeupdate');
  assert.ok(audio.paused, 'paused at the end of the word');
  assert.equal(view.stopAt, null);
  await flush();
});

test('words already spoken are marked past (karaoke)', () => {
  view.setData({ timestamps: TS, audioUrl: 'blob:a', duration: 4 });
  view.seek(2.35);
  assert.deepEqual(chips().map((c) => c.classList.contains('is-past')), [true, true, true, false, false]);
  assert.deepEqual(chips().map((c) => c.classList.contains('is-active')), [false, false, false, true, false]);
  view.seek(0.05);
  assert.deepEqual(chips().map((c) => c.classList.contains('is-past')), [false, false, false, false, false]);
  assert.equal(chips().filter((c) => c.classList.contains('is-active')).length, 0);
});

test('seek clamps into the audio and cancels a pending stop', () => {
  view.setData({ timestamps: TS, audioUrl: 'blob:a', duration: 4 });
  view.stopAt = 1;
  view.seek(99);
  assert.equal(els.audio.currentTime, 4);
  assert.equal(view.stopAt, null);
  view.seek(-3);
  assert.equal(els.audio.currentTime, 0);
  assert.equal(els.time.textContent, '0:00.0 / 0:04.0');
});

test('the play button toggles, restarting from 0 at the end', () => {
  view.setData({ timestamps: TS, audioUrl: 'blob:a', duration: 4 });
  els.audio.currentTime = 4;
  els.play.click();
  assert.equal(els.audio.currentTime, 0);
  assert.ok(!els.audio.paused);
  assert.equal(els.play.getAttribute('aria-label'), 'Pause');
  els.play.click();
  assert.ok(els.audio.paused);
  assert.equal(els.play.getAttribute('aria-label'), 'Play');
  assert.equal(els.play.dataset.playing, 'false');
});

test('zooming narrows the window around the centre, down to one second', () => {
  view.setData({ timestamps: [...TS, { text: 'end', start: 99, end: 100 }], audioUrl: 'blob:a', duration: 100 });
  assert.ok(els.scroll.hidden);
  assert.ok(els.zoomOut.disabled && els.zoomFit.disabled);
  els.zoomIn.click();
  assert.deepEqual(view.view, { start: 25, span: 50 });
  assert.ok(!els.scroll.hidden);
  assert.equal(els.scroll.value, '500');
  assert.ok(!els.zoomOut.disabled && !els.zoomFit.disabled);
  for (let i = 0; i < 10; i += 1) els.zoomIn.click();
  assert.equal(view.view.span, 1);
  assert.ok(els.zoomIn.disabled);
  els.zoomOut.click();
  assert.equal(view.view.span, 2);
  els.zoomFit.click();
  assert.deepEqual(view.view, { start: 0, span: 100 });
  assert.ok(els.scroll.hidden);
});

test('zooming while playing centres on the playhead, clamped to the audio', () => {
  view.setData({ timestamps: TS, audioUrl: 'blob:a', duration: 100 });
  els.audio.paused = false;
  els.audio.currentTime = 95;
  view.zoom(0.1);
  assert.deepEqual(view.view, { start: 90, span: 10 });
});

test('the scroll slider moves the window', () => {
  view.setData({ timestamps: TS, audioUrl: 'blob:a', duration: 100 });
  view.zoom(0.1);
  els.scroll.value = '250';
  fire(els.scroll, 'input');
  assert.equal(view.view.start, 22.5);
});

test('playing a word outside the zoomed window scrolls to it', () => {
  view.setData({ timestamps: [...TS, { text: 'late', start: 80, end: 81 }], audioUrl: 'blob:a', duration: 100 });
  view.zoom(0.1);
  view.view.start = 0;
  chips()[5].click();
  assert.ok(view.view.start <= 80 && view.view.start + view.view.span >= 81, JSON.stringify(view.view));
});

test('the Words/Table tabs switch views, also with arrow keys', () => {
  view.setData({ timestamps: TS, duration: 4 });
  els.viewTable.click();
  assert.ok(els.words.hidden);
  assert.ok(!els.tableWrap.hidden);
  assert.equal(els.viewTable.getAttribute('aria-selected'), 'true');
  assert.equal(els.viewWords.getAttribute('aria-selected'), 'false');
  assert.equal(els.viewTable.tabIndex, 0);
  assert.equal(els.viewWords.tabIndex, -1);
  fire(els.viewTable, 'keydown', { key: 'ArrowRight' });
  assert.ok(!els.words.hidden);
  assert.equal(env.document.activeElement, els.viewWords);
});

test('table rows play on click or Enter and move focus with arrows', () => {
  view.setData({ timestamps: TS, audioUrl: 'blob:a', duration: 4 });
  const rows = els.tbody.querySelectorAll('tr');
  rows[1].children[1].click();
  assert.equal(els.audio.currentTime, 0.6);
  assert.equal(view.stopAt, 1.0);
  const ev = fire(rows[3], 'keydown', { key: 'Enter' });
  assert.ok(ev.defaultPrevented);
  assert.equal(els.audio.currentTime, 2.3);
  fire(rows[3], 'keydown', { key: 'ArrowDown' });
  assert.equal(env.document.activeElement, rows[4]);
  fire(rows[4], 'keydown', { key: 'ArrowDown' });
  assert.equal(env.document.activeElement, rows[4], 'stays on the last row');
  fire(rows[4], 'keydown', { key: 'ArrowUp' });
  assert.equal(env.document.activeElement, rows[3]);
});

test('a canvas click plays the word under the pointer, or seeks in a gap', () => {
  view.setData({ timestamps: TS, audioUrl: 'blob:a', duration: 4 });
  fire(els.canvas, 'click', { clientX: 75 }); // 0.3 s: "Hello"
  assert.equal(view.stopAt, 0.5);
  assert.equal(els.audio.currentTime, 0.1);
  els.audio.pause();
  fire(els.canvas, 'click', { clientX: 400 }); // 1.6 s: a gap
  assert.equal(view.stopAt, null);
  assert.equal(els.audio.currentTime, 1.6);
});

test('the canvas hit test forgives a few pixels next to a thin word', () => {
  view.setData({ timestamps: TS, duration: 4 });
  assert.equal(segmentAt(view.items, view.view, 127, 1000), 0, '0.5075 s is 3 px past "Hello"');
  assert.equal(segmentAt(view.items, view.view, 137, 1000), -1, '7 px away is a miss');
});

test('hovering the canvas names the word in the tooltip', () => {
  view.setData({ timestamps: TS, duration: 4 });
  fire(els.canvas, 'mousemove', { clientX: 700 });
  assert.equal(els.canvas.title, 'fine  2.500–3.100 s');
  fire(els.canvas, 'mousemove', { clientX: 400 });
  assert.equal(els.canvas.title, '');
});

test('canvas arrow keys walk the words and Enter plays the focused one', () => {
  view.setData({ timestamps: TS, audioUrl: 'blob:a', duration: 4 });
  fire(els.canvas, 'keydown', { key: 'ArrowRight' });
  assert.equal(view.focusIndex, 0, 'first press focuses the first word');
  fire(els.canvas, 'keydown', { key: 'ArrowRight' });
  fire(els.canvas, 'keydown', { key: 'ArrowRight' });
  assert.equal(view.focusIndex, 2);
  fire(els.canvas, 'keydown', { key: 'End' });
  assert.equal(view.focusIndex, 4);
  fire(els.canvas, 'keydown', { key: 'ArrowRight' });
  assert.equal(view.focusIndex, 4);
  fire(els.canvas, 'keydown', { key: 'Home' });
  fire(els.canvas, 'keydown', { key: 'ArrowLeft' });
  assert.equal(view.focusIndex, 0);
  fire(els.canvas, 'keydown', { key: 'End' });
  fire(els.canvas, 'keydown', { key: 'Enter' });
  assert.equal(els.audio.currentTime, 2.5);
  fire(els.canvas, 'blur', { bubbles: false });
  assert.equal(view.focusIndex, -1);
});

test('metadata with a longer audio duration extends the view', () => {
  view.setData({ timestamps: TS, audioUrl: 'blob:a', duration: 3 });
  els.audio.duration = 10;
  fire(els.audio, 'loadedmetadata');
  assert.equal(view.duration, 10);
  assert.deepEqual(view.view, { start: 0, span: 10 });
  assert.equal(els.time.textContent, '0:00.0 / 0:10.0');
});

test('peaks decoded after the result extend a whole-clip view to the whole clip', () => {
  // the result says 3 s; the decoded peaks (which arrive later) say 10 s: the timeline must show all 10
  view.setData({ timestamps: TS, audioUrl: 'blob:a', duration: 3 });
  view.setPeaks({ duration: 10, min: new Float32Array(10), max: new Float32Array(10), perSecond: 1 });
  assert.equal(view.duration, 10);
  assert.deepEqual(view.view, { start: 0, span: 10 });
  assert.equal(els.time.textContent, '0:00.0 / 0:10.0');
  // the metadata then agreeing with the peaks changes nothing
  els.audio.duration = 10;
  fire(els.audio, 'loadedmetadata');
  assert.deepEqual(view.view, { start: 0, span: 10 });
});

test('a longer clip keeps a zoomed window where it is and lets the slider reach the new end', () => {
  view.setData({ timestamps: TS, audioUrl: 'blob:a', duration: 4 });
  view.zoom(0.5);
  const before = { ...view.view };
  view.setPeaks({ duration: 8, min: new Float32Array(8), max: new Float32Array(8), perSecond: 1 });
  assert.equal(view.duration, 8);
  assert.deepEqual(view.view, before, 'the zoomed window stays');
  assert.ok(!els.scroll.hidden);
  assert.equal(els.scroll.value, String(Math.round((before.start / (8 - before.span)) * 1000)));
});

test('drawing labels the words that fit and marks the playhead', () => {
  view.setData({ timestamps: TS, audioUrl: 'blob:a', duration: 4 });
  const g = els.canvas.getContext('2d');
  g.reset();
  view.draw();
  const labels = g.named('fillText').map((c) => c.args[0]);
  for (const w of ['Hello', 'world', 'this', 'is', 'fine']) assert.ok(labels.includes(w), `${w} drawn`);
  view.setData({ timestamps: TS, audioUrl: 'blob:a', duration: 40 });
  g.reset();
  view.draw();
  assert.deepEqual(g.named('fillText').map((c) => c.args[0]).filter((l) => /[a-z]/.test(l)), [], 'at 25 px/s no word label fits');
  const playhead = g.named('fillRect').filter((c) => c.fillStyle === '#ffffff');
  assert.equal(playhead.length, 1, 'one playhead');
  assert.equal(els.canvas.width, 1000);
  g.reset();
  els.section.hidden = true;
  view.draw();
  assert.equal(g.calls.length, 0, 'hidden: nothing drawn');
});

test('clear pauses and hides the section', () => {
  view.setData({ timestamps: TS, audioUrl: 'blob:a', duration: 4 });
  els.audio.play();
  view.clear();
  assert.ok(els.audio.paused);
  assert.ok(els.section.hidden);
  assert.equal(view.items.length, 0);
});

test('the stop timer pauses exactly at the word end, re-arming if audio lags', async () => {
  view.setData({ timestamps: TS, audioUrl: 'blob:a', duration: 4 });
  const clock = installClock();
  try {
    chips()[4].click(); // 2.5 – 3.1 s
    await flush();
    const { audio } = els;
    audio.currentTime = 2.8; // the audio lagged: 0.3 s of 0.6 s played when the timer fires
    clock.tick(601);
    assert.ok(!audio.paused, 'not yet at the end: re-armed');
    audio.currentTime = 3.09;
    clock.tick(301);
    assert.ok(audio.paused);
    assert.equal(view.stopAt, null);
  } finally {
    clock.uninstall();
  }
});

// A zero-length word (start == end: the aligner gives these for punctuation-like tokens).
const WITH_INSTANT = [{ text: 'a', start: 0.1, end: 0.5 }, { text: '嗯', start: 1.2, end: 1.2 }, { text: 'b', start: 2.0, end: 2.5 }];

test('a zero-length word keeps its chip, shows start–end and is marked instant', () => {
  view.setData({ timestamps: WITH_INSTANT, audioUrl: 'blob:a', duration: 4 });
  assert.equal(chips().length, 3);
  assert.equal(chips()[1].querySelector('small').textContent, '1.20–1.20');
  assert.ok(chips()[1].classList.contains('is-instant'));
  assert.ok(!chips()[0].classList.contains('is-instant'));
});

test('clicking a zero-length word plays a short window and keeps it active', () => {
  view.setData({ timestamps: WITH_INSTANT, audioUrl: 'blob:a', duration: 4 });
  chips()[1].click();
  assert.equal(els.audio.currentTime, 1.2);
  assert.ok(Math.abs(view.stopAt - (1.2 + MIN_PLAY_SECONDS)) < 1e-9, String(view.stopAt));
  assert.equal(els.audio.playCalls, 1);
  els.audio.currentTime = 1.3; // inside the window, past the word's own (empty) span
  view._tick();
  assert.equal(view.active, 1, 'the clicked word stays highlighted while its window plays');
  assert.ok(chips()[1].classList.contains('is-active'));
});

test('a zero-length word is drawn at least MIN_SEGMENT_PX wide and the canvas hits it', () => {
  view.setData({ timestamps: WITH_INSTANT, audioUrl: 'blob:a', duration: 4 });
  const { x0, x1 } = segmentBounds(WITH_INSTANT[1], view.view, 1000);
  assert.equal(x0, 300);
  assert.equal(x1 - x0, MIN_SEGMENT_PX);
  assert.equal(segmentAt(view.items, view.view, 301, 1000), 1, 'inside the drawn segment');
  fire(els.canvas, 'click', { clientX: 301 });
  assert.equal(els.audio.currentTime, 1.2);
  assert.equal(view.active, 1);
});

test('playEnd: the word end; a zero-length word plays MIN_PLAY_SECONDS, never past the audio', () => {
  assert.equal(playEnd({ start: 1, end: 2 }), 2);
  assert.equal(playEnd({ start: 1, end: 1.05 }), 1.05, 'a short word still stops at its own end');
  assert.equal(playEnd({ start: 1, end: 1 }), 1 + MIN_PLAY_SECONDS);
  assert.equal(playEnd({ start: 3.9, end: 3.9 }, 4), 4);
});

// The transcript follows playback (transcript-follow.js through TimestampView's els.follow).
const { alignWords } = await import('../../ui/js/transcript-follow.js');

test('alignWords marks each timed word in the text once, in order, and keeps the text as it is', () => {
  const items = [{ text: 'hello' }, { text: 'world' }, { text: 'missing' }, { text: 'hello' }];
  const pieces = alignWords('hello, world and hello', items);
  assert.equal(pieces.map((p) => p.text).join(''), 'hello, world and hello');
  assert.deepEqual(pieces.filter((p) => p.i >= 0).map((p) => [p.text, p.i]), [['hello', 0], ['world', 1], ['hello', 3]]);
  assert.deepEqual(alignWords('你好世界', [{ text: '你' }, { text: '好' }, { text: '世界' }]).map((p) => p.i), [0, 1, 2]);
});

test('the transcript text lights the playing word and a click on it plays from there', () => {
  const follow = $('t-stable');
  view = new TimestampView({ ...els, follow });
  view.setData({ timestamps: TS, audioUrl: 'blob:a', duration: 4, text: 'Hello world, this is fine.' });
  assert.equal(follow.textContent, 'Hello world, this is fine.');
  const words = follow.querySelectorAll('.tw');
  assert.deepEqual(words.map((w) => w.textContent), ['Hello', 'world', 'this', 'is', 'fine']);
  view.seek(2.35);
  assert.ok(words[3].classList.contains('is-active'));
  assert.ok(!words[2].classList.contains('is-active'));
  words[4].click();
  assert.equal(els.audio.currentTime, 2.5);
  assert.equal(view.stopAt, null, 'plays on past the word');
  assert.ok(els.audio.playCalls >= 1);
  assert.ok(words[4].classList.contains('is-active'));
});
