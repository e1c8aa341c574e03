// i18n.js: language detection, loading dictionaries with English fallback, placeholder filling,
// persistence, change listeners and [data-i18n]/[data-i18n-attr] application on the DOM.
import test from 'node:test';
import assert from 'node:assert/strict';
import { installDom, h } from './helpers/fake-dom.mjs';
import { installFetch, jsonResponse } from './helpers/net.mjs';

const env = installDom({ languages: ['ja-JP', 'en-US'] });
const EN = { greet: 'Hello {name}', pair: '{a} and {b}', title: 'Title', label: 'Label', onlyEn: 'English only' };
const JA = { greet: 'こんにちは {name}', title: 'タイトル', label: 'ラベル' };
const net = installFetch({
  'GET /ui/i18n/en.json': EN,
  'GET /ui/i18n/ja.json': JA,
  'GET /ui/i18n/zh-CN.json': () => new Response('gone', { status: 500 }),
  'GET /ui/i18n/zh-TW.json': { greet: '你好 {name}' },
});
const i18n = await import('../../ui/js/i18n.js');
const { detectUiLanguage, UI_LANGUAGES, initI18n, setUiLanguage, getUiLanguage, t, applyTranslations, onUiLanguageChange } = i18n;

test('detection: a valid stored choice wins over the browser', () => {
  assert.equal(detectUiLanguage('zh-TW', ['en-US']), 'zh-TW');
  assert.equal(detectUiLanguage('ja', ['zh-CN']), 'ja');
});

test('detection: an unknown stored value is ignored', () => {
  assert.equal(detectUiLanguage('fr', ['ja']), 'ja');
  assert.equal(detectUiLanguage('', ['ja']), 'ja');
});

test('detection: Chinese variants map to simplified or traditional', () => {
  assert.equal(detectUiLanguage(null, ['zh-CN']), 'zh-CN');
  assert.equal(detectUiLanguage(null, ['zh']), 'zh-CN');
  assert.equal(detectUiLanguage(null, ['zh-SG']), 'zh-CN');
  assert.equal(detectUiLanguage(null, ['zh-Hans-CN']), 'zh-CN');
  assert.equal(detectUiLanguage(null, ['zh-TW']), 'zh-TW');
  assert.equal(detectUiLanguage(null, ['zh-HK']), 'zh-TW');
  assert.equal(detectUiLanguage(null, ['zh-mo']), 'zh-TW');
  assert.equal(detectUiLanguage(null, ['zh-Hant']), 'zh-TW');
  assert.equal(detectUiLanguage(null, ['ZH-Hant-HK']), 'zh-TW');
});

test('detection: the first supported browser language wins; otherwise English', () => {
  assert.equal(detectUiLanguage(null, ['fr-FR', 'de', 'ja-JP', 'zh-CN']), 'ja');
  assert.equal(detectUiLanguage(null, ['en-GB', 'ja']), 'en');
  assert.equal(detectUiLanguage(null, ['fr', 'de']), 'en');
  assert.equal(detectUiLanguage(null, []), 'en');
  assert.equal(detectUiLanguage(undefined, undefined), 'en');
  assert.equal(detectUiLanguage(null, [null, '', 'ja']), 'ja');
});

test('the UI offers exactly four languages', () => {
  assert.deepEqual(UI_LANGUAGES, ['en', 'zh-CN', 'zh-TW', 'ja']);
});

test('before init, t() returns the key itself', () => {
  assert.equal(t('greet'), 'greet');
  assert.equal(t('greet', { name: 'x' }), 'greet');
});

test('init loads English and the browser language (at once, each once), without persisting it', async () => {
  const el = h(env.document, 'p', { 'data-i18n': 'title' });
  env.document.body.append(el);
  await initI18n();
  assert.deepEqual(net.calls.map((c) => c.url).sort(), ['/ui/i18n/en.json', '/ui/i18n/ja.json']);
  assert.equal(getUiLanguage(), 'ja');
  assert.equal(env.document.documentElement.lang, 'ja');
  assert.equal(el.textContent, 'タイトル');
  assert.equal(env.localStorage.getItem('qwen-asr.ui-lang'), null);
  el.remove();
});

test('t fills placeholders and falls back to English, then to the key', () => {
  assert.equal(t('greet', { name: 'Ana' }), 'こんにちは Ana');
  assert.equal(t('onlyEn'), 'English only');
  assert.equal(t('no.such.key'), 'no.such.key');
});

