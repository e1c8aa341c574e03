// language-picker.js on the real page markup: labels in the UI language, grouping, search filter
// (accent-insensitive), keyboard and mouse selection, ARIA state, and relabelling.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { installDom, loadIndexPage, fire } from './helpers/fake-dom.mjs';
import { installFetch } from './helpers/net.mjs';

const env = installDom({ languages: ['en'] });
installFetch();
const { initI18n, setUiLanguage } = await import('../../ui/js/i18n.js');
await initI18n();
const { LanguagePicker, labelFor } = await import('../../ui/js/language-picker.js');

const LANGS = [
  { code: 'en', name: 'English', native_name: 'English', group: 'common', aligner: true },
  { code: 'de', name: 'German', native_name: 'Deutsch', group: 'common', aligner: true },
  { code: 'es', name: 'Spanish', native_name: 'Español', group: 'common', aligner: true },
  { code: 'yue', name: 'Cantonese', native_name: '粤语', group: 'dialect', aligner: false },
  { code: 'zh-sichuan', name: 'Sichuanese', native_name: '四川话', group: 'dialect', aligner: false },
  { code: 'fi', name: 'Finnish', native_name: 'Suomi', group: 'other', aligner: false },
  { code: 'xx', name: 'Mystery', native_name: 'Mysterium', group: 'experimental' },
];

let picker;
let changes;
const $ = (id) => env.document.getElementById(id);
const options = () => $('lang-listbox').querySelectorAll('[role="option"]');
const codes = () => options().map((o) => o.dataset.code);
const key = (k) => fire($('lang-input'), 'keydown', { key: k });

test.beforeEach(async () => {
  await setUiLanguage('en');
  await loadIndexPage(env.document);
  changes = [];
  picker = new LanguagePicker({
    root: $('lang-combo'), input: $('lang-input'), toggle: $('lang-toggle'), pop: $('lang-pop'), listbox: $('lang-listbox'), empty: $('lang-empty'),
    onChange: (code, entry) => changes.push([code, entry?.name]),
  });
  picker.setLanguages(LANGS, 'de');
});

test('labels: the language name in the UI language, with native and English names as sub', async () => {
  assert.deepEqual(labelFor(LANGS[1]), { main: 'German', sub: 'Deutsch' });
  assert.deepEqual(labelFor(LANGS[0]), { main: 'English', sub: '' });
  await setUiLanguage('ja');
  assert.deepEqual(labelFor(LANGS[1]), { main: 'ドイツ語', sub: 'Deutsch · German' });
});

test('labels: dialects use their English name in English, their native name otherwise', async () => {
  assert.deepEqual(labelFor(LANGS[3]), { main: 'Cantonese', sub: '粤语' });
  await setUiLanguage('zh-CN');
  assert.deepEqual(labelFor(LANGS[3]), { main: '粤语', sub: 'Cantonese' });
});

test('labels: auto-detect is translated; unknown codes fall back to the names; null is blank', async () => {
  assert.deepEqual(labelFor({ code: 'auto', group: 'auto' }), { main: 'Auto-detect', sub: 'Let the model decide' });
  assert.deepEqual(labelFor({ code: 'qqq', name: 'Madeup', native_name: 'Madeupish', group: 'other' }), { main: 'Madeup', sub: 'Madeupish' });
  assert.deepEqual(labelFor(null), { main: '', sub: '' });
  await setUiLanguage('ja');
  assert.deepEqual(labelFor({ code: 'qqq', name: 'Madeup', native_name: 'Madeupish', group: 'other' }), { main: 'Madeupish', sub: 'Madeup' });
});

test('the list starts with auto-detect, then Common, Chinese dialects and Other', () => {
  assert.deepEqual(codes(), ['auto', 'en', 'de', 'es', 'yue', 'zh-sichuan', 'fi', 'xx']);
  const groups = $('lang-listbox').querySelectorAll('ul[role="group"]');
  assert.deepEqual(groups.map((g) => g.dataset.group), ['common', 'dialect', 'other']);
  assert.deepEqual(groups.map((g) => g.querySelector('.group-label').firstChild?.textContent ?? ''),
    ['Common', 'Chinese dialects', 'Other']);
  assert.deepEqual(groups.map((g) => g.querySelector('.group-count').textContent), ['3', '2', '1']);
  assert.equal(groups[0].getAttribute('aria-labelledby'), 'lang-group-common');
  assert.ok($('lang-empty').hidden);
});

