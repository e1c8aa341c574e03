// The settings card (language, model, timestamps, streaming, dtype, context, API key), the
// language list from the server, and the UI language buttons.
import { t, setUiLanguage, onUiLanguageChange, getUiLanguage } from './i18n.js';
import { api, getApiKey, setApiKey } from './api.js';
import { saveSettings } from './settings.js';
import { LanguagePicker, labelFor } from './language-picker.js';
import { $, app } from './app.js';
import { updateGoButton } from './busy.js';
import { renderSamples } from './demo.js';

export function findLanguage(nameOrCode) {
  if (!nameOrCode) return null;
  const q = String(nameOrCode).toLowerCase();
  const pool = app.languages.filter((l) => l.code !== 'auto');
  return pool.find((l) => l.code.toLowerCase() === q)
    || pool.find((l) => l.group !== 'dialect' && String(l.name).toLowerCase() === q)
    || pool.find((l) => l.group !== 'dialect' && String(l.model_language || '').toLowerCase() === q)
    || pool.find((l) => String(l.name).toLowerCase() === q)
    || null;
}

export function updateLangHelp() {
  const help = $('lang-help');
  const sel = app.picker?.selected;
  help.classList.remove('warn');
  if (!sel) { help.textContent = ''; return; }
  if (app.settings.timestamps && sel.aligner === false) {
    help.textContent = t('settings.noAligner', { lang: labelFor(sel).main });
    help.classList.add('warn');
  } else if (sel.group === 'dialect') {
    help.textContent = t('settings.dialectNote');
  } else help.textContent = '';
}

/** Show `languages` in the picker (keeping the chosen one) and its help line. */
export function setLanguages(languages) {
  app.languages = languages;
  app.picker.setLanguages(languages, app.settings.language);
  updateLangHelp();
  renderSamples();
}

/** A checkbox or select bound to one setting: shown from it, saved on change. */
function bind(el, key, { prop = 'value', event = 'change', after } = {}) {
  const { settings } = app;
  el[prop] = settings[key];
  el.addEventListener(event, () => { settings[key] = el[prop]; saveSettings(settings); after?.(); });
}

export function setupSettings() {
  const { settings } = app;
  app.picker = new LanguagePicker({
    root: $('lang-combo'), input: $('lang-input'), toggle: $('lang-toggle'), pop: $('lang-pop'),
    listbox: $('lang-listbox'), empty: $('lang-empty'),
    onChange: (code) => { settings.language = code; saveSettings(settings); updateLangHelp(); },
  });
  document.querySelectorAll('input[name="model"]').forEach((r) => {
    r.checked = r.value === settings.model;
    r.addEventListener('change', () => { if (r.checked) { settings.model = r.value; saveSettings(settings); } });
  });
  if (!document.querySelector('input[name="model"]:checked')) {
    document.querySelector('input[name="model"]').checked = true;
    settings.model = document.querySelector('input[name="model"]').value;
  }
  bind($('opt-timestamps'), 'timestamps', { prop: 'checked', after: updateLangHelp });
  bind($('opt-streaming'), 'streaming', { prop: 'checked', after: updateGoButton });
  const dt = $('opt-dtype');
  bind(dt, 'dtype');
  if (dt.value !== settings.dtype) { settings.dtype = ''; dt.value = ''; }
  const ctx = $('opt-context');
  const count = $('context-count');
  const upd = () => { count.textContent = `${ctx.value.length} / ${ctx.maxLength}`; };
  bind(ctx, 'context', { event: 'input', after: upd });
  upd();
  $('apikey-form').addEventListener('submit', (e) => { e.preventDefault(); $('opt-apikey').dispatchEvent(new Event('change')); });
  const key = $('opt-apikey');
  key.value = getApiKey();
  if (!key.value) {
    $('apikey-form').hidden = true;
    $('apikey-form').closest('.field-grid').classList.add('is-single');
  }
  key.addEventListener('change', () => {
    setApiKey(key.value.trim());
    app.gpu.refresh();
    if (app.languages.length <= 1) loadLanguages();
  });
}

/** Put saved settings (a history entry's) back into the settings card, as if chosen by hand. */
export function restoreSettings(saved) {
  const { settings } = app;
  for (const k of Object.keys(settings)) {
    if (saved?.[k] !== undefined && saved[k] !== null && typeof saved[k] === typeof settings[k]) settings[k] = saved[k];
  }
  const dt = $('opt-dtype');
  if (!Array.from(dt.options).some((o) => o.value === settings.dtype)) settings.dtype = '';
  saveSettings(settings);
  app.picker.setValue(settings.language, { silent: true });
  document.querySelectorAll('input[name="model"]').forEach((r) => { r.checked = r.value === settings.model; });
  $('opt-timestamps').checked = settings.timestamps;
  $('opt-streaming').checked = settings.streaming;
  dt.value = settings.dtype;
  $('opt-context').value = settings.context;
  $('opt-context').dispatchEvent(new Event('input'));
  updateLangHelp();
  updateGoButton();
}

/** "Server default (float32)": the empty choice names the dtype a model loads in without one. */
function labelServerDefault(option, dtype) {
  if (!option) return;
  if (dtype) {
    option.dataset.i18n = 'settings.dtypeDefaultIs';
    option.dataset.i18nVars = JSON.stringify({ dtype });
  } else {
    option.dataset.i18n = 'settings.dtypeDefault';
    delete option.dataset.i18nVars;
  }
  option.textContent = t(option.dataset.i18n, dtype ? { dtype } : undefined);
}

/** Options the server reports in /api/status: its dtypes, the default dtype and the longest context. */
export function applyServerConfig(status) {
  const { settings } = app;
  const dtypes = status?.config?.dtypes;
  const dt = $('opt-dtype');
  if (Array.isArray(dtypes) && dtypes.length) {
    const have = Array.from(dt.options).map((o) => o.value).filter(Boolean);
    if (have.join() !== dtypes.join()) {
      Array.from(dt.options).filter((o) => o.value).forEach((o) => o.remove());
      for (const d of dtypes) { const o = document.createElement('option'); o.value = d; o.textContent = d; dt.append(o); }
      dt.value = dtypes.includes(settings.dtype) ? settings.dtype : '';
    }
  }
  labelServerDefault(dt.querySelector('option[value=""]'), status?.config?.default_dtype);
  const maxCtx = status?.config?.max_context_chars;
  if (Number.isFinite(maxCtx) && maxCtx > 0) { $('opt-context').maxLength = maxCtx; $('context-count').textContent = `${$('opt-context').value.length} / ${maxCtx}`; }
}

let languagesRetry = null;
export async function loadLanguages() {
  clearTimeout(languagesRetry);
  try {
    const data = await api.languages();
    setLanguages(data.languages || []);
  } catch (err) {
    if (!app.languages.length) app.picker.setLanguages([], 'auto');
    languagesRetry = setTimeout(loadLanguages, 5000);
    if (err?.status === 401) return; // the status poll reports the missing key
  }
}

export function markUiLangButtons() {
  const lang = getUiLanguage();
  document.querySelectorAll('[data-ui-lang]').forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.uiLang === lang)));
}

export function setupUiLanguage() {
  document.querySelectorAll('[data-ui-lang]').forEach((b) => {
    b.addEventListener('click', () => setUiLanguage(b.dataset.uiLang));
  });
  onUiLanguageChange(() => {
    markUiLangButtons();
    app.picker.relabel();
    app.input.relabel();
    app.result.relabel();
    app.perf.render();
    app.gpu.render();
    app.history?.relabel();
    updateGoButton();
    updateLangHelp();
    renderSamples();
  });
}
