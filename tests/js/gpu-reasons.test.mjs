// gpu-reasons.js: NVML's English reasons (serve_app/gpu.py wraps pynvml's messages) become a translated
// sentence in every UI language; an unknown reason is still named, with the server's words.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gpuReasonKey, describeGpuReason } from '../../ui/js/gpu-reasons.js';

const catalog = (lang) => JSON.parse(readFileSync(new URL(`../../ui/i18n/${lang}.json`, import.meta.url), 'utf8'));
const translator = (lang) => {
  const dict = catalog(lang);
  return (key, vars) => (dict[key] ?? key).replace(/\{(\w+)\}/g, (m, k) => (vars?.[k] ?? m));
};

// what serve_app/gpu.py answers, with pynvml's own str(NVMLError) texts
const REASONS = {
  'NVML not available: NVML Shared Library Not Found': 'gpu.reasonNoLibrary',
  'NVML not available: Driver Not Loaded': 'gpu.reasonNoDriver',
  'NVML not available: RM has detected an NVML/RM version mismatch.': 'gpu.reasonMismatch',
  'NVML not available: Insufficient Permissions': 'gpu.reasonPermission',
  'NVML not available: GPU is lost': 'gpu.reasonLost',
  'NVML reports no GPU': 'gpu.reasonNoDevice',
  'NVML not available: Unknown Error': 'gpu.reasonOther',
};

test('each known NVML reason maps to its own key', () => {
  for (const [reason, key] of Object.entries(REASONS)) assert.equal(gpuReasonKey(reason), key, reason);
});

test('every reason key is translated in the four UI languages', () => {
  const en = catalog('en');
  for (const lang of ['en', 'zh-CN', 'zh-TW', 'ja']) {
    const dict = catalog(lang);
    for (const key of new Set(Object.values(REASONS))) {
      assert.ok(dict[key], `${lang} lacks ${key}`);
      if (lang !== 'en') assert.notEqual(dict[key], en[key], `${lang} ${key} is still English`);
    }
  }
});

test('the sentence is in the UI language, not NVML English', () => {
  assert.equal(describeGpuReason('NVML not available: Driver Not Loaded', translator('en')), 'The NVIDIA driver is not loaded.');
  const ja = describeGpuReason('NVML not available: Driver Not Loaded', translator('ja'));
  assert.equal(ja, catalog('ja')['gpu.reasonNoDriver']);
  assert.ok(!/Driver Not Loaded/.test(ja));
  assert.equal(describeGpuReason('NVML reports no GPU', translator('zh-CN')), catalog('zh-CN')['gpu.reasonNoDevice']);
});

test('an unknown reason keeps the server words inside the translated sentence; none gives nothing', () => {
  assert.equal(describeGpuReason('NVML not available: Unknown Error', translator('en')), 'GPU monitoring is unavailable (Unknown Error).');
  assert.equal(describeGpuReason('weird', translator('zh-TW')), 'GPU 監控無法使用（weird）。');
  assert.equal(describeGpuReason('', translator('en')), '');
  assert.equal(describeGpuReason(null, translator('en')), '');
});
