// The transcript follows playback: with word timestamps, each timed word of the text becomes a span
// that lights up while its audio plays (the same word as its chip and its timeline segment), and a
// click on it seeks the audio there and plays on.

/**
 * Cut `text` into pieces in order: {text, i} with i the index of the timed word in `items`, or -1
 * for the text between words. A word the text does not hold verbatim (after the previous one) stays
 * unmarked, so the text itself is never changed.
 */
export function alignWords(text, items) {
  const pieces = [];
  let at = 0;
  items.forEach((it, i) => {
    const found = it.text ? text.indexOf(it.text, at) : -1;
    if (found < 0) return;
    if (found > at) pieces.push({ text: text.slice(at, found), i: -1 });
    pieces.push({ text: it.text, i });
    at = found + it.text.length;
  });
  if (at < text.length) pieces.push({ text: text.slice(at), i: -1 });
  return pieces;
}

/** Fill `container` with `text`, timed words as spans; returns the spans by item index (sparse). */
export function renderFollowText(container, text, items) {
  const spans = [];
  const frag = document.createDocumentFragment();
  for (const piece of alignWords(String(text || ''), items)) {
    if (piece.i < 0) { frag.append(document.createTextNode(piece.text)); continue; }
    const span = document.createElement('span');
    span.className = 'tw';
    span.dataset.i = String(piece.i);
    span.textContent = piece.text;
    spans[piece.i] = span;
    frag.append(span);
  }
  container.replaceChildren(frag);
  return spans;
}
