// Recognition settings, persisted in localStorage so a reload keeps them.
const KEY = 'qwen-asr.settings';

export const DEFAULT_SETTINGS = Object.freeze({
  language: 'auto',
  model: 'qwen3-asr-1.7b',
  timestamps: false,
  streaming: false,
  dtype: '',
  context: '',
});

export function loadSettings() {
  try {
    const raw = JSON.parse(localStorage.getItem(KEY) || '{}');
    const s = { ...DEFAULT_SETTINGS };
    for (const k of Object.keys(DEFAULT_SETTINGS)) {
      if (raw[k] !== undefined && typeof raw[k] === typeof DEFAULT_SETTINGS[k]) s[k] = raw[k];
    }
    return s;
  } catch {
    return { ...DEFAULT_SETTINGS };
  }
}

export function saveSettings(s) {
  try { localStorage.setItem(KEY, JSON.stringify(s)); } catch { /* ignore */ }
}
