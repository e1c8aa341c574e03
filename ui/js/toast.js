// Toast notifications: readable, dismissible, announced politely to screen readers.
import { t } from './i18n.js';

const ICONS = { error: 'i-alert', success: 'i-ok', info: 'i-info', warn: 'i-alert' };
let host = null;

export function initToasts(el) {
  host = el;
}

/**
 * @param {{type?: 'error'|'success'|'info'|'warn', title?: string, message?: string, timeout?: number}} opts
 * @returns {() => void} dismiss function
 */
export function toast({ type = 'info', title = '', message = '', timeout } = {}) {
  if (!host) return () => {};
  const el = document.createElement('div');
  el.className = 'toast';
  el.dataset.type = type;
  el.setAttribute('role', type === 'error' ? 'alert' : 'status');
  const ms = timeout ?? (type === 'error' ? 10000 : 5000);

  const icon = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  icon.setAttribute('class', 'icon toast-icon');
  icon.setAttribute('aria-hidden', 'true');
  const use = document.createElementNS('http://www.w3.org/2000/svg', 'use');
  use.setAttribute('href', `#${ICONS[type] || ICONS.info}`);
  icon.append(use);

  const body = document.createElement('div');
  body.className = 'toast-body';
  if (title) {
    const h = document.createElement('p');
    h.className = 'toast-title';
    h.textContent = title;
    body.append(h);
  }
  if (message) {
    const p = document.createElement('p');
    p.className = 'toast-msg';
    p.textContent = message;
    body.append(p);
  }

  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'icon-btn toast-close';
  close.setAttribute('aria-label', t('toast.dismiss'));
  close.innerHTML = '<svg class="icon" aria-hidden="true"><use href="#i-x"/></svg>';

  el.append(icon, body, close);
  host.append(el);
  while (host.children.length > 4) host.firstElementChild.remove();

  let timer = null;
  const dismiss = () => {
    if (!el.isConnected || el.classList.contains('is-leaving')) return;
    clearTimeout(timer);
    el.classList.add('is-leaving');
    setTimeout(() => el.remove(), 300);
  };
  close.addEventListener('click', dismiss);
  const arm = () => { if (ms > 0) timer = setTimeout(dismiss, ms); };
  el.addEventListener('mouseenter', () => clearTimeout(timer));
  el.addEventListener('mouseleave', arm);
  el.addEventListener('focusin', () => clearTimeout(timer));
  arm();
  return dismiss;
}
