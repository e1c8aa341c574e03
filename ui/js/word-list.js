// The timestamps as DOM: one chip per word (its text and start–end) and one table row per word.
import { formatTime3 } from './format.js';

/** "1.20–1.48" (seconds, two decimals): the span a chip plays. */
export function chipSpan(it) {
  return `${it.start.toFixed(2)}–${it.end.toFixed(2)}`;
}

/** Fill `container` with a button per item; returns the buttons in item order. */
export function renderChips(container, items) {
  const frag = document.createDocumentFragment();
  const chips = items.map((it, i) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'word';
    b.dataset.i = String(i);
    b.textContent = it.text;
    if (it.end <= it.start) b.classList.add('is-instant');
    const small = document.createElement('small');
    small.textContent = chipSpan(it);
    b.append(small);
    b.title = `${formatTime3(it.start)} – ${formatTime3(it.end)} s`;
    frag.append(b);
    return b;
  });
  container.replaceChildren(frag);
  return chips;
}

/** Fill `tbody` with a focusable row per item (#, text, start, end, length); returns the rows. */
export function renderTable(tbody, items) {
  const frag = document.createDocumentFragment();
  const rows = items.map((it, i) => {
    const tr = document.createElement('tr');
    tr.dataset.i = String(i);
    tr.tabIndex = 0;
    const cells = [String(i + 1), it.text, formatTime3(it.start), formatTime3(it.end), formatTime3(it.end - it.start)];
    for (const c of cells) {
      const td = document.createElement('td');
      td.textContent = c;
      tr.append(td);
    }
    frag.append(tr);
    return tr;
  });
  tbody.replaceChildren(frag);
  return rows;
}
