// han-fold.js and the picker's search form: simplified and traditional Han forms of the catalogue's
// names fold to one, so 粤 finds 粵語 and 東北 finds 东北话 (issue 14, item 10).
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { foldHan } from '../../ui/js/han-fold.js';
import { installDom } from './helpers/fake-dom.mjs';
import { installFetch } from './helpers/net.mjs';

installDom({ languages: ['en'] });
installFetch();
const { fold } = await import('../../ui/js/language-picker.js');

const catalogue = readFileSync(new URL('../../serve_app/languages.py', import.meta.url), 'utf8');
const nativeNames = Array.from(catalogue.matchAll(/_lang\("[^"]+", "[^"]+", "([^"]+)"/g), (m) => m[1]);

test('the catalogue is read (52 names)', () => {
  assert.equal(nativeNames.length, 52);
});

test('粤 finds 粵語 and 粵 finds 粤语', () => {
  assert.ok(fold('粵語').includes(fold('粤')));
  assert.ok(fold('粤语（广东口音）').includes(fold('粵')));
  assert.equal(fold('粵語（香港口音）'), fold('粤语（香港口音）'));
});

test('traditional spellings of every dialect find it', () => {
  const pairs = [['東北話', '东北话'], ['甘肅話', '甘肃话'], ['貴州話', '贵州话'], ['寧夏話', '宁夏话'], ['陝西話', '陕西话'],
    ['雲南話', '云南话'], ['吳語', '吴语'], ['閩南語', '闽南语'], ['安徽話', '安徽话'], ['四川話', '四川话']];
  for (const [trad, simp] of pairs) {
    assert.ok(nativeNames.includes(simp), simp);
    assert.equal(fold(trad), fold(simp), trad);
  }
});

test('browser language names in both scripts meet (韓語/韩语, 義大利/意大利 stay apart only where words differ)', () => {
  assert.equal(foldHan('韓語'), '韩语');
  assert.equal(foldHan('馬來語'), '马来语');
  assert.equal(foldHan('荷蘭語'), '荷兰语');
  assert.equal(foldHan('希臘語'), '希腊语');
  assert.equal(foldHan('羅馬尼亞語'), '罗马尼亚语');
});

test('other text is untouched and accents still fold', () => {
  assert.equal(foldHan('English 日本語'), 'English 日本语');
  assert.equal(fold('Français'), 'francais');
  assert.equal(foldHan(''), '');
  assert.equal(foldHan(null), '');
});
