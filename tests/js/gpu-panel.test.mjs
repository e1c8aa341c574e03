// gpu-panel.js on the real page markup with a fake /api/status: GPU memory cards, the no-GPU note,
// model rows updated in place, countdowns, the footer, polling cadence, errors and Release.
import test from 'node:test';
import assert from 'node:assert/strict';
import { installDom, loadIndexPage, FakeEvent } from './helpers/fake-dom.mjs';
import { installFetch, jsonResponse, flush } from './helpers/net.mjs';
import { installClock } from './helpers/clock.mjs';

let env = installDom({ languages: ['en'] });
installFetch();
const { initI18n } = await import('../../ui/js/i18n.js');
await initI18n();
const { GpuPanel } = await import('../../ui/js/gpu-panel.js');
const { formatMB } = await import('../../ui/js/format.js');

const GPU = {
  available: true,
  gpus: [{ index: 0, name: 'NVIDIA H100', memory_total_mb: 81920, memory_used_mb: 20480, memory_free_mb: 61440, service_memory_mb: 16384, utilization_percent: 37, temperature_c: 51 }],
};
function status(over = {}) {
  return {
    version: '1.2.3',
    gpu: GPU,
    models: {
      'qwen3-asr-1.7b': { label: 'Qwen3-ASR 1.7B', kind: 'asr', state: 'loaded', unload_in_seconds: 240, dtype: 'bfloat16', device: 'cuda:0', load_seconds: 12.34, gpu_memory_mb: 4096 },
      'qwen3-asr-0.6b': { label: 'Qwen3-ASR 0.6B', kind: 'asr', state: 'not_loaded', unload_in_seconds: null },
      'qwen3-forced-aligner': { label: 'Forced aligner', kind: 'aligner', state: 'loading' },
    },
    queue: { in_flight: 1, waiting: 2 },
    config: { idle_timeout_s: 600 },
    ...over,
  };
}

let clock;
let net;
let panel;
let seen;
const $ = (id) => env.document.getElementById(id);

function makePanel(opts = {}) {
  seen = { status: [], errors: [], released: [] };
  panel = new GpuPanel({
    card: $('gpu-card'), gpuList: $('gpu-list'), modelList: $('model-list'), foot: $('gpu-foot'), releaseAll: $('release-all'),
    onStatus: (s) => seen.status.push(s), onError: (e, n, ctx) => seen.errors.push({ e, n, ctx }), onReleased: (r) => seen.released.push(r),
    ...opts,
  });
  return panel;
}

test.beforeEach(async () => {
  env = installDom({ languages: ['en'] }); // a fresh document: no listeners from earlier panels
  clock = installClock();
  await loadIndexPage(env.document);
  env.document.visibilityState = 'visible';
  net = installFetch({ 'GET /api/status': () => jsonResponse(status()) });
  makePanel();
});
test.afterEach(async () => {
  await flush(); // let in-flight refreshes schedule their next poll on the fake clock
  clock.uninstall(); // ...which is then dropped with it
});

const statusCalls = () => net.calls.filter((c) => c.url === '/api/status').length;
const row = (id) => $('model-list').querySelector(`li[data-model="${id}"]`);

test('before the first poll both lists show skeletons', () => {
  assert.equal($('gpu-list').querySelectorAll('.skeleton').length, 1);
  assert.equal($('model-list').querySelectorAll('.skeleton').length, 3);
});

