"""The Realtime service of one ingress replica: admission (API key, intent, the socket limit it
shares with `/api/transcribe/stream`) and the open sessions."""

from __future__ import annotations

import logging
from contextlib import suppress

from serve_app.realtime_protocol import BadEvent, error_event
from serve_app.services.realtime.session import RealtimeSession
from serve_app.services.streaming import StreamingService
from serve_app.services.streaming.channel import Channel, ClientGone
from serve_app.services.transcription import TranscriptionService
from serve_app.settings import Settings
from serve_app.stream_protocol import CLOSE_POLICY, CLOSE_TRY_AGAIN

logger = logging.getLogger(__name__)

INTENT = "transcription"


class RealtimeChannel(Channel):
    """Realtime events are sent whole: OpenAI's shapes carry explicit nulls (`turn_detection: null`)."""

    def encode(self, message) -> str:
        return message.model_dump_json()


class RealtimeService:
    def __init__(self, settings: Settings, transcription: TranscriptionService, lifecycle,
                 streaming: StreamingService) -> None:
        self.settings = settings
        self.transcription = transcription
        self.lifecycle = lifecycle
        self.streaming = streaming  # its session set is every socket's: one limit for both kinds

    async def serve(self, websocket, *, authorized: bool, intent: str | None, model: str | None) -> None:
        """Runs one WebSocket from accept to close; never raises."""
        try:
            await websocket.accept()
        except Exception:
            logger.info("realtime client left before the handshake completed")
            return
        channel = RealtimeChannel(websocket)

        async def refuse(code: str, message: str, close: int, kind: str = "invalid_request_error") -> None:
            with suppress(ClientGone):
                await channel.send(error_event(code, message, kind=kind))
            await channel.close(close, code)

        if not authorized:
            await refuse("invalid_api_key", "A valid API key is required: send Authorization: Bearer <key>.",
                         CLOSE_POLICY, "authentication_error")
            return
        if intent not in (None, "", INTENT):
            await refuse("unsupported_intent", f"Only ?intent={INTENT} sessions are served here.", CLOSE_POLICY)
            return
        if self.streaming.open_sessions() >= self.streaming.max_sessions:
            await refuse("too_many_sessions", f"All {self.streaming.max_sessions} streaming sessions are in use; "
                         "retry shortly.", CLOSE_TRY_AGAIN, "server_error")
            return
        try:
            session = RealtimeSession(self, channel, model)
        except BadEvent as bad:  # ?model= names a model strict mode refuses
            await refuse(bad.code, bad.message, CLOSE_POLICY)
            return
        self.streaming.opened(session)
        try:
            await session.run()
        finally:
            self.streaming.closed(session)
            await channel.close()
