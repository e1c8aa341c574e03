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

async function load(lang) {
  if (cache.has(lang)) return cache.get(lang);
  const res = await fetch(`/ui/i18n/${lang}.json`);
  if (!res.ok) throw new Error(`i18n ${lang}: HTTP ${res.status}`);
  const data = await res.json();
  cache.set(lang, data);
  return data;
}

export async function initI18n() {
  fallback = await load('en');
  const langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
  const lang = detectUiLanguage(readStored(), langs);
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

/** Fill [data-i18n] text and [data-i18n-attr="attr:key;attr2:key2"] attributes under root. */
export function applyTranslations(root) {
  root.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
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