test('t leaves unknown, null and undefined placeholders as written; 0 and false are values', () => {
  assert.equal(t('pair', { a: 1 }), '1 and {b}');
  assert.equal(t('pair', { a: null, b: undefined }), '{a} and {b}');
  assert.equal(t('pair', { a: 0, b: false }), '0 and false');
  assert.equal(t('pair', { a: '{b}', b: 'x' }), '{b} and x', 'replacement text is not re-expanded');
});

test('switching language persists it, retranslates the page and notifies listeners', async () => {
  const heading = h(env.document, 'h1', { 'data-i18n': 'title' });
  const button = h(env.document, 'button', { 'data-i18n-attr': 'aria-label:label; title : title' });
  env.document.body.append(heading, button);
  const seen = [];
  const off = onUiLanguageChange((lang) => seen.push(lang));
  await setUiLanguage('en');
  assert.equal(getUiLanguage(), 'en');
  assert.equal(env.localStorage.getItem('qwen-asr.ui-lang'), 'en');
  assert.equal(env.document.documentElement.lang, 'en');
  assert.equal(heading.textContent, 'Title');
  assert.equal(button.getAttribute('aria-label'), 'Label');
  assert.equal(button.getAttribute('title'), 'Title');
  await setUiLanguage('ja');
  assert.equal(heading.textContent, 'タイトル');
  assert.equal(button.getAttribute('aria-label'), 'ラベル');
  off();
  await setUiLanguage('en');
  assert.deepEqual(seen, ['en', 'ja'], 'no calls after unsubscribing');
});

test('dictionaries are fetched once and then cached', async () => {
  const before = net.calls.length;
  await setUiLanguage('ja');
  await setUiLanguage('en');
  await setUiLanguage('ja');
  assert.equal(net.calls.length, before, 'ja and en were already loaded');
  await setUiLanguage('zh-TW');
  assert.equal(net.calls.length, before + 1);
  await setUiLanguage('zh-TW');
  assert.equal(net.calls.length, before + 1);
  assert.equal(t('greet', { name: 'A' }), '你好 A');
  assert.equal(t('title'), 'Title', 'zh-TW lacks it: English');
});

test('an unsupported language code falls back to English', async () => {
  await setUiLanguage('ja');
  await setUiLanguage('klingon');
  assert.equal(getUiLanguage(), 'en');
  assert.equal(env.localStorage.getItem('qwen-asr.ui-lang'), 'en');
});

test('a dictionary that fails to load leaves the UI in English', async () => {
  await setUiLanguage('ja');
  const seen = [];
  const off = onUiLanguageChange((l) => seen.push(l));
  await setUiLanguage('zh-CN');
  off();
  assert.equal(getUiLanguage(), 'en');
  assert.equal(t('title'), 'Title');
  assert.equal(env.document.documentElement.lang, 'en');
  assert.deepEqual(seen, ['en']);
  assert.equal(env.localStorage.getItem('qwen-asr.ui-lang'), 'en', 'what is stored is what is shown');
});

test('persist:false keeps the stored choice; a throwing storage does not break switching', async () => {
  env.localStorage.setItem('qwen-asr.ui-lang', 'ja');
  await setUiLanguage('en', { persist: false });
  assert.equal(env.localStorage.getItem('qwen-asr.ui-lang'), 'ja');
  env.localStorage.failing = true;
  await setUiLanguage('ja');
  assert.equal(getUiLanguage(), 'ja');
  env.localStorage.failing = false;
});

test('applyTranslations works on a detached subtree and skips malformed attr pairs', async () => {
  await setUiLanguage('en');
  const root = env.document.createElement('div');
  const a = h(env.document, 'span', { 'data-i18n': 'greet' });
  const b = h(env.document, 'input', { 'data-i18n-attr': 'placeholder:title;broken;:label;alt:' });
  root.append(a, b);
  applyTranslations(root);
  assert.equal(a.textContent, 'Hello {name}');
  assert.equal(b.getAttribute('placeholder'), 'Title');
  assert.deepEqual(b.attributeNames.sort(), ['data-i18n-attr', 'placeholder']);
});

test('init honours a stored choice over the browser languages', async () => {
  env.localStorage.setItem('qwen-asr.ui-lang', 'zh-TW');
  await initI18n();
  assert.equal(getUiLanguage(), 'zh-TW');
});

test('a failing English dictionary makes init reject (main.js shows a toast)', async () => {
  net.routes['GET /ui/i18n/en.json'] = () => jsonResponse({}, { status: 404 });
  // the English dictionary is cached from the first init; a fresh module instance sees the failure
  const fresh = await import(`../../ui/js/i18n.js?fresh=${Date.now()}`);
  await assert.rejects(fresh.initI18n(), /i18n en: HTTP 404/);
});
