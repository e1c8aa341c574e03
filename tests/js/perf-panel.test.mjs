// perf-panel.js on the real page markup: RTF with speed note and bar, timings, GPU memory line,
// "no GPU" state, empty markers and the refresh flash.
import test from 'node:test';
import assert from 'node:assert/strict';
import { installDom, loadIndexPage } from './helpers/fake-dom.mjs';
import { installFetch } from './helpers/net.mjs';

const env = installDom({ languages: ['en'] });
installFetch();
const { initI18n } = await import('../../ui/js/i18n.js');
await initI18n();
const { PerfPanel, loadNote } = await import('../../ui/js/perf-panel.js');
const { GpuPanel } = await import('../../ui/js/gpu-panel.js');
const { formatSeconds } = await import('../../ui/js/format.js');

let panel;
let $;
test.beforeEach(async () => {
  await loadIndexPage(env.document);
  const root = env.document.getElementById('perf-stats');
  panel = new PerfPanel(root);
  $ = (id) => env.document.getElementById(id);
});

const values = () => ['perf-rtf', 'perf-process', 'perf-duration', 'perf-load', 'perf-total', 'perf-gpu'].map((id) => $(id).textContent);

test('a fresh panel marks every value empty', () => {
  assert.deepEqual(values(), ['—', '—', '—', '—', '—', '—']);
  for (const el of $('perf-stats').querySelectorAll('.stat-value')) assert.ok(el.classList.contains('is-empty'));
});

test('a result fills RTF, speed, bar and timings', () => {
  panel.show({ rtf: 0.05, process_time_seconds: 1.234, duration_seconds: 24.68, load_time_seconds: 0 }, { total: 1.9 });
  assert.equal($('perf-rtf').textContent, '0.050');
  assert.equal($('perf-speed').textContent, '20.0× faster than real time');
  assert.equal($('perf-rtf-bar').style.width, '83.9%');
  assert.equal($('perf-process').textContent, '1.23 s');
  assert.equal($('perf-duration').textContent, '24.7 s');
  assert.equal($('perf-load').textContent, '0.00 s');
  assert.equal($('perf-total').textContent, '1.90 s');
  assert.ok(!$('perf-rtf').classList.contains('is-empty'));
  assert.ok($('perf-gpu').classList.contains('is-empty'), 'no memory info yet');
});

test('audio the VAD skipped is noted under the duration; none, no note', () => {
  panel.show({ rtf: 0.05, duration_seconds: 1500, skipped_seconds: 42.5 });
  assert.equal($('perf-duration-note').textContent, `${formatSeconds(42.5, 'en')} without speech skipped`);
  panel.show({ rtf: 0.05, duration_seconds: 5, skipped_seconds: 0 });
  assert.equal($('perf-duration-note').textContent, '');
  panel.show({ rtf: 0.05, duration_seconds: 5, skipped_seconds: 9 });
  panel.clear();
  assert.equal($('perf-duration-note').textContent, '', 'a new recording clears it');
});

test('RTF digits: three under 0.1, two above; speed drops decimals at 100x', () => {
  panel.show({ rtf: 0.005 });
  assert.equal($('perf-rtf').textContent, '0.005');
  assert.equal($('perf-speed').textContent, '200× faster than real time');
  panel.show({ rtf: 0.25 });
  assert.equal($('perf-rtf').textContent, '0.25');
  assert.equal($('perf-speed').textContent, '4.0× faster than real time');
});

test('the RTF bar is full at 0, shrinks with RTF, and never drops below 3%', () => {
  panel.show({ rtf: 0 });
  assert.equal($('perf-rtf-bar').style.width, '100.0%');
  assert.equal($('perf-speed').textContent, '', 'no speed for a zero RTF');
  panel.show({ rtf: 0.5 });
  const half = parseFloat($('perf-rtf-bar').style.width);
  panel.show({ rtf: 0.1 });
  const tenth = parseFloat($('perf-rtf-bar').style.width);
  assert.ok(tenth > half, `${tenth} > ${half}`);
  panel.show({ rtf: 3 });
  assert.equal($('perf-rtf-bar').style.width, '3.0%');
});

test('missing RTF shows a dash, an empty bar and no speed', () => {
  panel.show({ text: 'x' });
  assert.equal($('perf-rtf').textContent, '—');
  assert.equal($('perf-rtf-bar').style.width, '0.0%');
  assert.equal($('perf-speed').textContent, '');
  assert.ok($('perf-rtf').classList.contains('is-empty'));
});

test('model load wait comes from the result, else from the X-Time-Load header', () => {
  panel.show({ rtf: 0.1, load_time_seconds: 12.5 }, { load: 3 });
  assert.equal($('perf-load').textContent, '12.5 s');
  panel.show({ rtf: 0.1 }, { load: 3 });
  assert.equal($('perf-load').textContent, '3.00 s');
  panel.show({ rtf: 0.1, load_time_seconds: null }, {});
  assert.equal($('perf-load').textContent, '—');
});

test('GPU memory shows used / total and the service share', () => {
  panel.show({ rtf: 0.1 }, { memory: { used: 5120, total: 81920, service: 3000 } });
  assert.equal($('perf-gpu').textContent, '5.0 GB / 80.0 GB');
  assert.equal($('perf-gpu-note').textContent, '2.9 GB used by this service');
  panel.show({ rtf: 0.1 }, { memory: { used: 512, total: 1024, service: null } });
  assert.equal($('perf-gpu').textContent, '512 MB / 1.0 GB');
  assert.equal($('perf-gpu-note').textContent, '');
});

