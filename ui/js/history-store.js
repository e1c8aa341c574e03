// Recent transcripts kept in this browser (IndexedDB, never sent anywhere): each entry holds the
// result (text, language, timestamps, timings), the settings it was made with and its audio, so it
// can be reopened after a reload. Newest first; beyond MAX_ENTRIES the oldest are dropped.

const DB_NAME = 'qwen-asr';
const DB_VERSION = 1;
const STORE = 'history';
export const MAX_ENTRIES = 20;
/** Audio larger than this is not kept (the text and timestamps still are). */
export const MAX_AUDIO_BYTES = 50 * 1024 * 1024;
/** The settings an entry remembers (settings.js keys). */
export const KEPT_SETTINGS = ['language', 'model', 'timestamps', 'streaming', 'dtype', 'context'];

const settled = (req) => new Promise((resolve, reject) => {
  req.onsuccess = () => resolve(req.result);
  req.onerror = () => reject(req.error);
});

const finished = (tx) => new Promise((resolve, reject) => {
  tx.oncomplete = () => resolve();
  tx.onerror = () => reject(tx.error);
  tx.onabort = () => reject(tx.error || new Error('transaction aborted'));
});

export class HistoryStore {
  constructor(idb = globalThis.indexedDB) {
    this.idb = idb;
    this.db = null;
  }

  get available() { return !!this.idb; }

  async _open() {
    if (this.db) return this.db;
    const req = this.idb.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      if (!req.result.objectStoreNames.contains(STORE)) req.result.createObjectStore(STORE, { keyPath: 'id', autoIncrement: true });
    };
    this.db = await settled(req);
    return this.db;
  }

  /** Keep one result; returns the stored entry (with its id). */
  async add({ result, settings, name, blob, duration }) {
    const db = await this._open();
    const entry = {
      savedAt: Date.now(),
      name: String(name || 'audio'),
      duration: Number.isFinite(duration) ? duration : null,
      result,
      settings: Object.fromEntries(KEPT_SETTINGS.map((k) => [k, settings?.[k]])),
      audio: blob && blob.size <= MAX_AUDIO_BYTES ? blob : null,
      audioDropped: !!blob && blob.size > MAX_AUDIO_BYTES,
    };
    const tx = db.transaction(STORE, 'readwrite');
    const store = tx.objectStore(STORE);
    entry.id = await settled(store.add(entry));
    const keys = await settled(store.getAllKeys());
    for (const old of keys.slice(0, Math.max(0, keys.length - MAX_ENTRIES))) store.delete(old);
    await finished(tx);
    return entry;
  }

  /** Every entry, newest first. */
  async list() {
    const db = await this._open();
    const all = await settled(db.transaction(STORE, 'readonly').objectStore(STORE).getAll());
    return all.sort((a, b) => b.id - a.id);
  }

  async get(id) {
    const db = await this._open();
    return settled(db.transaction(STORE, 'readonly').objectStore(STORE).get(id));
  }

  async clear() {
    const db = await this._open();
    const tx = db.transaction(STORE, 'readwrite');
    tx.objectStore(STORE).clear();
    await finished(tx);
  }
}
