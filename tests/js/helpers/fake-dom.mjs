// A small fake DOM for the UI unit tests (no npm packages): elements with attributes, classList,
// dataset, style, text, a mini HTML parser for innerHTML, CSS selector matching (tag, #id, .class,
// [attr], [attr="v"], :checked, descendant and child combinators, comma lists), bubbling events,
// focus, a recording 2D canvas context, fake media elements, storage, fetch and WebSocket.

const VOID_TAGS = new Set(['br', 'img', 'input', 'meta', 'link', 'hr', 'source', 'wbr']);

export class FakeEvent {
  constructor(type, init = {}) {
    this.type = type;
    this.bubbles = init.bubbles ?? true;
    this.defaultPrevented = false;
    this.target = null;
    this.currentTarget = null;
    this._stop = false;
    Object.assign(this, init);
  }

  preventDefault() { this.defaultPrevented = true; }

  stopPropagation() { this._stop = true; }
}

class Listeners {
  constructor() { this.map = new Map(); }

  add(type, fn, opts) {
    if (!fn) return;
    const list = this.map.get(type) || [];
    if (list.some((l) => l.fn === fn)) return;
    list.push({ fn, once: !!(opts && typeof opts === 'object' && opts.once) });
    this.map.set(type, list);
  }

  remove(type, fn) {
    const list = this.map.get(type) || [];
    this.map.set(type, list.filter((l) => l.fn !== fn));
  }

  call(target, ev) {
    const list = (this.map.get(ev.type) || []).slice();
    for (const l of list) {
      if (l.once) this.remove(ev.type, l.fn);
      ev.currentTarget = target;
      l.fn.call(target, ev);
    }
  }

  count(type) { return (this.map.get(type) || []).length; }
}

function toEvent(ev) {
  if (ev instanceof FakeEvent) return ev;
  const out = new FakeEvent(ev.type, { bubbles: !!ev.bubbles });
  return out;
}

export class FakeText {
  constructor(text, doc) {
    this.nodeType = 3;
    this.data = String(text);
    this.parentNode = null;
    this.ownerDocument = doc;
  }

  get textContent() { return this.data; }

  set textContent(v) { this.data = String(v); }

  remove() { if (this.parentNode) this.parentNode._removeChild(this); }
}