test('without a GPU the memory line says so; unknown stays a dash', () => {
  panel.show({ rtf: 0.1 }, { memory: null, gpuAvailable: false });
  assert.equal($('perf-gpu').textContent, 'No GPU (CPU)');
  assert.ok(!$('perf-gpu').classList.contains('is-empty'));
  panel.show({ rtf: 0.1 }, { memory: null });
  assert.equal($('perf-gpu').textContent, '—');
  assert.ok($('perf-gpu').classList.contains('is-empty'));
});

test('setMemory updates only the memory of the last result, and does nothing before one', () => {
  panel.setMemory({ used: 1, total: 2, service: null }, true);
  assert.equal($('perf-gpu').textContent, '—');
  panel.show({ rtf: 0.2, process_time_seconds: 2 }, { total: 3 });
  panel.setMemory({ used: 2048, total: 4096, service: 1024 }, true);
  assert.equal($('perf-gpu').textContent, '2.0 GB / 4.0 GB');
  assert.equal($('perf-gpu-note').textContent, '1.0 GB used by this service');
  assert.equal($('perf-total').textContent, '3.00 s', 'other extras kept');
  assert.equal($('perf-process').textContent, '2.00 s');
});

test('each new result flashes the panel', () => {
  const root = $('perf-stats');
  assert.ok(!root.classList.contains('is-fresh'));
  panel.show({ rtf: 0.1 });
  assert.ok(root.classList.contains('is-fresh'));
});

test('render without a result keeps the dashes', () => {
  panel.render();
  assert.deepEqual(values(), ['—', '—', '—', '—', '—', '—']);
});

// /api/status `models` after a cold request with timestamps: both models loaded during its wait.
const MODELS = {
  'qwen3-asr-1.7b': { id: 'qwen3-asr-1.7b', label: 'Qwen3-ASR 1.7B', kind: 'asr', state: 'loaded', load_seconds: 3.14159, loaded_at: 1000.0 },
  'qwen3-asr-0.6b': { id: 'qwen3-asr-0.6b', label: 'Qwen3-ASR 0.6B', kind: 'asr', state: 'loaded', load_seconds: 1.5, loaded_at: 1000.5 },
  'qwen3-forced-aligner': { id: 'qwen3-forced-aligner', label: 'Qwen3-ForcedAligner', kind: 'aligner', state: 'loaded', load_seconds: 0.25, loaded_at: 1004.0 },
};

test('the load note names the models this request waited for, with their load time', () => {
  const r = { model: 'qwen3-asr-1.7b', timestamps: [] };
  assert.equal(loadNote(r, 6, MODELS, 'en'), 'Qwen3-ASR 1.7B loaded in 3.14 s · Qwen3-ForcedAligner loaded in 0.25 s');
  assert.equal(loadNote({ model: 'qwen3-asr-1.7b', timestamps: null }, 6, MODELS, 'en'), 'Qwen3-ASR 1.7B loaded in 3.14 s',
    'no timestamps: the aligner is not part of this request');
  assert.equal(loadNote(r, 0.5, MODELS, 'en'), 'Qwen3-ForcedAligner loaded in 0.25 s',
    'the 1.7B finished loading 4 s before the latest load: before this short wait began');
});

test('a warm request says the model was already loaded; unknown says nothing', () => {
  assert.equal(loadNote({ model: 'qwen3-asr-1.7b' }, 0, MODELS, 'en'), 'model was already loaded');
  assert.equal(loadNote({ model: 'qwen3-asr-1.7b' }, null, MODELS, 'en'), '');
  assert.equal(loadNote({ model: 'qwen3-asr-1.7b' }, 2, {}, 'en'), '', 'no status yet');
});

test('the perf panel and the GPU panel give the same load number in the same words', async () => {
  panel.show({ rtf: 0.1, model: 'qwen3-asr-0.6b', load_time_seconds: 2.5 }, { models: MODELS });
  assert.equal($('perf-load').textContent, '2.50 s');
  assert.equal($('perf-load-note').textContent, 'Qwen3-ASR 0.6B loaded in 1.50 s');
  installFetch({ 'GET /api/status': { gpu: { available: false }, models: MODELS, config: {} } });
  const gpu = new GpuPanel({
    card: $('gpu-card'), gpuList: $('gpu-list'), modelList: $('model-list'),
    foot: $('gpu-foot'), releaseAll: $('release-all'),
  });
  await gpu.refresh();
  clearTimeout(gpu.timer);
  const row = $('model-list').querySelector('[data-model="qwen3-asr-0.6b"]');
  const gpuText = row.querySelector('.model-loaded-in').textContent;
  assert.equal(gpuText, 'loaded in 1.50 s');
  assert.ok($('perf-load-note').textContent.endsWith(gpuText), `${$('perf-load-note').textContent} / ${gpuText}`);
});

test('setMemory brings the models of the poll after the result into the load note', () => {
  panel.show({ rtf: 0.1, model: 'qwen3-asr-0.6b', load_time_seconds: 2.5 }, {});
  assert.equal($('perf-load-note').textContent, '');
  panel.setMemory(null, false, MODELS);
  assert.equal($('perf-load-note').textContent, 'Qwen3-ASR 0.6B loaded in 1.50 s');
});
