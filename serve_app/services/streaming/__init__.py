"""Streaming recognition on the transformers backend: an incremental recognizer over WebSocket.

`qwen-asr`'s own streaming API exists only on vLLM, so streaming is built here from plain
`transcribe` calls, which go through the ASR deployment's `@serve.batch` like file requests:

* The audio since the last cut is the open *window*. Every `stream_chunk_seconds` of new audio
  the window is decoded again and sent as the `unstable_text` of a `partial`.
* The window is cut at a quiet point (a pause of >= 0.3 s) once it holds at least
  `min_segment_seconds` of audio, or at its quietest 100 ms once it reaches
  `stream_window_seconds`. The audio before the cut is decoded on its own, in the same batch as
  the new window, and its text is *committed*: appended to `stable_text`, never changed again.
  Audio before the cut is dropped, so cost per tick and memory stay bounded for an hour.
* On `stop` the rest is decoded (or the last hypothesis reused when it already covers all the
  audio) and `final` is sent. An utterance shorter than `min_segment_seconds` is never cut, so its
  final text is exactly the offline `/api/transcribe` text for the same audio.

Pure logic is separate from the socket: `segmenter` (where to cut), `pcm` (PCM framing and
resampling), `recognizer` (committed text + open window), `inbound` (message checks, deadlines).
`session` runs one WebSocket: a reader task, a dispatcher (protocol checks) and a worker (model
calls through `decoding` and `alignment`); `service` holds the session limit and open sessions.
"""

from serve_app.services.streaming.channel import StreamError
from serve_app.services.streaming.config import StreamConfig
from serve_app.services.streaming.service import StreamingService, session_limit
from serve_app.services.streaming.session import StreamSession

__all__ = ["StreamConfig", "StreamError", "StreamSession", "StreamingService",
           "session_limit"]