function camelToData(name) {
  return `data-${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

function dataToCamel(attr) {
  return attr.slice(5).replace(/-([a-z])/g, (m, c) => c.toUpperCase());
}

class ClassList {
  constructor(el) { this.el = el; }

  _get() { return (this.el.getAttribute('class') || '').split(/\s+/).filter(Boolean); }

  _set(list) { this.el.setAttribute('class', list.join(' ')); }

  contains(c) { return this._get().includes(c); }

  add(...cs) { const l = this._get(); for (const c of cs) if (!l.includes(c)) l.push(c); this._set(l); }

  remove(...cs) { this._set(this._get().filter((c) => !cs.includes(c))); }

  toggle(c, force) {
    const on = force === undefined ? !this.contains(c) : !!force;
    if (on) this.add(c); else this.remove(c);
    return on;
  }

  get length() { return this._get().length; }

  toString() { return this._get().join(' '); }
}

export class FakeContext2D {
  constructor(canvas) {
    this.canvas = canvas;
    this.calls = [];
    this.fillStyle = '#000';
    this.strokeStyle = '#000';
    this.globalAlpha = 1;
    this.font = '';
    this.shadowBlur = 0;
    this.shadowColor = '';
    this.textBaseline = '';
    const rec = (name) => (...args) => { this.calls.push({ name, args, fillStyle: this.fillStyle, globalAlpha: this.globalAlpha }); };
    for (const n of ['setTransform', 'clearRect', 'fillRect', 'beginPath', 'moveTo', 'lineTo', 'stroke', 'fill', 'rect', 'roundRect', 'fillText']) {
      this[n] = rec(n);
    }
  }

  measureText(text) { return { width: String(text).length * 6 }; }

  createLinearGradient() {
    const stops = [];
    return { stops, addColorStop: (o, c) => stops.push([o, c]), isGradient: true };
  }

  named(name) { return this.calls.filter((c) => c.name === name); }

  reset() { this.calls = []; }
}

export class FakeElement {
  constructor(tagName, doc, ns = null) {
    this.nodeType = 1;
    this.localName = String(tagName).toLowerCase();
    this.tagName = ns ? this.localName : this.localName.toUpperCase();
    this.namespaceURI = ns;
    this.ownerDocument = doc;
    this.childNodes = [];
    this.parentNode = null;
    this._attrs = new Map();
    this._listeners = new Listeners();
    this.style = {};
    this.classList = new ClassList(this);
    this.clientWidth = 0;
    this.clientHeight = 0;
    this.scrollTop = 0;
    this.scrollHeight = 0;
    this.offsetWidth = 0;
    this.rect = { left: 0, top: 0, width: 0, height: 0, right: 0, bottom: 0 };
    this.scrolledIntoView = 0;
    this.dataset = new Proxy({}, {
      get: (o, k) => (typeof k === 'string' ? this.getAttribute(camelToData(k)) ?? undefined : undefined),
      set: (o, k, v) => { this.setAttribute(camelToData(k), String(v)); return true; },
      deleteProperty: (o, k) => { this.removeAttribute(camelToData(k)); return true; },
      has: (o, k) => this.hasAttribute(camelToData(k)),
      ownKeys: () => [...this._attrs.keys()].filter((a) => a.startsWith('data-')).map(dataToCamel),
      getOwnPropertyDescriptor: (o, k) => (this.hasAttribute(camelToData(k))
        ? { enumerable: true, configurable: true, value: this.getAttribute(camelToData(k)) } : undefined),
    });
  }

  // ----- attributes -----
  getAttribute(name) { return this._attrs.has(name) ? this._attrs.get(name) : null; }

  setAttribute(name, value) { this._attrs.set(String(name), String(value)); }

  removeAttribute(name) { this._attrs.delete(name); }

  hasAttribute(name) { return this._attrs.has(name); }

  get attributeNames() { return [...this._attrs.keys()]; }

  get id() { return this.getAttribute('id') || ''; }

  set id(v) { this.setAttribute('id', v); }

  get className() { return this.getAttribute('class') || ''; }

  set className(v) { this.setAttribute('class', v); }

  get hidden() { return this.hasAttribute('hidden'); }

  set hidden(v) { if (v) this.setAttribute('hidden', ''); else this.removeAttribute('hidden'); }

  get disabled() { return this.hasAttribute('disabled'); }

  set disabled(v) { if (v) this.setAttribute('disabled', ''); else this.removeAttribute('disabled'); }

  get title() { return this.getAttribute('title') || ''; }

  set title(v) { this.setAttribute('title', v); }

  get lang() { return this.getAttribute('lang') || ''; }

  set lang(v) { this.setAttribute('lang', v); }

  get type() { return this.getAttribute('type') || ''; }

  set type(v) { this.setAttribute('type', v); }

  get href() { return this.getAttribute('href') || ''; }

  set href(v) { this.setAttribute('href', v); }

  get download() { return this.getAttribute('download') || ''; }

  set download(v) { this.setAttribute('download', v); }

  get value() { return this._value ?? this.getAttribute('value') ?? ''; }

  set value(v) { this._value = String(v); }

  get checked() { return this._checked ?? this.hasAttribute('checked'); }

  set checked(v) { this._checked = !!v; }

  get tabIndex() { const v = this.getAttribute('tabindex'); return v === null ? -1 : Number(v); }

  set tabIndex(v) { this.setAttribute('tabindex', String(v)); }

  // ----- tree -----
  get children() { return this.childNodes.filter((n) => n.nodeType === 1); }

  get firstChild() { return this.childNodes[0] || null; }

  get firstElementChild() { return this.children[0] || null; }

  get lastElementChild() { const c = this.children; return c[c.length - 1] || null; }

  get parentElement() { return this.parentNode && this.parentNode.nodeType === 1 ? this.parentNode : null; }

  get nextElementSibling() {
    if (!this.parentNode) return null;
    const sib = this.parentNode.children;
    return sib[sib.indexOf(this) + 1] || null;
  }

  get previousElementSibling() {
    if (!this.parentNode) return null;
    const sib = this.parentNode.children;
    return sib[sib.indexOf(this) - 1] || null;
  }

  get isConnected() {
    let n = this;
    while (n) { if (n === this.ownerDocument.documentElement) return true; n = n.parentNode; }
    return false;
  }

  _adopt(node) {
    if (typeof node === 'string') return [new FakeText(node, this.ownerDocument)];
    if (node.localName === '#fragment') {
      const kids = node.childNodes.slice();
      node.childNodes = [];
      kids.forEach((k) => { k.parentNode = null; });
      return kids;
    }
    if (node.parentNode) node.parentNode._removeChild(node);
    return [node];
  }

  _removeChild(node) {
    const i = this.childNodes.indexOf(node);
    if (i >= 0) this.childNodes.splice(i, 1);
    node.parentNode = null;
  }

  append(...nodes) {
    for (const n of nodes) {
      for (const k of this._adopt(n)) { k.parentNode = this; this.childNodes.push(k); }
    }
  }

  appendChild(n) { this.append(n); return n; }

  prepend(...nodes) {
    const adopted = nodes.flatMap((n) => this._adopt(n));
    adopted.forEach((k) => { k.parentNode = this; });
    this.childNodes.unshift(...adopted);
  }

  insertBefore(node, ref) {
    if (!ref) { this.append(node); return node; }
    const adopted = this._adopt(node);
    const i = this.childNodes.indexOf(ref);
    adopted.forEach((k) => { k.parentNode = this; });
    this.childNodes.splice(i < 0 ? this.childNodes.length : i, 0, ...adopted);
    return node;
  }

  replaceChildren(...nodes) {
    for (const c of this.childNodes) c.parentNode = null;
    this.childNodes = [];
    this.append(...nodes);
  }

  remove() { if (this.parentNode) this.parentNode._removeChild(this); }

  contains(other) {
    let n = other;
    while (n) { if (n === this) return true; n = n.parentNode; }
    return false;
  }

  get textContent() { return this.childNodes.map((n) => n.textContent).join(''); }

  set textContent(v) {
    this.replaceChildren();
    if (v !== '' && v !== null && v !== undefined) this.append(String(v));
  }

  get innerHTML() { return this._innerHTML ?? ''; }

  set innerHTML(html) {
    this._innerHTML = html;
    this.replaceChildren(...parseHTML(String(html), this.ownerDocument));
  }

  // ----- selectors -----
  matches(selector) { return matchesSelector(this, selector); }

  closest(selector) {
    let n = this;
    while (n && n.nodeType === 1) { if (n.matches(selector)) return n; n = n.parentNode; }
    return null;
  }

  _descendants() {
    const out = [];
    const walk = (n) => { for (const c of n.children) { out.push(c); walk(c); } };
    walk(this);
    return out;
  }

  querySelectorAll(selector) { return this._descendants().filter((el) => el.matches(selector)); }

  querySelector(selector) { return this.querySelectorAll(selector)[0] || null; }

  getElementsByTagName(tag) { return this.querySelectorAll(tag); }

  // ----- events -----
  addEventListener(type, fn, opts) { this._listeners.add(type, fn, opts); }

  removeEventListener(type, fn) { this._listeners.remove(type, fn); }

  listenerCount(type) { return this._listeners.count(type); }

  dispatchEvent(event) {
    const ev = toEvent(event);
    ev.target = this;
    let n = this;
    while (n) {
      n._listeners.call(n, ev);
      if (ev._stop || !ev.bubbles) break;
      n = n.parentNode || (n === this.ownerDocument.documentElement ? this.ownerDocument : null);
      if (n === this.ownerDocument) { n._listeners.call(n, ev); break; }
    }
    return !ev.defaultPrevented;
  }

  click() { if (!this.disabled) this.dispatchEvent(new FakeEvent('click')); }

  focus() {
    const doc = this.ownerDocument;
    if (doc.activeElement === this) return;
    const prev = doc.activeElement;
    doc.activeElement = this;
    if (prev && prev !== doc.body) prev.dispatchEvent(new FakeEvent('blur', { bubbles: false }));
    this.dispatchEvent(new FakeEvent('focus', { bubbles: false }));
  }

  blur() {
    const doc = this.ownerDocument;
    if (doc.activeElement !== this) return;
    doc.activeElement = doc.body;
    this.dispatchEvent(new FakeEvent('blur', { bubbles: false }));
  }

  select() { this.selected = true; }

  scrollIntoView() { this.scrolledIntoView += 1; }

  getBoundingClientRect() { return { ...this.rect }; }

  getContext(kind) {
    if (kind !== '2d') return null;
    if (!this._ctx) this._ctx = new FakeContext2D(this);
    return this._ctx;
  }
}

/** <audio>/<video>: paused/currentTime/duration, play() resolving, pause() firing "pause". */
export class FakeMedia extends FakeElement {
  constructor(tag, doc) {
    super(tag, doc);
    this.paused = true;
    this.ended = false;
    this.currentTime = 0;
    this.duration = NaN;
    this.playbackRate = 1;
    this.loads = 0;
    this.playCalls = 0;
  }

  get src() { return this.getAttribute('src') || ''; }

  set src(v) { this.setAttribute('src', v); }

  play() {
    this.playCalls += 1;
    this.paused = false;
    this.dispatchEvent(new FakeEvent('play', { bubbles: false }));
    return Promise.resolve();
  }

  pause() {
    if (this.paused) return;
    this.paused = true;
    this.dispatchEvent(new FakeEvent('pause', { bubbles: false }));
  }

  load() { this.loads += 1; }
}

function parseHTML(html, doc) {
  const root = new FakeElement('#fragment', doc);
  const stack = [root];
  const re = /<\/([a-zA-Z][\w-]*)\s*>|<([a-zA-Z][\w-]*)((?:\s+[^\s=>/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?)*)\s*(\/?)>|([^<]+)/g;
  let m;
  while ((m = re.exec(html))) {
    const top = stack[stack.length - 1];
    if (m[1]) {
      const name = m[1].toLowerCase();
      for (let i = stack.length - 1; i > 0; i -= 1) {
        if (stack[i].localName === name) { stack.length = i; break; }
      }
    } else if (m[2]) {
      const el = doc.createElement(m[2]);
      const attrRe = /([^\s=>/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;
      let a;
      while ((a = attrRe.exec(m[3] || ''))) el.setAttribute(a[1], a[2] ?? a[3] ?? a[4] ?? '');
      top.append(el);
      if (!m[4] && !VOID_TAGS.has(el.localName)) stack.push(el);
    } else if (m[5]) {
      top.append(m[5].replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'));
    }
  }
  return root.childNodes.slice();
}

// ----- selectors -----
function parseCompound(s) {
  const parts = { tag: null, ids: [], classes: [], attrs: [], pseudo: [] };
  const re = /^([a-zA-Z*][\w-]*)|#([\w-]+)|\.([\w-]+)|\[([\w-]+)(?:([~^$*|]?=)\s*(?:"([^"]*)"|'([^']*)'|([^\]\s]+)))?\]|:([\w-]+)/g;
  let m;
  let consumed = 0;
  while ((m = re.exec(s))) {
    if (m.index !== consumed) throw new Error(`unsupported selector: ${s}`);
    consumed = re.lastIndex;
    if (m[1]) parts.tag = m[1].toLowerCase();
    else if (m[2]) parts.ids.push(m[2]);
    else if (m[3]) parts.classes.push(m[3]);
    else if (m[4]) parts.attrs.push({ name: m[4], op: m[5] || null, value: m[6] ?? m[7] ?? m[8] });
    else if (m[9]) parts.pseudo.push(m[9]);
    if (re.lastIndex === m.index) re.lastIndex += 1;
  }
  if (consumed !== s.length) throw new Error(`unsupported selector: ${s}`);
  return parts;
}

function matchCompound(el, p) {
  if (p.tag && p.tag !== '*' && el.localName !== p.tag) return false;
  for (const id of p.ids) if (el.id !== id) return false;
  for (const c of p.classes) if (!el.classList.contains(c)) return false;
  for (const a of p.attrs) {
    const v = el.getAttribute(a.name);
    if (v === null) return false;
    if (a.op === '=' && v !== a.value) return false;
    if (a.op === '~=' && !v.split(/\s+/).includes(a.value)) return false;
    if (a.op === '^=' && !v.startsWith(a.value)) return false;
  }
  for (const ps of p.pseudo) {
    if (ps === 'checked' && !el.checked) return false;
    if (ps === 'disabled' && !el.disabled) return false;
  }
  return true;
}

const selectorCache = new Map();
function parseSelector(sel) {
  if (selectorCache.has(sel)) return selectorCache.get(sel);
  const list = sel.split(',').map((one) => {
    const tokens = one.trim().replace(/\s*>\s*/g, ' > ').split(/\s+/);
    const steps = [];
    let comb = ' ';
    for (const tok of tokens) {
      if (tok === '>') { comb = '>'; continue; }
      steps.push({ comb, parts: parseCompound(tok) });
      comb = ' ';
    }
    return steps;
  });
  selectorCache.set(sel, list);
  return list;
}

function matchSteps(el, steps, i) {
  if (!matchCompound(el, steps[i].parts)) return false;
  if (i === 0) return true;
  const { comb } = steps[i];
  let p = el.parentElement;
  if (comb === '>') return !!p && matchSteps(p, steps, i - 1);
  while (p) { if (matchSteps(p, steps, i - 1)) return true; p = p.parentElement; }
  return false;
}

export function matchesSelector(el, sel) {
  return parseSelector(sel).some((steps) => matchSteps(el, steps, steps.length - 1));
}

export class FakeDocument {
  constructor() {
    this._listeners = new Listeners();
    this.documentElement = new FakeElement('html', this);
    this.head = new FakeElement('head', this);
    this.body = new FakeElement('body', this);
    this.documentElement.append(this.head, this.body);
    this.activeElement = this.body;
    this.visibilityState = 'visible';
    this.execCommandResult = true;
    this.execCommands = [];
  }

  createElement(tag) {
    const name = String(tag).toLowerCase();
    if (name === 'audio' || name === 'video') return new FakeMedia(name, this);
    return new FakeElement(name, this);
  }

  createElementNS(ns, tag) { return new FakeElement(tag, this, ns); }

  createDocumentFragment() { return new FakeElement('#fragment', this); }

  createTextNode(text) { return new FakeText(text, this); }

  getElementById(id) { return this.documentElement.querySelector(`#${id}`); }

  querySelector(sel) { return this.documentElement.matches(sel) ? this.documentElement : this.documentElement.querySelector(sel); }

  querySelectorAll(sel) { return this.documentElement.querySelectorAll(sel); }

  addEventListener(type, fn, opts) { this._listeners.add(type, fn, opts); }

  removeEventListener(type, fn) { this._listeners.remove(type, fn); }

  dispatchEvent(event) {
    const ev = toEvent(event);
    ev.target = this;
    this._listeners.call(this, ev);
    return !ev.defaultPrevented;
  }

  execCommand(cmd) { this.execCommands.push(cmd); return this.execCommandResult; }
}

