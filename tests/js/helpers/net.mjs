// Fake network for the UI tests: a fetch that records every request and answers from a route table
// with real Response objects, and a controllable WebSocket.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const I18N_DIR = fileURLToPath(new URL('../../../ui/i18n/', import.meta.url));

export function jsonResponse(body, { status = 200, headers = {} } = {}) {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

export function textResponse(body, { status = 200, headers = {} } = {}) {
  return new Response(body, { status, headers: { 'content-type': 'text/plain', ...headers } });
}

/**
 * routes: {"GET /api/status": handler | Response-producing fn | object (sent as JSON)}; a handler gets
 * (request) and returns a Response (or throws to simulate a network error). Unknown routes give 404.
 * The UI's translation files under /ui/i18n/ are served from disk unless a route overrides them.
 */
export function installFetch(routes = {}) {
  const calls = [];
  const fetch = async (url, init = {}) => {
    const method = (init.method || 'GET').toUpperCase();
    const headers = new Headers(init.headers || {});
    const req = { url: String(url), method, headers, body: init.body, signal: init.signal, cache: init.cache };
    calls.push(req);
    const key = `${method} ${String(url).split('?')[0]}`;
    let route = routes[key];
    if (route === undefined && method === 'GET' && String(url).startsWith('/ui/i18n/')) {
      const file = String(url).slice('/ui/i18n/'.length);
      try { return new Response(readFileSync(I18N_DIR + file, 'utf8'), { headers: { 'content-type': 'application/json' } }); } catch {
        return new Response('missing', { status: 404 });
      }
    }
    if (route === undefined) return new Response('not found', { status: 404, statusText: 'Not Found' });
    if (typeof route === 'function') route = await route(req);
    if (route instanceof Response) return route;
    return jsonResponse(route);
  };
  globalThis.fetch = fetch;
  return { calls, routes, fetch };
}

export function englishDict() {
  return JSON.parse(readFileSync(`${I18N_DIR}en.json`, 'utf8'));
}

export class FakeWebSocket {
  static CONNECTING = 0;

  static OPEN = 1;

  static CLOSING = 2;

  static CLOSED = 3;

  static instances = [];

  static failNext = null;

  constructor(url) {
    if (FakeWebSocket.failNext) { const e = FakeWebSocket.failNext; FakeWebSocket.failNext = null; throw e; }
    this.url = url;
    this.readyState = FakeWebSocket.CONNECTING;
    this.sent = [];
    this.bufferedAmount = 0;
    this.closedWith = null;
    this.onopen = null;
    this.onmessage = null;
    this.onclose = null;
    this.onerror = null;
    FakeWebSocket.instances.push(this);
  }

  send(data) {
    if (this.readyState !== FakeWebSocket.OPEN) throw new Error(`send while readyState=${this.readyState}`);
    this.sent.push(data);
  }

  close(code = 1000, reason = '') {
    this.closedWith = { code, reason };
    this.readyState = FakeWebSocket.CLOSED;
  }

  /** The JSON control messages the client sent, parsed. */
  get messages() { return this.sent.filter((d) => typeof d === 'string').map((d) => JSON.parse(d)); }

  /** The binary frames, as Int16Arrays. */
  get frames() { return this.sent.filter((d) => typeof d !== 'string').map((d) => new Int16Array(d)); }

  // ----- server side -----
  serverOpen() { this.readyState = FakeWebSocket.OPEN; this.onopen?.({}); }

  serverSend(msg) { this.onmessage?.({ data: typeof msg === 'string' ? msg : JSON.stringify(msg) }); }

  serverBinary(buf) { this.onmessage?.({ data: buf }); }

  serverClose(code = 1000, reason = '') {
    this.readyState = FakeWebSocket.CLOSED;
    this.onclose?.({ code, reason });
  }

  static get last() { return FakeWebSocket.instances[FakeWebSocket.instances.length - 1]; }

  static install() {
    FakeWebSocket.instances = [];
    FakeWebSocket.failNext = null;
    globalThis.WebSocket = FakeWebSocket;
    return FakeWebSocket;
  }
}

/** Let pending promise callbacks run (several turns of the microtask + macrotask queue). */
export async function flush(turns = 5) {
  for (let i = 0; i < turns; i += 1) await new Promise((r) => setImmediate(r));
}
