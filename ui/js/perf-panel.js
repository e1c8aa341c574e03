// Performance panel: processing time, audio duration, RTF, model load wait, round trip, GPU memory.
import { t, getUiLanguage } from './i18n.js';
import { formatMB, formatNumber, formatSeconds } from './format.js';

/**
 * What the load wait was spent on, in the GPU panel's words and numbers: "Qwen3-ASR 1.7B loaded in
 * 0.04 s" for each model this request used that finished loading during its wait (server clock:
 * `loaded_at` within `wait` seconds of the latest one), or "model was already loaded".
 */
export function loadNote(r, wait, models, loc) {
  if (wait === null || wait === undefined || !Number.isFinite(Number(wait))) return '';
  if (Number(wait) < 0.005) return t('perf.loadWarm');
  const all = Object.values(models || {});
  const used = all.filter((m) => m.id === r.model || (m.kind === 'aligner' && Array.isArray(r.timestamps)));
  const loaded = used.filter((m) => Number.isFinite(m.loaded_at) && Number.isFinite(m.load_seconds));
  if (!loaded.length) return '';
  const latest = Math.max(...loaded.map((m) => m.loaded_at));
  return loaded.filter((m) => m.loaded_at >= latest - Number(wait) - 1)
    .map((m) => t('perf.loadedModel', { name: m.label || m.id, time: formatSeconds(m.load_seconds, loc) }))
    .join(' · ');
}

export class PerfPanel {
  constructor(root) {
    this.root = root;
    this.$ = (id) => root.querySelector(`#${id}`);
    this.last = null;
    this._markEmpty();
  }

  /**
   * @param {object} r  the result JSON (duration_seconds, process_time_seconds, rtf, load_time_seconds)
   * @param {{total?: number, load?: number, memory?: {used,total,service}|null, gpuAvailable?: boolean,
   *          models?: object}} extra  models: /api/status `models`, for the load note
   */
  show(r, extra = {}) {
    this.last = { r, extra };
    this.render();
    this.root.classList.remove('is-fresh');
    void this.root.offsetWidth; // restart the flash animation
    this.root.classList.add('is-fresh');
  }

  /** Back to empty (a new recording makes the old numbers stale). */
  clear() {
    this.last = null;
    this.root.querySelectorAll('.stat-value').forEach((el) => { el.textContent = '—'; });
    this.root.querySelectorAll('.stat-note').forEach((el) => { el.textContent = ''; });
    const bar = this.root.querySelector('#perf-rtf-bar');
    if (bar) bar.style.width = '0%';
    this.root.classList.remove('is-fresh');
    this._markEmpty();
  }

  /** The status poll after a result: memory now, and the models' load times for the load note. */
  setMemory(memory, gpuAvailable, models) {
    if (!this.last) return;
    this.last.extra = { ...this.last.extra, memory, gpuAvailable, ...(models ? { models } : {}) };
    this.render();
  }

  _markEmpty() {
    this.root.querySelectorAll('.stat-value').forEach((el) => el.classList.toggle('is-empty', el.textContent.trim() === '—'));
  }

  render() {
    if (!this.last) { this._markEmpty(); return; }
    const loc = getUiLanguage();
    const { r, extra } = this.last;
    const rtf = Number(r.rtf);
    const hasRtf = Number.isFinite(rtf);
    this.$('perf-rtf').textContent = hasRtf ? formatNumber(rtf, loc, rtf < 0.1 ? 3 : 2) : '—';
    this.$('perf-speed').textContent = hasRtf && rtf > 0 ? t('perf.speed', { x: formatNumber(1 / rtf, loc, 1 / rtf >= 100 ? 0 : 1) }) : '';
    // bar: how far under real time (rtf 1 -> empty, rtf 0 -> full), log-ish so small RTFs still differ
    const fill = hasRtf ? Math.max(0.03, Math.min(1, 1 - Math.log10(1 + 9 * Math.min(1, rtf)))) : 0;
    this.$('perf-rtf-bar').style.width = `${(fill * 100).toFixed(1)}%`;
    this.$('perf-process').textContent = formatSeconds(r.process_time_seconds, loc);
    this.$('perf-duration').textContent = formatSeconds(r.duration_seconds, loc);
    const skipped = Number(r.skipped_seconds);
    this.$('perf-duration-note').textContent = skipped > 0 ? t('perf.skipped', { time: formatSeconds(skipped, loc) }) : '';
    const load = r.load_time_seconds ?? extra.load;
    this.$('perf-load').textContent = formatSeconds(load, loc);
    this.$('perf-load-note').textContent = loadNote(r, load, extra.models, loc);
    this.$('perf-total').textContent = formatSeconds(extra.total, loc);
    const mem = extra.memory;
    if (mem) {
      this.$('perf-gpu').textContent = `${formatMB(mem.used, loc)} / ${formatMB(mem.total, loc)}`;
      this.$('perf-gpu-note').textContent = mem.service !== null && mem.service !== undefined ? t('perf.gpuService', { mb: formatMB(mem.service, loc) }) : '';
    } else if (extra.gpuAvailable === false) {
      this.$('perf-gpu').textContent = t('perf.noGpu');
      this.$('perf-gpu-note').textContent = '';
    } else {
      this.$('perf-gpu').textContent = '—';
      this.$('perf-gpu-note').textContent = '';
    }
    this._markEmpty();
  }
}