export class FakeStorage {
  constructor(initial = {}) {
    this.data = new Map(Object.entries(initial));
    this.failing = false;
  }

  _check() { if (this.failing) throw new Error('storage disabled'); }

  getItem(k) { this._check(); return this.data.has(k) ? this.data.get(k) : null; }

  setItem(k, v) { this._check(); this.data.set(k, String(v)); }

  removeItem(k) { this._check(); this.data.delete(k); }

  clear() { this.data.clear(); }

  get length() { return this.data.size; }
}

/** Build an element tree: h('div', {id: 'x', class: 'a'}, [children]) */
export function h(doc, tag, attrs = {}, children = []) {
  const el = doc.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') el.textContent = v;
    else if (k === 'hidden') el.hidden = v;
    else el.setAttribute(k, v);
  }
  for (const c of children) el.append(c);
  return el;
}

/** Dispatch a bubbling event with extra fields (key, clientX, ...) and return it. */
export function fire(el, type, props = {}) {
  const ev = new FakeEvent(type, props);
  el.dispatchEvent(ev);
  return ev;
}

/**
 * Install a fresh fake browser on globalThis: document, window, localStorage, navigator, rAF,
 * ResizeObserver, MutationObserver, URL.createObjectURL. Returns the pieces for the test.
 */
