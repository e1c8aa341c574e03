// Demo mode said plainly (the banner under the header when /api/status reports demo: true) and the
// built-in sample clips (GET /api/samples): one click loads a clip as the file and picks its language.
import { t } from './i18n.js';
import { api } from './api.js';
import { toast } from './toast.js';
import { labelFor } from './language-picker.js';
import { $, app } from './app.js';

let samples = [];

/** Show or hide the demo banner from a status document. */
export function applyDemo(status) {
  const demo = status?.demo === true;
  $('demo-banner').hidden = !demo;
  document.documentElement.dataset.demo = String(demo);
}

/** The label of a sample's button: its language in the UI language. */
function sampleLabel(sample) {
  const entry = app.languages.find((l) => l.code === sample.language);
  return entry ? labelFor(entry).main : sample.language;
}

export function renderSamples() {
  const list = $('samples-list');
  list.replaceChildren();
  for (const sample of samples) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'chip-btn sample-btn';
    b.dataset.sample = sample.id;
    b.dataset.needsServer = '';
    b.disabled = app.offline === true;
    b.textContent = sampleLabel(sample);
    b.title = sample.transcript;
    b.setAttribute('aria-label', t('samples.aria', { lang: sampleLabel(sample), text: sample.transcript }));
    b.addEventListener('click', () => loadSample(sample, b));
    list.append(b);
  }
  $('samples').hidden = !samples.length;
}

export async function loadSamples() {
  try {
    const data = await api.samples();
    samples = data?.available ? data.samples || [] : [];
  } catch {
    samples = [];
  }
  renderSamples();
}

async function loadSample(sample, button) {
  if (app.busy) return;
  button.disabled = true;
  try {
    const blob = await api.sampleAudio(sample.url);
    const file = new File([blob], `sample-${sample.id}.wav`, { type: 'audio/wav' });
    app.input.selectTab('upload');
    app.input.setFile(file);
    app.picker.setValue(sample.language);
  } catch (err) {
    toast({ type: 'error', title: t('samples.failed'), message: String(err?.message || err) });
  } finally {
    button.disabled = app.offline === true;
  }
}
