// GPU & models panel: polls GET /api/status every few seconds, draws a memory bar per GPU (or says
// plainly that there is no GPU), each model's state with its idle countdown, and Release buttons that
// call POST /api/gpu-offload and show the memory coming back.
import { api } from './api.js';
import { t, getUiLanguage } from './i18n.js';
import { formatCountdown, formatMB, formatNumber, formatSeconds } from './format.js';
import { describeGpuReason } from './gpu-reasons.js';

const STATES = ['not_loaded', 'loading', 'loaded', 'releasing'];

/** The row of `key` in `rows`, built (and remembered) when missing or no longer in the page. */
function rowFor(rows, key, build) {
  let row = rows.get(key);
  if (!row || !row.root.isConnected) {
    row = build();
    rows.set(key, row);
  }
  return row;
}

/** Make `list`'s children exactly `nodes`, in order, moving only the nodes out of place. */
function placeInOrder(list, nodes) {
  nodes.forEach((node, i) => { if (list.children[i] !== node) list.insertBefore(node, list.children[i] || null); });
  while (list.children.length > nodes.length) list.lastElementChild.remove();
}

export class GpuPanel {
  constructor({ card, gpuList, modelList, foot, releaseAll, interval = 4000, onStatus, onError, onReleased }) {
    Object.assign(this, { card, gpuList, modelList, foot, releaseAll, interval, onStatus, onError, onReleased });
    this.status = null;
    this.fetchedAt = 0;
    this.timer = null;
    this.tickTimer = null;
    this.releasing = new Set();
    this.fast = false;
    this.offline = false;
    this.failures = 0;
    this.gpuRows = new Map();
    this.rows = new Map();
    this.renderSkeleton();
    releaseAll.addEventListener('click', () => this.release(null));
    modelList.addEventListener('click', (e) => {
      const b = e.target.closest('[data-release]');
      if (b) this.release([b.dataset.release]);
    });
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.refresh();
    });
  }

  start() {
    this.refresh();
    clearInterval(this.tickTimer);
    this.tickTimer = setInterval(() => this.tickCountdowns(), 1000);
  }

  /** Poll faster (1 s) while a request runs, so model loading shows up live. */
  setFast(on) {
    this.fast = on;
    this.schedule();
  }

  schedule() {
    clearTimeout(this.timer);
    const wait = this.fast ? 1000 : this.interval;
    this.timer = setTimeout(() => {
      if (document.visibilityState === 'hidden') { this.schedule(); return; }
      this.refresh();
    }, wait);
  }

  async refresh() {
    clearTimeout(this.timer);
    try {
      const status = await api.status();
      this.failures = 0;
      this.apply(status);
    } catch (err) {
      this.failures += 1;
      this.onError?.(err, this.failures);
      if (!this.status) this.renderError(err);
    } finally {
      this.schedule();
    }
    return this.status;
  }

  apply(status) {
    this.status = status;
    this.fetchedAt = performance.now();
    this.card.setAttribute('aria-busy', 'false');
    this.render();
    this.onStatus?.(status);
  }

  renderSkeleton() {
    this.gpuList.innerHTML = '<div class="skeleton"></div>';
    this.modelList.innerHTML = '<li class="skeleton" style="height:56px"></li><li class="skeleton" style="height:56px"></li><li class="skeleton" style="height:56px"></li>';
  }

  renderError(err) {
    this.gpuList.replaceChildren();
    this.gpuRows = new Map();
    const p = document.createElement('p');
    p.className = 'panel-msg';
    p.textContent = err?.status === 401 ? t('gpu.needKey') : t('gpu.unreachable');
    this.gpuList.append(p);
    this.modelList.replaceChildren();
    this.rows = new Map();
    this.card.setAttribute('aria-busy', 'false');
  }

  /** Total GPU memory numbers for the performance panel. */
  memorySummary() {
    const gpu = this.status?.gpu;
    if (!gpu || !gpu.available || !gpu.gpus?.length) return null;
    const sum = (k) => gpu.gpus.reduce((n, g) => n + (Number(g[k]) || 0), 0);
    const service = gpu.gpus.some((g) => g.service_memory_mb !== undefined && g.service_memory_mb !== null) ? sum('service_memory_mb') : null;
    return { used: sum('memory_used_mb'), total: sum('memory_total_mb'), service };
  }

  render() {
    const s = this.status;
    if (!s) return;
    const loc = getUiLanguage();
    // --- GPUs ---
    const gpu = s.gpu || {};
    const noGpuKey = `${getUiLanguage()}|${gpu.reason || ''}`;
    if ((!gpu.available || !gpu.gpus?.length) && this.gpuList.dataset.noGpu === noGpuKey && this.gpuList.querySelector('.no-gpu')) {
      // unchanged: keep the node
    } else if (!gpu.available || !gpu.gpus?.length) {
      this.gpuList.replaceChildren();
      this.gpuList.dataset.noGpu = noGpuKey;
      this.gpuRows = new Map();
      const box = document.createElement('div');
      box.className = 'no-gpu';
      box.setAttribute('role', 'note');
      box.innerHTML = '<svg class="icon" aria-hidden="true"><use href="#i-cpu"/></svg>';
      const txt = document.createElement('div');
      const title = document.createElement('p');
      title.className = 'no-gpu-title';
      title.textContent = t('gpu.none');
      const sub = document.createElement('p');
      sub.className = 'no-gpu-reason';
      sub.textContent = gpu.reason ? `${t('gpu.noneSub')} ${describeGpuReason(gpu.reason, t)}` : t('gpu.noneSub');
      if (gpu.reason) sub.title = gpu.reason; // the server's own words, for whoever runs it
      txt.append(title, sub);
      box.append(txt);
      this.gpuList.append(box);
    } else {
      delete this.gpuList.dataset.noGpu;
      if (!this.gpuList.querySelector('.gpu')) this.gpuList.replaceChildren();
      placeInOrder(this.gpuList, gpu.gpus.map((g, i) => {
        const row = rowFor(this.gpuRows, String(g.index ?? i), () => this._gpuRow());
        this._updateGpuRow(row, g, loc);
        return row.root;
      }));
    }
    // --- models ---
    const models = s.models || {};
    if (this.modelList.querySelector('.skeleton')) this.modelList.replaceChildren();
    placeInOrder(this.modelList, Object.keys(models).map((id) => {
      const row = rowFor(this.rows, id, () => this._modelRow(id));
      this._updateModelRow(row, id, models[id], loc);
      return row.root;
    }));
    const anyLoaded = Object.values(models).some((m) => m.state === 'loaded' || m.state === 'loading');
    this.releaseAll.disabled = this.offline || this.releasing.size > 0 || !anyLoaded;
    // --- footer ---
    const q = s.queue || {};
    const cfg = s.config || {};
    const bits = [];
    if (q.in_flight !== undefined) bits.push(t('gpu.queue', { running: q.in_flight ?? 0, waiting: q.waiting ?? 0 }));
    if (cfg.idle_timeout_s) bits.push(t('gpu.idleTimeout', { time: formatCountdown(cfg.idle_timeout_s) }));
    if (s.version) bits.push(`v${s.version}`);
    this.foot.replaceChildren(...bits.map((b) => { const sp = document.createElement('span'); sp.textContent = b; return sp; }));
  }

  /** One card per GPU, updated in place so the memory bars animate between polls. */
  _gpuRow() {
    const el = document.createElement('div');
    el.className = 'gpu';
    el.innerHTML = `<div class="gpu-head"><span class="gpu-name"><span class="gpu-index"></span><span class="gpu-model"></span></span>
      <span class="gpu-mem"></span></div>
      <div class="mem-bar" role="meter" aria-valuemin="0"><span class="mem-used"></span><span class="mem-svc"></span></div>
      <div class="gpu-legend"><span class="lg lg-s"><i class="lg-svc"></i><span></span></span><span class="lg lg-o"><i class="lg-used"></i><span></span></span><span class="lg lg-f"><i class="lg-free"></i><span></span></span></div>
      <div class="gpu-extra"><span class="gpu-util"></span><span class="gpu-temp"></span></div>`;
    const q = (sel) => el.querySelector(sel);
    return {
      root: el, index: q('.gpu-index'), model: q('.gpu-model'), mem: q('.gpu-mem'), bar: q('.mem-bar'), used: q('.mem-used'), svc: q('.mem-svc'),
      lgSvc: q('.lg-s'), lgSvcText: q('.lg-s > span'), lgOther: q('.lg-o > span'), lgFree: q('.lg-f > span'),
      extra: q('.gpu-extra'), util: q('.gpu-util'), temp: q('.gpu-temp'),
    };
  }

  _updateGpuRow(row, g, loc) {
    const total = Number(g.memory_total_mb) || 0;
    const used = Number(g.memory_used_mb) || 0;
    const svc = g.service_memory_mb === null || g.service_memory_mb === undefined ? null : Number(g.service_memory_mb);
    const pct = (v) => (total > 0 ? Math.max(0, Math.min(100, (v / total) * 100)) : 0);
    row.index.textContent = `GPU ${g.index ?? 0}`;
    row.model.textContent = g.name || 'GPU';
    row.mem.textContent = `${formatMB(used, loc)} / ${formatMB(total, loc)}`;
    row.bar.setAttribute('aria-valuemax', String(total));
    row.bar.setAttribute('aria-valuenow', String(used));
    row.bar.setAttribute('aria-label', t('gpu.memoryAria', { name: g.name || 'GPU', used: formatMB(used, loc), total: formatMB(total, loc) }));
    row.used.style.width = `${pct(used)}%`;
    row.svc.hidden = svc === null;
    row.svc.style.width = `${pct(svc || 0)}%`;
    row.lgSvc.hidden = svc === null;
    row.lgSvcText.textContent = t('gpu.legendService', { mb: formatMB(svc || 0, loc) });
    row.lgOther.textContent = t('gpu.legendOther', { mb: formatMB(Math.max(0, used - (svc || 0)), loc) });
    row.lgFree.textContent = t('gpu.legendFree', { mb: formatMB(g.memory_free_mb ?? total - used, loc) });
    const hasUtil = g.utilization_percent !== undefined && g.utilization_percent !== null;
    const hasTemp = g.temperature_c !== undefined && g.temperature_c !== null;
    row.util.hidden = !hasUtil;
    row.temp.hidden = !hasTemp;
    if (hasUtil) row.util.textContent = t('gpu.util', { pct: formatNumber(g.utilization_percent, loc, 0) });
    if (hasTemp) row.temp.textContent = t('gpu.temp', { c: formatNumber(g.temperature_c, loc, 0) });
    row.extra.hidden = !hasUtil && !hasTemp;
  }

  /** One row per model, created once and updated in place (keeps focus on its Release button). */
  _modelRow(id) {
    const li = document.createElement('li');
    li.className = 'model';
    li.dataset.model = id;
    const name = document.createElement('div');
    name.className = 'model-name';
    const nameText = document.createElement('span');
    const kind = document.createElement('span');
    kind.className = 'model-kind';
    name.append(nameText, kind);
    const meta = document.createElement('div');
    meta.className = 'model-meta';
    const pill = document.createElement('span');
    pill.className = 'state-pill';
    pill.dataset.testid = 'model-state';
    const countdown = document.createElement('span');
    countdown.className = 'countdown';
    const info = document.createElement('span');
    const loadedIn = document.createElement('span');
    loadedIn.className = 'model-loaded-in';
    const memory = document.createElement('span');
    memory.className = 'model-memory';
    meta.append(pill, countdown, info, memory, loadedIn);
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.className = 'btn btn-sm';
    btn.dataset.release = id;
    btn.innerHTML = '<svg class="icon" aria-hidden="true"><use href="#i-power"/></svg>';
    const btnLabel = document.createElement('span');
    btn.append(btnLabel);
    li.append(name, meta, btn);
    return { root: li, nameText, kind, pill, countdown, info, memory, loadedIn, btn, btnLabel };
  }

  _updateModelRow(row, id, m, loc) {
    const state = this.releasing.has(id) && m.state === 'loaded' ? 'releasing' : STATES.includes(m.state) ? m.state : 'not_loaded';
    const set = (el, text) => { if (el.textContent !== text) el.textContent = text; };
    row.root.dataset.state = state;
    set(row.nameText, m.label || id);
    set(row.kind, m.kind === 'aligner' ? t('gpu.kindAligner') : t('gpu.kindAsr'));
    row.pill.dataset.state = state;
    set(row.pill, t(`state.${state}`));
    const hasCountdown = state === 'loaded' && m.unload_in_seconds !== null && m.unload_in_seconds !== undefined;
    row.countdown.hidden = !hasCountdown;
    if (hasCountdown) {
      row.countdown.dataset.unloadIn = String(m.unload_in_seconds);
      set(row.countdown, t('gpu.unloadIn', { time: formatCountdown(m.unload_in_seconds) }));
    } else delete row.countdown.dataset.unloadIn;
    const bits = state === 'loaded' ? [m.dtype, m.device].filter(Boolean).join(' · ') : '';
    row.info.hidden = !bits;
    set(row.info, bits);
    // NVML's per-process memory of this model's replicas (null without a GPU; 0 on the CPU)
    const memory = state === 'loaded' && Number(m.gpu_memory_mb) > 0 ? t('gpu.modelMemory', { mb: formatMB(Number(m.gpu_memory_mb), loc) }) : '';
    row.memory.hidden = !memory;
    set(row.memory, memory);
    // the same words and number as the performance panel's note on a request that waited for this load
    const loadedIn = state === 'loaded' && m.load_seconds ? t('gpu.loadedIn', { time: formatSeconds(m.load_seconds, loc) }) : '';
    row.loadedIn.hidden = !loadedIn;
    set(row.loadedIn, loadedIn);
    set(row.btnLabel, t('gpu.release'));
    row.btn.setAttribute('aria-label', t('gpu.releaseModel', { name: m.label || id }));
    row.btn.disabled = this.offline || state === 'not_loaded' || this.releasing.has(id);
  }

  /** Unreachable service: the panel greys out, countdowns stop, Release is disabled until it is back. */
  setOffline(offline) {
    if (this.offline === offline) return;
    this.offline = offline;
    this.card.dataset.offline = String(offline);
    if (this.status) this.render();
  }

  /** Count idle timers down between polls (not while the service is unreachable: nothing is known). */
  tickCountdowns() {
    if (!this.status || this.offline) return;
    const elapsed = (performance.now() - this.fetchedAt) / 1000;
    this.modelList.querySelectorAll('.countdown[data-unload-in]').forEach((el) => {
      const left = Math.max(0, Number(el.dataset.unloadIn) - elapsed);
      el.textContent = t('gpu.unloadIn', { time: formatCountdown(left) });
    });
  }

  async release(models) {
    const ids = models || Object.keys(this.status?.models || {});
    ids.forEach((id) => this.releasing.add(id));
    this.render();
    try {
      const res = await api.offload(models);
      if (res?.models && this.status) this.status = { ...this.status, models: res.models, gpu: res.gpu_after || this.status.gpu };
      this.fetchedAt = performance.now();
      this.onReleased?.(res);
    } catch (err) {
      this.onError?.(err, 0, { action: 'release' });
    } finally {
      ids.forEach((id) => this.releasing.delete(id));
      this.render();
      if (this.status) this.onStatus?.(this.status);
      this.refresh();
    }
  }
}