export function installDom({ languages = ['en-US'], secure = true } = {}) {
  const document = new FakeDocument();
  const localStorage = new FakeStorage();
  const winListeners = new Listeners();
  const rafQueue = [];
  const urls = { created: [], revoked: [] };
  const window = {
    document,
    localStorage,
    devicePixelRatio: 1,
    isSecureContext: secure,
    location: { protocol: 'http:', host: 'localhost:8000' },
    addEventListener: (type, fn, opts) => winListeners.add(type, fn, opts),
    removeEventListener: (type, fn) => winListeners.remove(type, fn),
    dispatchEvent: (ev) => { const e = toEvent(ev); e.target = e.target || window; winListeners.call(window, e); return !e.defaultPrevented; },
    matchMedia: () => ({ matches: false, addEventListener() {} }),
  };
  const navigator = { languages, language: languages[0] };
  const g = globalThis;
  g.document = document;
  g.window = window;
  g.localStorage = localStorage;
  Object.defineProperty(g, 'navigator', { value: navigator, configurable: true, writable: true });
  g.requestAnimationFrame = (fn) => { rafQueue.push(fn); return rafQueue.length; };
  g.cancelAnimationFrame = () => {};
  g.ResizeObserver = class { constructor(cb) { this.cb = cb; this.targets = []; } observe(el) { this.targets.push(el); } disconnect() {} };
  g.MutationObserver = class { constructor(cb) { this.cb = cb; } observe() {} disconnect() {} };
  let n = 0;
  URL.createObjectURL = (blob) => { n += 1; const u = `blob:fake/${n}`; urls.created.push({ url: u, blob }); return u; };
  URL.revokeObjectURL = (u) => { urls.revoked.push(u); };
  const runFrames = (max = 1) => {
    for (let i = 0; i < max && rafQueue.length; i += 1) {
      const fns = rafQueue.splice(0);
      fns.forEach((fn) => fn(0));
    }
  };
  return { document, window, localStorage, navigator, urls, rafQueue, runFrames, winListeners };
}

/**
 * Parse the real ui/index.html body into the fake document, so tests use the page's own ids and
 * structure (comments and scripts are dropped). Returns the document.
 */
export async function loadIndexPage(document) {
  const { readFileSync } = await import('node:fs');
  const html = readFileSync(new URL('../../../ui/index.html', import.meta.url), 'utf8');
  const body = html.slice(html.indexOf('<body'), html.lastIndexOf('</body>'));
  const inner = body.slice(body.indexOf('>') + 1)
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<script[\s\S]*?<\/script>/gi, '')
    .replace(/<template[\s\S]*?<\/template>/gi, '');
  document.body.innerHTML = inner;
  return document;
}
