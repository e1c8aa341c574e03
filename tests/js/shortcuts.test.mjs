// shortcuts.js: which keys act on the transcript's audio and which keep their own meaning.
import test from 'node:test';
import assert from 'node:assert/strict';
import { installDom, loadIndexPage } from './helpers/fake-dom.mjs';
import { installFetch } from './helpers/net.mjs';

const env = installDom({ languages: ['en'] });
installFetch();
const { shortcutFor } = await import('../../ui/js/shortcuts.js');
await loadIndexPage(env.document);
const $ = (id) => env.document.getElementById(id);
const key = (k, target, extra = {}) => ({ key: k, code: k === ' ' ? 'Space' : k, target, defaultPrevented: false, ...extra });

test('on the page itself: Space toggles, arrows seek, ? opens the list', () => {
  const body = env.document.body;
  assert.equal(shortcutFor(key(' ', body)), 'toggle');
  assert.equal(shortcutFor(key('ArrowLeft', body)), 'back');
  assert.equal(shortcutFor(key('ArrowRight', body)), 'forward');
  assert.equal(shortcutFor(key('?', body)), 'help');
  assert.equal(shortcutFor(key('a', body)), null);
});

test('typing in a field is never taken', () => {
  for (const id of ['opt-context', 'lang-input', 'opt-dtype']) {
    for (const k of [' ', 'ArrowLeft', '?']) assert.equal(shortcutFor(key(k, $(id))), null, `${id} ${k}`);
  }
});

test('controls keep the keys they use themselves', () => {
  assert.equal(shortcutFor(key(' ', $('go-btn'))), null, 'Space presses a button');
  assert.equal(shortcutFor(key('ArrowRight', $('tab-upload'))), null, 'arrows move between tabs');
  assert.equal(shortcutFor(key('ArrowLeft', $('ts-canvas'))), null, 'arrows pick words on the timeline');
  assert.equal(shortcutFor(key('ArrowRight', $('go-btn'))), 'forward', 'a button has no use for arrows');
});

test('modified keys and handled events are left alone', () => {
  const body = env.document.body;
  assert.equal(shortcutFor(key(' ', body, { ctrlKey: true })), null);
  assert.equal(shortcutFor(key('ArrowLeft', body, { altKey: true })), null);
  assert.equal(shortcutFor(key(' ', body, { defaultPrevented: true })), null);
});