test('a status draws a memory card per GPU with meter, legend and extras', async () => {
  await panel.refresh();
  const card = $('gpu-list').querySelector('.gpu');
  assert.equal($('gpu-list').querySelectorAll('.gpu').length, 1);
  assert.equal(card.querySelector('.gpu-index').textContent, 'GPU 0');
  assert.equal(card.querySelector('.gpu-model').textContent, 'NVIDIA H100');
  assert.equal(card.querySelector('.gpu-mem').textContent, '20.0 GB / 80.0 GB');
  const bar = card.querySelector('.mem-bar');
  assert.equal(bar.getAttribute('aria-valuenow'), '20480');
  assert.equal(bar.getAttribute('aria-valuemax'), '81920');
  assert.equal(bar.getAttribute('aria-label'), 'NVIDIA H100 memory: 20.0 GB of 80.0 GB used');
  assert.equal(card.querySelector('.mem-used').style.width, '25%');
  assert.equal(card.querySelector('.mem-svc').style.width, '20%');
  assert.equal(card.querySelector('.lg-s > span').textContent, 'Service 16.0 GB');
  assert.equal(card.querySelector('.lg-o > span').textContent, 'Other 4.0 GB');
  assert.equal(card.querySelector('.lg-f > span').textContent, 'Free 60.0 GB');
  assert.equal(card.querySelector('.gpu-util').textContent, 'Utilisation 37%');
  assert.equal(card.querySelector('.gpu-temp').textContent, '51 °C');
  assert.equal($('gpu-card').getAttribute('aria-busy'), 'false');
  assert.equal(seen.status.length, 1);
});

test('a GPU without service, util or temperature hides those parts; free is derived', async () => {
  net.routes['GET /api/status'] = () => jsonResponse(status({
    gpu: { available: true, gpus: [{ name: 'T4', memory_total_mb: 16000, memory_used_mb: 4000 }] },
  }));
  await panel.refresh();
  const card = $('gpu-list').querySelector('.gpu');
  assert.equal(card.querySelector('.gpu-index').textContent, 'GPU 0');
  assert.ok(card.querySelector('.mem-svc').hidden);
  assert.ok(card.querySelector('.lg-s').hidden);
  assert.equal(card.querySelector('.lg-o > span').textContent, 'Other 3.9 GB');
  assert.equal(card.querySelector('.lg-f > span').textContent, 'Free 11.7 GB');
  assert.ok(card.querySelector('.gpu-extra').hidden);
});

test('memory bars are clamped to 0–100% and survive a zero total', async () => {
  net.routes['GET /api/status'] = () => jsonResponse(status({
    gpu: { available: true, gpus: [{ index: 0, memory_total_mb: 1000, memory_used_mb: 5000 }, { index: 1, memory_total_mb: 0, memory_used_mb: 10 }] },
  }));
  await panel.refresh();
  const cards = $('gpu-list').querySelectorAll('.gpu');
  assert.equal(cards[0].querySelector('.mem-used').style.width, '100%');
  assert.equal(cards[1].querySelector('.mem-used').style.width, '0%');
  assert.equal(cards[1].querySelector('.gpu-model').textContent, 'GPU');
});

test('GPU cards are updated in place between polls and extra cards removed', async () => {
  net.routes['GET /api/status'] = () => jsonResponse(status({
    gpu: { available: true, gpus: [{ index: 0, name: 'A', memory_total_mb: 100, memory_used_mb: 10 }, { index: 1, name: 'B', memory_total_mb: 100, memory_used_mb: 20 }] },
  }));
  await panel.refresh();
  const first = $('gpu-list').querySelector('.gpu');
  net.routes['GET /api/status'] = () => jsonResponse(status({
    gpu: { available: true, gpus: [{ index: 0, name: 'A', memory_total_mb: 100, memory_used_mb: 50 }] },
  }));
  await panel.refresh();
  const cards = $('gpu-list').querySelectorAll('.gpu');
  assert.equal(cards.length, 1);
  assert.equal(cards[0], first, 'same node, so the bar can animate');
  assert.equal(first.querySelector('.mem-used').style.width, '50%');
});

test('without a GPU the panel says so with the reason, and keeps the note across polls', async () => {
  net.routes['GET /api/status'] = () => jsonResponse(status({ gpu: { available: false, reason: 'CUDA not available' } }));
  await panel.refresh();
  const note = $('gpu-list').querySelector('.no-gpu');
  assert.ok(note);
  assert.equal(note.getAttribute('role'), 'note');
  assert.equal(note.querySelector('.no-gpu-title').textContent, 'No GPU detected');
  assert.equal(note.querySelector('.no-gpu-reason').textContent, 'Models run on the CPU. GPU monitoring is unavailable (CUDA not available).');
  assert.equal(note.querySelector('.no-gpu-reason').title, 'CUDA not available', "the server's words stay in the tooltip");
  await panel.refresh();
  assert.equal($('gpu-list').querySelector('.no-gpu'), note);
  net.routes['GET /api/status'] = () => jsonResponse(status({ gpu: { available: true, gpus: [] } }));
  await panel.refresh();
  assert.equal($('gpu-list').querySelector('.no-gpu-reason').textContent, 'Models run on the CPU.', 'new reason, new note');
  assert.equal(panel.memorySummary(), null);
});

