"""OpenAI's Realtime API, transcription sessions (`WebSocket /v1/realtime?intent=transcription`).

Wire-compatible with the official `openai` SDK (`client.realtime.connect`): the events are in
serve_app.realtime_protocol. Every model call goes through `TranscriptionService.recognize`, like
files and streams; turns come from Silero VAD (`turns`); `session` runs one socket; `service`
holds admission (API key, intent, the socket limit shared with `/api/transcribe/stream`).
"""

from serve_app.services.realtime.service import RealtimeService

__all__ = ["RealtimeService"]
