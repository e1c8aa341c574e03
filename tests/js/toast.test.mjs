// toast.js: notification markup, roles for screen readers, the 4-toast cap, auto-dismiss timing with
// hover/focus pause, and manual dismissal.
import test from 'node:test';
import assert from 'node:assert/strict';
import { installDom, fire } from './helpers/fake-dom.mjs';
import { installFetch, englishDict } from './helpers/net.mjs';
import { installClock } from './helpers/clock.mjs';

const env = installDom({ languages: ['en'] });
installFetch();
const { initI18n } = await import('../../ui/js/i18n.js');
await initI18n();
const { initToasts, toast } = await import('../../ui/js/toast.js');
const EN = englishDict();

let host;
let clock;
test.beforeEach(() => {
  clock = installClock();
  host = env.document.createElement('div');
  env.document.body.append(host);
});
test.afterEach(() => { clock.uninstall(); host.remove(); });

test('without a host, toast() is a no-op that returns a callable', () => {
  const dismiss = toast({ title: 'x' });
  assert.equal(typeof dismiss, 'function');
  assert.doesNotThrow(dismiss);
  assert.equal(env.document.querySelectorAll('.toast').length, 0);
});

test('an error toast is an alert with title, message, icon and a labelled close button', () => {
  initToasts(host);
  toast({ type: 'error', title: 'Upload failed', message: 'File too large' });
  const el = host.querySelector('.toast');
  assert.ok(el);
  assert.equal(el.dataset.type, 'error');
  assert.equal(el.getAttribute('role'), 'alert');
  assert.equal(el.querySelector('.toast-title').textContent, 'Upload failed');
  assert.equal(el.querySelector('.toast-msg').textContent, 'File too large');
  assert.equal(el.querySelector('svg.toast-icon use').getAttribute('href'), '#i-alert');
  const close = el.querySelector('button.toast-close');
  assert.equal(close.getAttribute('aria-label'), EN['toast.dismiss']);
  assert.equal(close.type, 'button');
});

test('other toasts are polite status messages with their own icons', () => {
  initToasts(host);
  toast({ type: 'success', title: 'ok' });
  toast({ type: 'info', message: 'fyi' });
  toast({ type: 'warn', title: 'careful' });
  toast({ type: 'mystery', title: '?' });
  const els = host.querySelectorAll('.toast');
  assert.deepEqual(els.map((e) => e.getAttribute('role')), ['status', 'status', 'status', 'status']);
  assert.deepEqual(els.map((e) => e.querySelector('use').getAttribute('href')), ['#i-ok', '#i-info', '#i-alert', '#i-info']);
});

test('title and message are optional and rendered as text, never markup', () => {
  initToasts(host);
  toast({ message: '<img src=x onerror=alert(1)>' });
  const el = host.querySelector('.toast');
  assert.equal(el.querySelector('.toast-title'), null);
  const msg = el.querySelector('.toast-msg');
  assert.equal(msg.textContent, '<img src=x onerror=alert(1)>');
  assert.equal(msg.children.length, 0);
  toast({ title: 'only title' });
  assert.equal(host.querySelectorAll('.toast')[1].querySelector('.toast-msg'), null);
});

test('at most four toasts are shown: the oldest goes first', () => {
  initToasts(host);
  for (let i = 1; i <= 6; i += 1) toast({ title: `t${i}`, timeout: 0 });
  assert.deepEqual(host.children.map((c) => c.querySelector('.toast-title').textContent), ['t3', 't4', 't5', 't6']);
});

test('info toasts leave after 5 s, then are removed 300 ms later', () => {
  initToasts(host);
  toast({ title: 'x' });
  const el = host.querySelector('.toast');
  clock.tick(4999);
  assert.ok(!el.classList.contains('is-leaving'));
  clock.tick(1);
  assert.ok(el.classList.contains('is-leaving'));
  assert.ok(el.isConnected);
  clock.tick(300);
  assert.ok(!el.isConnected);
  assert.equal(host.children.length, 0);
});

test('error toasts stay 10 s; an explicit timeout wins; 0 means sticky', () => {
  initToasts(host);
  toast({ type: 'error', title: 'e' });
  toast({ title: 'custom', timeout: 1000 });
  toast({ title: 'sticky', timeout: 0 });
  const [err, custom, sticky] = host.children;
  clock.tick(1000);
  assert.ok(custom.classList.contains('is-leaving'));
  assert.ok(!err.classList.contains('is-leaving'));
  clock.tick(9000);
  assert.ok(err.classList.contains('is-leaving'));
  clock.tick(60000);
  assert.ok(sticky.isConnected);
  assert.ok(!sticky.classList.contains('is-leaving'));
});

test('hovering pauses the timer; leaving restarts the full duration', () => {
  initToasts(host);
  toast({ title: 'x', timeout: 1000 });
  const el = host.querySelector('.toast');
  clock.tick(900);
  fire(el, 'mouseenter');
  clock.tick(5000);
  assert.ok(!el.classList.contains('is-leaving'), 'paused while hovered');
  fire(el, 'mouseleave');
  clock.tick(999);
  assert.ok(!el.classList.contains('is-leaving'));
  clock.tick(1);
  assert.ok(el.classList.contains('is-leaving'));
});

test('keyboard focus inside the toast pauses it too', () => {
  initToasts(host);
  toast({ title: 'x', timeout: 500 });
  const el = host.querySelector('.toast');
  fire(el.querySelector('.toast-close'), 'focusin');
  clock.tick(2000);
  assert.ok(!el.classList.contains('is-leaving'));
});

test('the close button and the returned function dismiss once', () => {
  initToasts(host);
  const dismiss = toast({ title: 'x', timeout: 0 });
  const el = host.querySelector('.toast');
  el.querySelector('.toast-close').click();
  assert.ok(el.classList.contains('is-leaving'));
  const timersAfterFirst = clock.pending;
  dismiss();
  dismiss();
  assert.equal(clock.pending, timersAfterFirst, 'no second removal timer');
  clock.tick(300);
  assert.ok(!el.isConnected);
  assert.doesNotThrow(dismiss, 'dismissing a removed toast is harmless');
});