test('a GPU appearing after the no-GPU note replaces it', async () => {
  net.routes['GET /api/status'] = () => jsonResponse(status({ gpu: { available: false } }));
  await panel.refresh();
  net.routes['GET /api/status'] = () => jsonResponse(status());
  await panel.refresh();
  assert.equal($('gpu-list').querySelector('.no-gpu'), null);
  assert.equal($('gpu-list').querySelectorAll('.gpu').length, 1);
  assert.equal($('gpu-list').dataset.noGpu, undefined);
});

test('model rows show state, kind, countdown, dtype/device and load time', async () => {
  await panel.refresh();
  assert.deepEqual($('model-list').children.map((li) => li.dataset.model), ['qwen3-asr-1.7b', 'qwen3-asr-0.6b', 'qwen3-forced-aligner']);
  const big = row('qwen3-asr-1.7b');
  assert.equal(big.dataset.state, 'loaded');
  assert.equal(big.querySelector('.model-name span').textContent, 'Qwen3-ASR 1.7B');
  assert.equal(big.querySelector('.model-kind').textContent, 'ASR');
  assert.equal(big.querySelector('[data-testid="model-state"]').textContent, 'Loaded');
  const cd = big.querySelector('.countdown');
  assert.ok(!cd.hidden);
  assert.equal(cd.textContent, 'unloads in 4:00');
  const meta = big.querySelector('.model-meta').children;
  assert.equal(meta[2].textContent, 'bfloat16 · cuda:0');
  assert.equal(big.querySelector('.model-memory').textContent, `${formatMB(4096, 'en')} on the GPU`);
  assert.equal(big.querySelector('.model-loaded-in').textContent, 'loaded in 12.3 s');
  const btn = big.querySelector('button[data-release]');
  assert.ok(!btn.disabled);
  assert.equal(btn.getAttribute('aria-label'), 'Release Qwen3-ASR 1.7B from memory');
  assert.equal(btn.querySelector('span').textContent, 'Release');
});

test("a model's GPU memory shows only while it is loaded and holds some", async () => {
  net.routes['GET /api/status'] = () => jsonResponse(status({ models: {
    a: { state: 'loaded', gpu_memory_mb: 900 }, b: { state: 'loaded', gpu_memory_mb: null },
    c: { state: 'loaded', gpu_memory_mb: 0 }, d: { state: 'releasing', gpu_memory_mb: 900 } } }));
  await panel.refresh();
  const memory = (id) => row(id).querySelector('.model-memory');
  assert.ok(!memory('a').hidden);
  assert.equal(memory('a').textContent, `${formatMB(900, 'en')} on the GPU`);
  for (const id of ['b', 'c', 'd']) assert.ok(memory(id).hidden, id);
});

test('not-loaded and loading models hide the loaded-only details', async () => {
  await panel.refresh();
  const small = row('qwen3-asr-0.6b');
  assert.equal(small.querySelector('.state-pill').textContent, 'Not loaded');
  assert.ok(small.querySelector('.countdown').hidden);
  assert.equal(small.querySelector('.countdown').dataset.unloadIn, undefined);
  assert.ok(small.querySelector('.model-meta').children[2].hidden);
  assert.ok(small.querySelector('button[data-release]').disabled, 'nothing to release');
  const aligner = row('qwen3-forced-aligner');
  assert.equal(aligner.querySelector('.model-kind').textContent, 'Aligner');
  assert.equal(aligner.querySelector('.state-pill').dataset.state, 'loading');
  assert.ok(!aligner.querySelector('button[data-release]').disabled);
});

test('an unknown model state is shown as not loaded', async () => {
  net.routes['GET /api/status'] = () => jsonResponse(status({ models: { m: { state: 'exploding' } } }));
  await panel.refresh();
  assert.equal(row('m').dataset.state, 'not_loaded');
  assert.equal(row('m').querySelector('.model-name span').textContent, 'm', 'the id stands in for a missing label');
});

