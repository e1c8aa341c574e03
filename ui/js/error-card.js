// The transcript card's error state: a plain-language title per error code, the server's own message
// (never a proxy's HTML page), the code and status, and Retry. It stays until the next job.
import { t, hasKey } from './i18n.js';

/** The i18n key of the card's title for an error (pure): its code's own title, else by status. */
export function errorTitleKey(err) {
  const code = err?.code || '';
  if (code && hasKey(`errcode.${code}`)) return `errcode.${code}`;
  if (err?.foreign) return 'errcode.proxy';
  const status = Number(err?.status) || 0;
  if (status >= 500) return 'errcode.server';
  if (status >= 400) return 'errcode.request';
  return 'error.title';
}

/** The message under the title (pure): the server's words, or ours where it sent none. */
export function errorMessage(err) {
  if (err?.code === 'network') return t('error.network');
  if (err?.code === 'timeout') return t('error.timeout');
  if (err?.foreign) return t('errcode.proxyMsg', { status: err.status });
  const message = String(err?.message || '');
  const retry = err?.retryAfter ? ` ${t('error.retryAfter', { s: err.retryAfter })}` : '';
  return `${message}${retry}`.trim() || t('error.title');
}

/** Fill the card's error block (els: errorTitle, errorMessage, errorMeta, retry). */
export function renderErrorCard(els, err, onRetry) {
  els.errorTitle.textContent = t(errorTitleKey(err));
  els.errorMessage.textContent = errorMessage(err);
  const meta = [err?.code && !/^http_/.test(err.code) ? err.code : '', err?.status ? `HTTP ${err.status}` : ''].filter(Boolean);
  els.errorMeta.textContent = meta.join(' · ');
  els.errorMeta.hidden = !meta.length;
  els.retry.hidden = !onRetry;
  els.retry.onclick = onRetry ? () => onRetry() : null;
}
