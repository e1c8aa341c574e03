// Keyboard shortcuts for the transcript's audio: Space plays / pauses, ← / → seek 2 s (Shift: 10 s),
// `?` opens the overlay that lists every shortcut (Esc or its button closes it). A key pressed in a
// text field, a select, or on a control that uses it itself (buttons, tabs, the timeline, the word
// table, the language list) keeps its own meaning.

export const SEEK_SECONDS = 2;
export const BIG_SEEK_SECONDS = 10;

const TYPING = 'input, textarea, select, [contenteditable=""], [contenteditable="true"]';
const OWNS_SPACE = 'button, a[href], summary, [role="button"], [role="tab"], [role="option"], [role="switch"], canvas, tr[tabindex]';
const OWNS_ARROWS = '[role="tablist"], [role="listbox"], [role="radiogroup"], canvas, tr[tabindex], input[type="range"]';

/** The action of keydown `e` ('toggle' | 'back' | 'forward' | 'help'), or null to leave it alone. */
export function shortcutFor(e) {
  if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return null;
  const target = e.target && e.target.closest ? e.target : null;
  if (target?.closest(TYPING)) return null;
  if (e.key === '?') return 'help';
  if (e.key === ' ' || e.code === 'Space') return target?.closest(OWNS_SPACE) ? null : 'toggle';
  if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
    if (target?.closest(OWNS_ARROWS)) return null;
    return e.key === 'ArrowLeft' ? 'back' : 'forward';
  }
  return null;
}

/**
 * @param {{view: import('./timestamps.js').TimestampView, dialog: HTMLDialogElement}} parts
 *   view: the transcript's player (only used while it has audio); dialog: the shortcut overlay
 */
export function bindShortcuts({ view, dialog }) {
  const playable = () => !view.els.section.hidden && !view.els.play.disabled;
  document.addEventListener('keydown', (e) => {
    const action = shortcutFor(e);
    if (!action) return;
    if (action === 'help') {
      e.preventDefault();
      if (dialog.open) dialog.close(); else dialog.showModal();
      return;
    }
    if (dialog.open || !playable()) return;
    e.preventDefault();
    const step = e.shiftKey ? BIG_SEEK_SECONDS : SEEK_SECONDS;
    if (action === 'toggle') view.toggle();
    else view.seek((view.els.audio.currentTime || 0) + (action === 'back' ? -step : step));
  });
  dialog.querySelector('[data-close]')?.addEventListener('click', () => dialog.close());
  dialog.addEventListener('click', (e) => { if (e.target === dialog) dialog.close(); }); // the backdrop
}
