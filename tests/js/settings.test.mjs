// settings.js: recognition settings persisted in localStorage, validated per field on load.
import test from 'node:test';
import assert from 'node:assert/strict';
import { FakeStorage } from './helpers/fake-dom.mjs';

globalThis.localStorage = new FakeStorage();
const { DEFAULT_SETTINGS, loadSettings, saveSettings } = await import('../../ui/js/settings.js');
const KEY = 'qwen-asr.settings';

test.beforeEach(() => { globalThis.localStorage = new FakeStorage(); });

test('defaults: auto language, the 1.7B model, no timestamps, no streaming', () => {
  assert.deepEqual(loadSettings(), {
    language: 'auto', model: 'qwen3-asr-1.7b', timestamps: false, streaming: false, dtype: '', context: '',
  });
  assert.ok(Object.isFrozen(DEFAULT_SETTINGS));
});

test('loaded settings are a fresh object: editing them does not touch the defaults', () => {
  const s = loadSettings();
  s.language = 'de';
  assert.equal(DEFAULT_SETTINGS.language, 'auto');
  assert.equal(loadSettings().language, 'auto');
});

test('saved settings round-trip through storage', () => {
  const s = { ...loadSettings(), language: 'ja', model: 'qwen3-asr-0.6b', timestamps: true, streaming: true, dtype: 'bfloat16', context: 'names: Ana' };
  saveSettings(s);
  assert.deepEqual(JSON.parse(localStorage.getItem(KEY)), s);
  assert.deepEqual(loadSettings(), s);
});

test('fields of the wrong type are replaced by their default, others kept', () => {
  localStorage.setItem(KEY, JSON.stringify({ language: 'fr', timestamps: 'yes', streaming: 1, model: null, context: 42, dtype: 'float16' }));
  assert.deepEqual(loadSettings(), {
    language: 'fr', model: 'qwen3-asr-1.7b', timestamps: false, streaming: false, dtype: 'float16', context: '',
  });
});

test('unknown keys in storage are dropped', () => {
  localStorage.setItem(KEY, JSON.stringify({ language: 'ko', apiKey: 'leak', theme: 'dark' }));
  const s = loadSettings();
  assert.equal(s.language, 'ko');
  assert.deepEqual(Object.keys(s).sort(), Object.keys(DEFAULT_SETTINGS).sort());
});

test('corrupt JSON or a non-object falls back to the defaults', () => {
  localStorage.setItem(KEY, '{not json');
  assert.deepEqual(loadSettings(), { ...DEFAULT_SETTINGS });
  localStorage.setItem(KEY, 'null');
  assert.deepEqual(loadSettings(), { ...DEFAULT_SETTINGS });
  localStorage.setItem(KEY, '"text"');
  assert.deepEqual(loadSettings(), { ...DEFAULT_SETTINGS });
});

test('a throwing storage gives defaults on load and is ignored on save', () => {
  localStorage.failing = true;
  assert.deepEqual(loadSettings(), { ...DEFAULT_SETTINGS });
  assert.doesNotThrow(() => saveSettings({ language: 'x' }));
});
