// Streaming from the microphone: the hooks the input panel calls around a recording. The stream's
// start message carries the microphone's own sample rate; its raw frames go out as they come.
import { StreamSession } from './streaming.js';
import { app } from './app.js';
import { beginBusy, endBusy, setBusyLabel } from './busy.js';
import { finishResult, restorePrevious } from './outcome.js';
import { toastCancelled } from './notify.js';
import { finalToResult, streamCallbacks, streamFailed, streamStartMessage } from './stream-flow.js';

let micSession = null;

/**
 * The one teardown of a live microphone stream that ends without its final (error, cancel, a
 * recording too short): forget and close the session, stop the microphone keeping what it
 * recorded, leave the busy state and show the previous result again. False when `session` is no
 * longer the live one (someone else already ended it).
 */
function endMicSession(session) {
  if (!session || micSession !== session) return false;
  micSession = null;
  session.abort();
  app.input.abortMic({ keep: true });
  endBusy();
  restorePrevious();
  return true;
}

export const micHooks = {
  streaming: () => app.settings.streaming,
  isStreaming: () => !!micSession,

  /** Before the microphone opens: refuse while another request runs (streaming needs the action bar). */
  beforeStart() {
    if (app.settings.streaming && app.busy) throw new Error('busy');
  },

  /** The microphone runs at `sampleRate`: open the stream at that rate; returns the frame sink. */
  started({ sampleRate }) {
    if (!app.settings.streaming) return null;
    if (app.busy) throw new Error('busy');
    const session = new StreamSession(streamStartMessage(sampleRate), {
      ...streamCallbacks(),
      onError: (err) => { if (endMicSession(session)) streamFailed(err); },
    });
    micSession = session;
    session.startedAt = beginBusy('stream.connecting', () => { if (endMicSession(session)) toastCancelled(); });
    app.result.showPending('stream.connecting', session.startedAt);
    session.start().then(() => {
      if (micSession !== session) return;
      setBusyLabel('stream.live');
      app.result.showLive('', '');
    }).catch((err) => { if (endMicSession(session)) streamFailed(err); });
    return (f32) => session.sendFloat(f32);
  },

  /** The recording stopped (null: too short to keep): finish the stream with its final result. */
  async afterStop(recording) {
    const session = micSession;
    if (!session) return;
    if (!recording) { endMicSession(session); return; }
    setBusyLabel('stream.finalizing');
    try {
      const final = await session.stop();
      if (micSession !== session) return;
      finishResult(finalToResult(final), recording, { total: (performance.now() - session.startedAt) / 1000 });
    } catch (err) {
      if (micSession === session) { restorePrevious(); streamFailed(err); }
    } finally {
      if (micSession === session) { micSession = null; endBusy(); }
    }
  },
};