test('a language with an unknown group is still listed, under Other', () => {
  const other = $('lang-listbox').querySelector('ul[data-group="other"]');
  assert.ok(other.querySelector('[data-code="xx"]'));
});

test('options carry ids, codes and the selected state', () => {
  const de = $('lang-listbox').querySelector('#lang-opt-de');
  assert.equal(de.getAttribute('aria-selected'), 'true');
  assert.equal(de.querySelector('.opt-main').textContent, 'German');
  assert.equal(de.querySelector('.opt-sub').textContent, 'Deutsch');
  assert.equal(de.querySelector('.opt-code').textContent, 'de');
  assert.ok($('lang-listbox').querySelector('#lang-opt-zh-sichuan'), 'ids keep - and _');
  assert.ok($('lang-listbox').querySelector('#lang-opt-auto').classList.contains('option-auto'));
  assert.equal(options().filter((o) => o.getAttribute('aria-selected') === 'true').length, 1);
});

test('auto-detect is added when the server list lacks it, and unknown values fall back to it', () => {
  picker.setLanguages([LANGS[0]], 'klingon');
  assert.equal(picker.value, 'auto');
  assert.deepEqual(codes(), ['auto', 'en']);
  assert.equal($('lang-input').value, 'Auto-detect');
  assert.equal($('lang-input').title, 'Auto-detect — Let the model decide');
  picker.setLanguages(null);
  assert.deepEqual(codes(), ['auto']);
});

test('the closed input shows the selected label with a tooltip', () => {
  assert.equal($('lang-input').value, 'German');
  assert.equal($('lang-input').title, 'German — Deutsch');
  assert.equal(picker.selected.code, 'de');
});

test('search matches code, English, native and localised names, ignoring accents and case', () => {
  picker.render('espanol');
  assert.deepEqual(codes(), ['es']);
  picker.render('SUOMI');
  assert.deepEqual(codes(), ['fi']);
  picker.render('yue');
  assert.deepEqual(codes(), ['yue']);
  picker.render('四川');
  assert.deepEqual(codes(), ['zh-sichuan']);
  picker.render('auto');
  assert.deepEqual(codes(), ['auto']);
  picker.render('  german ');
  assert.deepEqual(codes(), ['de']);
});

test('a filtered group keeps its full count; no match shows the empty note', () => {
  picker.render('cantonese');
  const group = $('lang-listbox').querySelector('ul[data-group="dialect"]');
  assert.equal(group.querySelector('.group-count').textContent, '2');
  assert.equal($('lang-listbox').querySelectorAll('ul[role="group"]').length, 1, 'empty groups are left out');
  picker.render('zzzz');
  assert.equal(options().length, 0);
  assert.ok(!$('lang-empty').hidden);
});

test('ArrowDown opens the list on the selected language; arrows move and wrap', () => {
  key('ArrowDown');
  assert.ok(picker.open);
  assert.ok(!$('lang-pop').hidden);
  assert.equal($('lang-combo').dataset.open, 'true');
  assert.equal($('lang-input').getAttribute('aria-expanded'), 'true');
  assert.equal($('lang-input').value, '', 'cleared for typing');
  assert.equal($('lang-input').getAttribute('aria-activedescendant'), 'lang-opt-de');
  key('ArrowDown');
  assert.equal($('lang-input').getAttribute('aria-activedescendant'), 'lang-opt-es');
  assert.ok(options()[3].classList.contains('is-active'));
  assert.equal(options().filter((o) => o.classList.contains('is-active')).length, 1);
  key('Home');
  key('ArrowUp');
  assert.equal($('lang-input').getAttribute('aria-activedescendant'), 'lang-opt-xx', 'wraps to the end');
  key('ArrowDown');
  assert.equal($('lang-input').getAttribute('aria-activedescendant'), 'lang-opt-auto', 'wraps to the start');
  key('End');
  assert.equal($('lang-input').getAttribute('aria-activedescendant'), 'lang-opt-xx');
});