test('model rows are reused across polls and vanished models are removed', async () => {
  await panel.refresh();
  const li = row('qwen3-asr-1.7b');
  const btn = li.querySelector('button');
  const s = status();
  delete s.models['qwen3-asr-0.6b'];
  s.models['qwen3-asr-1.7b'].state = 'not_loaded';
  net.routes['GET /api/status'] = () => jsonResponse(s);
  await panel.refresh();
  assert.equal(row('qwen3-asr-1.7b'), li);
  assert.equal(li.querySelector('button'), btn, 'focus stays on the same button');
  assert.equal(li.dataset.state, 'not_loaded');
  assert.equal(row('qwen3-asr-0.6b'), null);
  assert.equal($('model-list').children.length, 2);
});

test('Release all is enabled only while some model is loaded or loading', async () => {
  await panel.refresh();
  assert.ok(!$('release-all').disabled);
  net.routes['GET /api/status'] = () => jsonResponse(status({ models: { a: { state: 'not_loaded' } } }));
  await panel.refresh();
  assert.ok($('release-all').disabled);
});

test('the footer lists queue, idle timeout and version', async () => {
  await panel.refresh();
  assert.deepEqual($('gpu-foot').children.map((s) => s.textContent),
    ['Queue: 1 running, 2 waiting', 'Idle unload after 10:00', 'v1.2.3']);
  net.routes['GET /api/status'] = () => jsonResponse(status({ queue: {}, config: {}, version: '' }));
  await panel.refresh();
  assert.equal($('gpu-foot').children.length, 0);
});

test('countdowns tick down between polls from the time of the fetch', async () => {
  await panel.refresh();
  clock.tick(30500);
  panel.tickCountdowns();
  assert.equal(row('qwen3-asr-1.7b').querySelector('.countdown').textContent, 'unloads in 3:30');
  clock.tick(600000);
  panel.tickCountdowns();
  assert.equal(row('qwen3-asr-1.7b').querySelector('.countdown').textContent, 'unloads in 0:00');
});

test('start() polls now, then every interval, and ticks countdowns every second', async () => {
  makePanel({ interval: 4000 });
  panel.start();
  await flush();
  const base = statusCalls();
  clock.tick(3999);
  await flush();
  assert.equal(statusCalls(), base);
  clock.tick(1);
  await flush();
  assert.equal(statusCalls(), base + 1);
  const cd = row('qwen3-asr-1.7b').querySelector('.countdown');
  clock.tick(2000);
  assert.equal(cd.textContent, 'unloads in 3:58', 'the 1 s ticker updated it');
});

test('fast mode polls every second; a hidden page skips polls until visible', async () => {
  await panel.refresh();
  panel.setFast(true);
  const base = statusCalls();
  clock.tick(1000);
  await flush();
  assert.equal(statusCalls(), base + 1);
  env.document.visibilityState = 'hidden';
  clock.tick(5000);
  await flush();
  assert.equal(statusCalls(), base + 1, 'no polls while hidden');
  env.document.visibilityState = 'visible';
  env.document.dispatchEvent(new FakeEvent('visibilitychange'));
  await flush();
  assert.equal(statusCalls(), base + 2, 'coming back refreshes at once');
});

test('a failed first poll says the service is unreachable and counts failures', async () => {
  net.routes['GET /api/status'] = () => { throw new TypeError('Failed to fetch'); };
  const result = await panel.refresh();
  assert.equal(result, null);
  assert.equal($('gpu-list').querySelector('.panel-msg').textContent, 'The service cannot be reached right now.');
  assert.equal($('model-list').children.length, 0);
  await panel.refresh();
  assert.deepEqual(seen.errors.map((x) => [x.e.code, x.n]), [['network', 1], ['network', 2]]);
  net.routes['GET /api/status'] = () => jsonResponse(status());
  await panel.refresh();
  assert.equal(panel.failures, 0);
  assert.equal($('gpu-list').querySelector('.panel-msg'), null);
});

