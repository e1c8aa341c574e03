// Recognition-language combobox: Auto-detect first, then the groups Common / Chinese dialects / Other,
// with a search-as-you-type filter (code, English name, native name and the name in the UI language;
// simplified and traditional Han forms match each other).
import { t, getUiLanguage } from './i18n.js';
import { foldHan } from './han-fold.js';

const GROUPS = [
  { id: 'common', key: 'lang.groupCommon' },
  { id: 'dialect', key: 'lang.groupDialect' },
  { id: 'other', key: 'lang.groupOther' },
];

/** Search form of a name: no accents, lower case, traditional Han characters as simplified. */
export function fold(s) {
  return foldHan(String(s || '').normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase());
}

let displayNames = null;
let displayNamesLang = null;
function localName(code) {
  const ui = getUiLanguage();
  if (displayNamesLang !== ui) {
    try { displayNames = new Intl.DisplayNames([ui], { type: 'language', fallback: 'none' }); } catch { displayNames = null; }
    displayNamesLang = ui;
  }
  if (!displayNames) return null;
  try { return displayNames.of(code) || null; } catch { return null; }
}

/** Labels for one language entry in the current UI language: {main, sub}. */
export function labelFor(lang) {
  if (!lang) return { main: '', sub: '' };
  if (lang.group === 'auto' || lang.code === 'auto') return { main: t('lang.auto'), sub: t('lang.autoSub') };
  const ui = getUiLanguage();
  let main = null;
  if (lang.group === 'dialect') main = ui === 'en' ? lang.name : lang.native_name || lang.name;
  else {
    const n = localName(lang.code);
    main = n && n.toLowerCase() !== String(lang.code).toLowerCase() ? n : null;
    if (!main) main = ui === 'en' ? lang.name : lang.native_name || lang.name;
  }
  const subs = [];
  if (lang.native_name && lang.native_name !== main) subs.push(lang.native_name);
  if (lang.name && lang.name !== main && !subs.includes(lang.name)) subs.push(lang.name);
  return { main, sub: subs.join(' · ') };
}

export class LanguagePicker {
  constructor({ root, input, toggle, pop, listbox, empty, onChange }) {
    Object.assign(this, { root, input, toggle, pop, listbox, empty, onChange });
    this.languages = [];
    this.value = 'auto';
    this.open = false;
    this.activeIndex = -1;
    this.visible = [];
    this._bind();
  }

  setLanguages(list, value) {
    this.languages = Array.isArray(list) ? list.slice() : [];
    if (!this.languages.some((l) => l.code === 'auto')) {
      this.languages.unshift({ code: 'auto', name: 'Auto-detect', native_name: 'Auto', group: 'auto', aligner: true });
    }
    if (value !== undefined) this.value = this.languages.some((l) => l.code === value) ? value : 'auto';
    this.render();
    this._showValue();
  }

  get selected() {
    return this.languages.find((l) => l.code === this.value) || null;
  }

  setValue(code, { silent = false } = {}) {
    if (!this.languages.some((l) => l.code === code)) return;
    this.value = code;
    this._markSelected();
    this._showValue();
    if (!silent) this.onChange?.(code, this.selected);
  }

  /** Re-render after a UI language change. */
  relabel() {
    this.render(this.open ? this.input.value : '');
    if (!this.open) this._showValue();
  }

  _showValue() {
    const lab = labelFor(this.selected);
    this.input.value = lab.main || '';
    this.input.title = lab.sub ? `${lab.main} — ${lab.sub}` : lab.main || '';
  }

  render(filter = '') {
    const q = fold(filter.trim());
    const matches = (l) => {
      if (!q) return true;
      const lab = labelFor(l);
      return [l.code, l.name, l.native_name, lab.main, lab.sub].some((s) => fold(s).includes(q));
    };
    this.listbox.replaceChildren();
    this.visible = [];
    const optionEl = (l) => {
      const li = document.createElement('li');
      li.className = `option${l.group === 'auto' ? ' option-auto' : ''}`;
      li.id = `lang-opt-${l.code.replace(/[^a-zA-Z0-9_-]/g, '_')}`;
      li.setAttribute('role', 'option');
      li.dataset.code = l.code;
      li.setAttribute('aria-selected', String(l.code === this.value));
      const lab = labelFor(l);
      const main = document.createElement('span');
      main.className = 'opt-main';
      main.textContent = lab.main;
      const sub = document.createElement('span');
      sub.className = 'opt-sub';
      sub.textContent = lab.sub;
      const code = document.createElement('span');
      code.className = 'opt-code';
      code.textContent = l.code;
      li.innerHTML = '<svg class="icon opt-check" aria-hidden="true"><use href="#i-check"/></svg>';
      li.append(main, sub, code);
      this.visible.push(li);
      return li;
    };
    const auto = this.languages.filter((l) => l.group === 'auto');
    for (const l of auto) if (matches(l)) this.listbox.append(optionEl(l));
    for (const g of GROUPS) {
      const items = this.languages.filter((l) => l.group === g.id);
      const shown = items.filter(matches);
      if (!shown.length) continue;
      const wrap = document.createElement('li');
      wrap.setAttribute('role', 'presentation');
      const ul = document.createElement('ul');
      ul.setAttribute('role', 'group');
      ul.dataset.group = g.id;
      const labelId = `lang-group-${g.id}`;
      ul.setAttribute('aria-labelledby', labelId);
      const head = document.createElement('li');
      head.setAttribute('role', 'presentation');
      head.className = 'group-label';
      head.id = labelId;
      head.textContent = t(g.key);
      const count = document.createElement('span');
      count.className = 'group-count';
      count.textContent = String(items.length);
      head.append(count);
      ul.append(head);
      for (const l of shown) ul.append(optionEl(l));
      wrap.append(ul);
      this.listbox.append(wrap);
    }
    // Languages whose group is unknown still get listed (in "Other") rather than silently dropped.
    const known = new Set(['auto', ...GROUPS.map((g) => g.id)]);
    const stray = this.languages.filter((l) => !known.has(l.group) && matches(l));
    if (stray.length) {
      const other = this.listbox.querySelector('ul[data-group="other"]');
      if (other) stray.forEach((l) => other.append(optionEl(l)));
      else stray.forEach((l) => this.listbox.append(optionEl(l)));
    }
    this.empty.hidden = this.visible.length > 0;
    this.activeIndex = -1;
    this.input.removeAttribute('aria-activedescendant');
  }

