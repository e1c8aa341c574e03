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
const { PerfPanel } = await import('../../ui/js/perf-panel.js');

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
