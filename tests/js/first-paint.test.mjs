// first-paint.js (a classic script run before the first paint) picks the same UI language as
// i18n.js's detectUiLanguage, and hides the page only when that language is not English.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import { installDom } from './helpers/fake-dom.mjs';

installDom({ languages: ['en'] });
const { detectUiLanguage } = await import('../../ui/js/i18n.js');
const SOURCE = readFileSync(new URL('../../ui/js/first-paint.js', import.meta.url), 'utf8');

/** Run first-paint.js against a stored choice and browser languages; returns the <html> it left. */
function runFirstPaint(stored, languages, { storageThrows = false } = {}) {
  const attrs = new Map();
  const root = { lang: 'en', setAttribute: (k, v) => attrs.set(k, v), removeAttribute: (k) => attrs.delete(k), attrs };
  const timers = [];
  const context = {
    document: { documentElement: root },
    navigator: { languages, language: languages[0] },
    localStorage: { getItem: () => { if (storageThrows) throw new Error('denied'); return stored; } },
    setTimeout: (fn, ms) => timers.push({ fn, ms }),
  };
  vm.runInNewContext(SOURCE, context);
  return { root, timers };
}

const CASES = [
  [null, ['en-US']], [null, ['ja-JP', 'en']], [null, ['zh-HK']], [null, ['zh-Hant-TW']], [null, ['zh']],
  [null, ['fr-FR', 'ja']], [null, ['fr-FR']], [null, ['en-GB', 'ja']], ['zh-TW', ['en-US']], ['en', ['ja']],
  ['fr', ['zh-CN']], ['', ['ja']], [null, ['', 'ja']],
];

test('it picks what detectUiLanguage picks, for every kind of preference', () => {
  for (const [stored, langs] of CASES) {
    const want = detectUiLanguage(stored, langs);
    const { root } = runFirstPaint(stored, langs);
    assert.equal(root.lang, want, `${stored} ${langs}`);
  }
});

test('a non-English choice hides the page until i18n.js is done, with a safety timeout', () => {
  const { root, timers } = runFirstPaint('ja', ['en']);
  assert.ok(root.attrs.has('data-i18n-pending'));
  assert.equal(timers.length, 1);
  timers[0].fn();
  assert.ok(!root.attrs.has('data-i18n-pending'), 'revealed even if the catalogue never arrives');
});

test('English needs no wait: nothing is hidden', () => {
  const { root, timers } = runFirstPaint(null, ['en-US']);
  assert.ok(!root.attrs.has('data-i18n-pending'));
  assert.equal(timers.length, 0);
});

test('blocked storage falls back to the browser languages', () => {
  const { root } = runFirstPaint(null, ['zh-CN'], { storageThrows: true });
  assert.equal(root.lang, 'zh-CN');
});