  _markSelected() {
    this.listbox.querySelectorAll('[role="option"]').forEach((el) => el.setAttribute('aria-selected', String(el.dataset.code === this.value)));
  }

  _setActive(i, { scroll = true } = {}) {
    if (!this.visible.length) return;
    const n = this.visible.length;
    this.activeIndex = ((i % n) + n) % n;
    this.visible.forEach((el, k) => el.classList.toggle('is-active', k === this.activeIndex));
    const el = this.visible[this.activeIndex];
    this.input.setAttribute('aria-activedescendant', el.id);
    if (scroll) el.scrollIntoView({ block: 'nearest' });
  }

  openList() {
    if (this.open) return;
    this.open = true;
    this.root.dataset.open = 'true';
    this.pop.hidden = false;
    this.input.setAttribute('aria-expanded', 'true');
    this.input.value = '';
    this.render('');
    const idx = this.visible.findIndex((el) => el.dataset.code === this.value);
    if (idx >= 0) this._setActive(idx);
  }

  closeList({ restore = true } = {}) {
    if (!this.open) return;
    this.open = false;
    this.root.dataset.open = 'false';
    this.pop.hidden = true;
    this.input.setAttribute('aria-expanded', 'false');
    this.input.removeAttribute('aria-activedescendant');
    if (restore) this._showValue();
  }

  _choose(code) {
    this.closeList({ restore: false });
    this.setValue(code);
  }

  _bind() {
    this.input.addEventListener('focus', () => { this.input.select(); });
    this.input.addEventListener('click', () => this.openList());
    this.input.addEventListener('input', () => {
      if (!this.open) {
        const typed = this.input.value;
        this.openList();
        this.input.value = typed;
      }
      this.render(this.input.value);
      if (this.visible.length) this._setActive(0, { scroll: false });
    });
    this.input.addEventListener('keydown', (e) => {
      switch (e.key) {
        case 'ArrowDown':
          e.preventDefault();
          if (!this.open) this.openList(); else this._setActive(this.activeIndex + 1);
          break;
        case 'ArrowUp':
          e.preventDefault();
          if (!this.open) this.openList(); else this._setActive(this.activeIndex - 1);
          break;
        case 'Home':
          if (this.open) { e.preventDefault(); this._setActive(0); }
          break;
        case 'End':
          if (this.open) { e.preventDefault(); this._setActive(this.visible.length - 1); }
          break;
        case 'Enter':
          if (this.open) {
            e.preventDefault();
            const el = this.visible[this.activeIndex] || (this.visible.length === 1 ? this.visible[0] : null);
            if (el) this._choose(el.dataset.code);
          } else {
            e.preventDefault();
            this.openList();
          }
          break;
        case 'Escape':
          if (this.open) { e.preventDefault(); e.stopPropagation(); this.closeList(); }
          break;
        case 'Tab':
          this.closeList();
          break;
        default:
          break;
      }
    });
    this.input.addEventListener('blur', () => {
      // a click inside the list keeps focus (mousedown is prevented there)
      setTimeout(() => { if (document.activeElement !== this.input) this.closeList(); }, 0);
    });
    this.pop.addEventListener('mousedown', (e) => e.preventDefault());
    this.listbox.addEventListener('click', (e) => {
      const opt = e.target.closest('[role="option"]');
      if (opt) this._choose(opt.dataset.code);
    });
    this.toggle.addEventListener('mousedown', (e) => e.preventDefault());
    this.toggle.addEventListener('click', () => {
      if (this.open) this.closeList();
      else { this.input.focus(); this.openList(); }
    });
  }
}