test('a 401 asks for the API key', async () => {
  net.routes['GET /api/status'] = () => jsonResponse({ error: { code: 'unauthorized', message: 'key' } }, { status: 401 });
  await panel.refresh();
  assert.equal($('gpu-list').querySelector('.panel-msg').textContent, 'This server needs an API key: enter it in Settings.');
});

test('a failed poll after a good one keeps the last status on screen', async () => {
  await panel.refresh();
  net.routes['GET /api/status'] = () => { throw new TypeError('down'); };
  await panel.refresh();
  assert.equal($('gpu-list').querySelectorAll('.gpu').length, 1);
  assert.equal($('gpu-list').querySelector('.panel-msg'), null);
  assert.equal(seen.errors.length, 1);
});

test('memory summary sums all GPUs; service is null when no GPU reports it', async () => {
  net.routes['GET /api/status'] = () => jsonResponse(status({
    gpu: { available: true, gpus: [{ memory_used_mb: 100, memory_total_mb: 1000, service_memory_mb: 40 }, { memory_used_mb: 300, memory_total_mb: 2000 }] },
  }));
  await panel.refresh();
  assert.deepEqual(panel.memorySummary(), { used: 400, total: 3000, service: 40 });
  net.routes['GET /api/status'] = () => jsonResponse(status({ gpu: { available: true, gpus: [{ memory_used_mb: 1, memory_total_mb: 2 }] } }));
  await panel.refresh();
  assert.deepEqual(panel.memorySummary(), { used: 1, total: 2, service: null });
});

test('releasing one model posts its id, shows "Releasing", then applies the reply', async () => {
  await panel.refresh();
  let resolvePost;
  const after = status();
  after.models['qwen3-asr-1.7b'] = { label: 'Qwen3-ASR 1.7B', kind: 'asr', state: 'not_loaded' };
  net.routes['POST /api/gpu-offload'] = () => new Promise((r) => { resolvePost = () => r(jsonResponse({ released: ['qwen3-asr-1.7b'], models: after.models, gpu_after: GPU })); });
  row('qwen3-asr-1.7b').querySelector('button[data-release] span').click();
  const li = row('qwen3-asr-1.7b');
  assert.equal(li.dataset.state, 'releasing');
  assert.equal(li.querySelector('.state-pill').textContent, 'Releasing');
  assert.ok(li.querySelector('button').disabled);
  assert.ok($('release-all').disabled, 'no second release while one runs');
  await flush();
  const post = net.calls.find((c) => c.method === 'POST');
  assert.equal(post.url, '/api/gpu-offload');
  assert.deepEqual(JSON.parse(post.body), { models: ['qwen3-asr-1.7b'] });
  const before = statusCalls();
  net.routes['GET /api/status'] = () => jsonResponse(after);
  resolvePost();
  await flush();
  assert.equal(li.dataset.state, 'not_loaded');
  assert.equal(seen.released.length, 1);
  assert.deepEqual(seen.released[0].released, ['qwen3-asr-1.7b']);
  assert.ok(statusCalls() > before, 'refreshes after releasing');
});

test('Release all posts without a model list and marks every model', async () => {
  await panel.refresh();
  net.routes['POST /api/gpu-offload'] = (req) => jsonResponse({ released: [], echo: JSON.parse(req.body) });
  $('release-all').click();
  assert.equal(row('qwen3-asr-1.7b').dataset.state, 'releasing');
  assert.equal(row('qwen3-asr-0.6b').dataset.state, 'not_loaded', 'only loaded models show "releasing"');
  await flush();
  assert.deepEqual(seen.released[0].echo, {});
  assert.equal(panel.releasing.size, 0);
});

test('a failed release reports with the release context and clears the marks', async () => {
  await panel.refresh();
  net.routes['POST /api/gpu-offload'] = () => jsonResponse({ error: { code: 'busy', message: 'in use' } }, { status: 409 });
  await panel.release(['qwen3-asr-1.7b']);
  assert.equal(seen.errors.length, 1);
  assert.equal(seen.errors[0].e.message, 'in use');
  assert.deepEqual(seen.errors[0].ctx, { action: 'release' });
  assert.equal(panel.releasing.size, 0);
  assert.equal(row('qwen3-asr-1.7b').dataset.state, 'loaded');
  assert.equal(seen.released.length, 0);
});
