// Canvas helpers shared by the waveform, the microphone scope and the timestamp view.

/**
 * Size `canvas`'s backing store for the screen's pixel ratio, so drawing stays sharp on HiDPI
 * screens, and return a cleared 2D context that draws in CSS pixels: {g, w, h, dpr}.
 * `fallback` ({width, height}) stands in for a canvas not laid out yet; with neither, null.
 */
export function fitCanvas(canvas, fallback = {}) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || fallback.width || 0;
  const h = canvas.clientHeight || fallback.height || 0;
  if (!w || !h) return null;
  const width = Math.round(w * dpr);
  const height = Math.round(h * dpr);
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  return { g, w, h, dpr };
}

/** Fill one rounded bar (a plain rectangle where the browser has no roundRect). */
export function fillBar(g, x, y, width, height, radius = 1.5) {
  g.beginPath();
  if (g.roundRect) g.roundRect(x, y, width, height, radius); else g.rect(x, y, width, height);
  g.fill();
}