test('Enter picks the active option, closes, and reports the change', () => {
  key('ArrowDown');
  key('ArrowDown');
  const ev = key('Enter');
  assert.ok(ev.defaultPrevented);
  assert.ok(!picker.open);
  assert.ok($('lang-pop').hidden);
  assert.equal(picker.value, 'es');
  assert.deepEqual(changes, [['es', 'Spanish']]);
  assert.equal($('lang-input').value, 'Spanish');
  assert.equal($('lang-input').getAttribute('aria-expanded'), 'false');
  assert.equal($('lang-input').getAttribute('aria-activedescendant'), null);
});

test('Escape closes without changing and restores the label', () => {
  key('ArrowDown');
  $('lang-input').value = 'fin';
  fire($('lang-input'), 'input');
  const ev = key('Escape');
  assert.ok(ev.defaultPrevented);
  assert.ok(ev._stop, 'does not also close a surrounding dialog');
  assert.ok(!picker.open);
  assert.equal($('lang-input').value, 'German');
  assert.deepEqual(changes, []);
});

test('typing opens the list filtered to the text, with the first match active', () => {
  $('lang-input').value = 'fi';
  fire($('lang-input'), 'input');
  assert.ok(picker.open);
  assert.equal($('lang-input').value, 'fi', 'opening keeps what was typed');
  assert.deepEqual(codes(), ['fi']);
  assert.equal($('lang-input').getAttribute('aria-activedescendant'), 'lang-opt-fi');
  key('Enter');
  assert.deepEqual(changes, [['fi', 'Finnish']]);
});

test('Enter on a closed list opens it; Tab closes it', () => {
  key('Enter');
  assert.ok(picker.open);
  key('Tab');
  assert.ok(!picker.open);
  assert.equal($('lang-input').value, 'German');
});

test('clicking an option (or its inner text) chooses it', () => {
  $('lang-input').click();
  assert.ok(picker.open);
  $('lang-listbox').querySelector('#lang-opt-yue .opt-sub').click();
  assert.equal(picker.value, 'yue');
  assert.deepEqual(changes, [['yue', 'Cantonese']]);
  assert.ok(!picker.open);
  assert.equal($('lang-listbox').querySelector('#lang-opt-yue').getAttribute('aria-selected'), 'true');
});

test('the toggle button opens and closes the list and focuses the input', () => {
  $('lang-toggle').click();
  assert.ok(picker.open);
  assert.equal(env.document.activeElement, $('lang-input'));
  $('lang-toggle').click();
  assert.ok(!picker.open);
});

test('mousedown in the popup is prevented so the input keeps focus', () => {
  const ev = fire($('lang-pop'), 'mousedown');
  assert.ok(ev.defaultPrevented);
});

test('losing focus closes the list on the next tick', async () => {
  $('lang-input').focus();
  $('lang-input').click();
  assert.ok(picker.open);
  $('lang-input').blur();
  assert.ok(picker.open, 'not synchronously');
  await new Promise((r) => setTimeout(r, 5));
  assert.ok(!picker.open);
});

test('setValue ignores unknown codes and can be silent', () => {
  picker.setValue('klingon');
  assert.equal(picker.value, 'de');
  picker.setValue('fi', { silent: true });
  assert.equal(picker.value, 'fi');
  assert.equal($('lang-input').value, 'Finnish');
  assert.deepEqual(changes, []);
  picker.setValue('en');
  assert.deepEqual(changes, [['en', 'English']]);
});

test('relabel after a UI language change shows names in the new language', async () => {
  const JA = JSON.parse(readFileSync(new URL('../../ui/i18n/ja.json', import.meta.url), 'utf8'));
  await setUiLanguage('ja');
  picker.relabel();
  assert.equal($('lang-input').value, 'ドイツ語');
  assert.equal($('lang-listbox').querySelector('#lang-opt-auto .opt-main').textContent, JA['lang.auto']);
  assert.equal($('lang-listbox').querySelector('ul[data-group="common"] .group-label').firstChild.textContent, JA['lang.groupCommon']);
});

test('relabel while open keeps the typed filter', () => {
  $('lang-input').value = 'fin';
  fire($('lang-input'), 'input');
  picker.relabel();
  assert.deepEqual(codes(), ['fi']);
  assert.equal($('lang-input').value, 'fin');
});
