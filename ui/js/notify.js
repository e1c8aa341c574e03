// Errors and notices: a failed job in the transcript card (with Retry), other errors as toasts with
// the server's own message, the API key field on a 401.
import { t } from './i18n.js';
import { ApiError } from './api.js';
import { toast } from './toast.js';
import { $, app } from './app.js';

/** The API key field only shows when the server asks for one (or a key is already stored). */
export function showApiKeyField(focus = false) {
  const form = $('apikey-form');
  form.hidden = false;
  form.closest('.field-grid').classList.remove('is-single');
  if (focus) $('opt-apikey').focus();
}

export function showError(err, { titleKey } = {}) {
  if (err instanceof ApiError) {
    if (err.code === 'network') return toast({ type: 'error', title: t('error.networkTitle'), message: t('error.network') });
    if (err.code === 'timeout') return toast({ type: 'error', title: t('error.networkTitle'), message: t('error.timeout') });
    if (err.status === 401) {
      toast({ type: 'warn', title: t('error.unauthorizedTitle'), message: err.message || t('error.unauthorized') });
      showApiKeyField(true);
      return null;
    }
    const title = titleKey ? t(titleKey) : t('error.requestFailed', { status: err.status });
    const retry = err.retryAfter ? ` ${t('error.retryAfter', { s: err.retryAfter })}` : '';
    return toast({ type: 'error', title, message: `${err.message}${retry}` });
  }
  return toast({ type: 'error', title: t(titleKey || 'error.title'), message: String(err?.message || err) });
}

export function toastCancelled() {
  toast({ type: 'info', title: t('action.cancelledTitle'), message: t('action.cancelled') });
}

/** A failed job: its error stays in the transcript card with Retry (and the API key field on a 401). */
export function showFailure(err, retry) {
  app.result.showError(err, { onRetry: () => { if (!app.busy) retry(); } });
  if (err?.status === 401) showApiKeyField(true);
}
