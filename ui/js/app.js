// The page's shared state: the settings, the languages, the busy request and the panels. Each flow
// module (transcribe-flow.js, stream-flow.js, mic-flow.js, settings-ui.js, status-ui.js) reads and
// sets it; main.js fills in the panels at boot.
import { loadSettings } from './settings.js';

export const $ = (id) => document.getElementById(id);

export const app = {
  settings: loadSettings(),
  languages: [],
  busy: null, // {onCancel, timer, startedAt} while a request runs
  offline: false, // the status poll cannot reach the service (status-ui.js setOffline)
  lastShown: null, // {result, source} to restore after a failed/cancelled request
  resultAudioUrl: null,
  picker: null,
  input: null,
  result: null,
  perf: null,
  gpu: null,
  history: null, // history-ui.js: recent transcripts in IndexedDB
};
