// Paints the timestamp timeline on a 2D canvas: time grid, one coloured segment per word (labelled
// when it fits), the waveform (or speech activity from the word times) and the playhead.
import { formatClock } from './format.js';
import { indexAt, xToTime } from './timeline-hit.js';

const SEG_COLORS = [
  [34, 228, 255],
  [139, 92, 255],
  [255, 79, 216],
  [61, 255, 168],
];
/** The narrowest a segment is drawn (px): a zero-length word stays visible. */
export const MIN_SEGMENT_PX = 3;
const RULER = 18;
const LABEL_BAND = 20;
const GRID_STEPS = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];

/** x0/x1 (px) of word `it`, at least MIN_SEGMENT_PX wide. */
export function segmentBounds(it, view, w) {
  const tx = (time) => ((time - view.start) / view.span) * w;
  const x0 = tx(it.start);
  return { x0, x1: Math.max(x0 + MIN_SEGMENT_PX, tx(it.end)) };
}

function drawGrid(g, w, h, view) {
  const { start, span } = view;
  const step = GRID_STEPS.find((s) => (s / span) * w >= 70) || 3600;
  g.font = '10px ui-monospace, "JetBrains Mono", Menlo, monospace';
  g.textBaseline = 'middle';
  for (let tt = Math.ceil(start / step) * step; tt <= start + span + 1e-9; tt += step) {
    const x = Math.round(((tt - start) / span) * w) + 0.5;
    g.strokeStyle = 'rgba(150, 165, 255, 0.08)';
    g.beginPath(); g.moveTo(x, LABEL_BAND); g.lineTo(x, h - RULER); g.stroke();
    g.fillStyle = 'rgba(160, 170, 210, 0.75)';
    g.fillText(step < 1 ? tt.toFixed(1) : formatClock(tt), Math.min(w - 30, x + 3), h - RULER / 2);
  }
}

function drawSegments(g, w, waveH, s) {
  const { start, span } = s.view;
  for (let i = 0; i < s.items.length; i += 1) {
    const it = s.items[i];
    if (it.end < start || it.start > start + span) continue;
    const { x0, x1 } = segmentBounds(it, s.view, w);
    const [r, gg, b] = SEG_COLORS[i % SEG_COLORS.length];
    const isActive = i === s.active;
    const isHover = i === s.hover || i === s.focusIndex;
    g.fillStyle = `rgba(${r}, ${gg}, ${b}, ${isActive ? 0.3 : isHover ? 0.2 : 0.09})`;
    g.fillRect(x0, LABEL_BAND, x1 - x0, waveH);
    g.fillStyle = `rgba(${r}, ${gg}, ${b}, ${isActive ? 1 : 0.75})`;
    g.fillRect(x0, LABEL_BAND, x1 - x0, 2);
    if (isActive) {
      g.shadowColor = `rgba(${r}, ${gg}, ${b}, 0.9)`;
      g.shadowBlur = 12;
      g.fillRect(x0, LABEL_BAND, x1 - x0, 2);
      g.shadowBlur = 0;
    }
    g.font = `${isActive ? '600 ' : ''}11px system-ui, "Noto Sans", "Noto Sans CJK SC", sans-serif`;
    const tw = g.measureText(it.text).width;
    if (tw + 6 <= x1 - x0 || (isActive && tw + 6 <= w)) {
      g.fillStyle = isActive ? '#ffffff' : `rgba(${r}, ${gg}, ${b}, 0.95)`;
      const lx = Math.max(2, Math.min(w - tw - 2, x0 + (x1 - x0 - tw) / 2));
      g.fillText(it.text, lx, LABEL_BAND / 2 + 1);
    }
  }
}

function peakNorm(peaks) {
  if (!peaks) return 1;
  let m = 0.001;
  for (let i = 0; i < peaks.max.length; i += 1) m = Math.max(m, peaks.max[i], -peaks.min[i]);
  return 1 / m;
}

function drawWave(g, w, waveH, mid, px, s) {
  const bar = 2;
  const gap = 1;
  const count = Math.floor(w / (bar + gap));
  const grad = g.createLinearGradient(0, 0, w, 0);
  grad.addColorStop(0, '#22e4ff'); grad.addColorStop(0.55, '#8b5cff'); grad.addColorStop(1, '#ff4fd8');
  const norm = peakNorm(s.peaks);
  for (let i = 0; i < count; i += 1) {
    const x = i * (bar + gap);
    const t0 = xToTime(s.view, x, w);
    const t1 = xToTime(s.view, x + bar + gap, w);
    let amp = 0;
    if (s.peaks) {
      const ps = s.peaks.perSecond;
      const a = Math.max(0, Math.floor(t0 * ps));
      const b2 = Math.min(s.peaks.max.length, Math.max(a + 1, Math.ceil(t1 * ps)));
      for (let j = a; j < b2; j += 1) amp = Math.max(amp, s.peaks.max[j], -s.peaks.min[j]);
      amp *= norm;
    } else {
      // no decoded audio: show speech activity from the word times
      const k = indexAt(s.items, (t0 + t1) / 2);
      amp = k >= 0 ? 0.35 + 0.25 * Math.abs(Math.sin((t0 + k) * 7)) : 0.04;
    }
    const hh = Math.max(1.5, amp * (waveH - 8));
    g.fillStyle = x <= px ? grad : 'rgba(200, 210, 255, 0.32)';
    g.fillRect(x, mid - hh / 2, bar, hh);
  }
}

/**
 * @param {CanvasRenderingContext2D} g  a context already scaled to CSS pixels (canvas.js fitCanvas)
 * @param {{items, view: {start, span}, active, hover, focusIndex, now, peaks}} s  what to draw
 */
export function drawTimeline(g, w, h, s) {
  const waveH = h - RULER - LABEL_BAND;
  const mid = LABEL_BAND + waveH / 2;
  const px = ((s.now - s.view.start) / s.view.span) * w;
  drawGrid(g, w, h, s.view);
  drawSegments(g, w, waveH, s);
  drawWave(g, w, waveH, mid, px, s);
  if (px >= 0 && px <= w) {
    g.fillStyle = '#ffffff';
    g.shadowColor = 'rgba(34, 228, 255, 0.95)';
    g.shadowBlur = 10;
    g.fillRect(Math.round(px) - 1, LABEL_BAND - 2, 2, waveH + 4);
    g.shadowBlur = 0;
  }
}
