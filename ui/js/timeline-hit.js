// The timestamp timeline's arithmetic: time <-> x on the canvas, the word a time or a click falls on,
// and the span a click plays. Pure functions (tests/js/timeline-hit.test.mjs).

/** A click this close (px) to a very thin or zero-length segment still hits it. */
export const HIT_TOLERANCE_PX = 4;
/** A zero-length word still plays this long when clicked, so it can be heard. */
export const MIN_PLAY_SECONDS = 0.25;

/** Seconds at x (px) of a canvas w px wide showing view = {start, span}. */
export function xToTime(view, x, w) {
  return view.start + (x / w) * view.span;
}

/** Index of the word covering `time` in items sorted by start (binary search), or -1. */
export function indexAt(items, time) {
  let lo = 0;
  let hi = items.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const it = items[mid];
    if (time < it.start) hi = mid - 1;
    else if (time > it.end) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** The word under x, or the nearest within HIT_TOLERANCE_PX (zero-length words included), or -1. */
export function segmentAt(items, view, x, w) {
  const time = xToTime(view, x, w);
  const i = indexAt(items, time);
  if (i >= 0) return i;
  const tol = (HIT_TOLERANCE_PX / w) * view.span;
  let best = -1;
  let bestD = tol;
  for (let k = 0; k < items.length; k += 1) {
    const it = items[k];
    const d = time < it.start ? it.start - time : time > it.end ? time - it.end : 0;
    if (d <= bestD) { best = k; bestD = d; }
    if (it.start > time + tol) break;
  }
  return best;
}

/** Where playing word `item` stops: its end; for a zero-length word MIN_PLAY_SECONDS after its start
 * (never past `duration`). */
export function playEnd(item, duration = Infinity) {
  if (item.end > item.start) return item.end;
  return Math.max(item.start, Math.min(item.start + MIN_PLAY_SECONDS, duration));
}
