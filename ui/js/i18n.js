// UI translations: EN / 简体中文 / 繁體中文 / 日本語. The choice persists in localStorage;
// a first visit follows the browser's language.

export const UI_LANGUAGES = ['en', 'zh-CN', 'zh-TW', 'ja'];
const STORAGE_KEY = 'qwen-asr.ui-lang';

let fallback = {};
let dict = {};
let current = 'en';
const listeners = new Set();
const cache = new Map();

/** Pick a UI language from a stored choice and the browser's preferences (pure). */
export function detectUiLanguage(stored, navigatorLanguages) {
  if (stored && UI_LANGUAGES.includes(stored)) return stored;
  for (const raw of navigatorLanguages || []) {
    const tag = String(raw || '').toLowerCase();
    if (!tag) continue;
    if (tag.startsWith('zh')) {
      if (/^zh-(tw|hk|mo)\b/.test(tag) || tag.includes('hant')) return 'zh-TW';
      return 'zh-CN';
    }
    if (tag.startsWith('ja')) return 'ja';
    if (tag.startsWith('en')) return 'en';
  }
  return 'en';
}

function readStored() {
  try { return localStorage.getItem(STORAGE_KEY); } catch { return null; }
}

/** A catalogue, fetched once (the promise is cached, so a second caller waits for the same request). */
function load(lang) {
  if (!cache.has(lang)) {
    const loading = fetch(`/ui/i18n/${lang}.json`).then((res) => {
      if (!res.ok) throw new Error(`i18n ${lang}: HTTP ${res.status}`);
      return res.json();
    });
    loading.catch(() => cache.delete(lang)); // a failure may be retried later
    cache.set(lang, loading);
  }
  return cache.get(lang);
}

export async function initI18n() {
  const langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
  const lang = detectUiLanguage(readStored(), langs);
  if (lang !== 'en') load(lang).catch(() => {}); // both catalogues at once: the page waits for them hidden
  fallback = await load('en');
  await setUiLanguage(lang, { persist: false });
}

export async function setUiLanguage(lang, { persist = true } = {}) {
  if (!UI_LANGUAGES.includes(lang)) lang = 'en';
  try {
    dict = lang === 'en' ? fallback : await load(lang);
  } catch {
    dict = fallback;
    lang = 'en';
  }
  current = lang;
  document.documentElement.lang = lang;
  if (persist) {
    try { localStorage.setItem(STORAGE_KEY, lang); } catch { /* private mode: keep it for this page */ }
  }
  applyTranslations(document);
  document.documentElement.removeAttribute('data-i18n-pending'); // first-paint.js hid the page until now
  for (const fn of listeners) fn(lang);
}

export function getUiLanguage() {
  return current;
}

/** Translate a key, filling {placeholders} from vars. Falls back to English, then to the key. */
export function t(key, vars) {
  let s = dict[key] ?? fallback[key] ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, name) => (vars[name] !== undefined && vars[name] !== null ? String(vars[name]) : m));
  return s;
}

/** Whether the English catalogue has `key` (every key exists in all four; tests/test_ui_i18n.py). */
export function hasKey(key) {
  return Object.prototype.hasOwnProperty.call(fallback, key);
}

/** Fill [data-i18n] text (with {placeholders} from a data-i18n-vars JSON object) and
 * [data-i18n-attr="attr:key;attr2:key2"] attributes under root. */
export function applyTranslations(root) {
  root.querySelectorAll('[data-i18n]').forEach((el) => {
    el.textContent = t(el.dataset.i18n, el.dataset.i18nVars ? JSON.parse(el.dataset.i18nVars) : undefined);
  });
  root.querySelectorAll('[data-i18n-attr]').forEach((el) => {
    for (const pair of el.dataset.i18nAttr.split(';')) {
      const [attr, key] = pair.split(':').map((x) => x && x.trim());
      if (attr && key) el.setAttribute(attr, t(key));
    }
  });
}

export function onUiLanguageChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
