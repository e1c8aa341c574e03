"""The streaming service of one ingress replica: the session limit and the open sessions."""

from __future__ import annotations

import logging

from serve_app.services.streaming.channel import Channel, StreamError
from serve_app.services.streaming.config import StreamConfig
from serve_app.services.streaming.segmenter import CutPlanner, plan_cuts
from serve_app.services.streaming.session import StreamSession
from serve_app.settings import Settings
from serve_app.stream_protocol import CLOSE_POLICY, CLOSE_TRY_AGAIN
from serve_app.vad.spans import VadParams

logger = logging.getLogger(__name__)


def session_limit(stream_max_sessions: int, ingress_max_ongoing: int) -> int:
    """Open sockets count as ongoing requests of the ingress: they may take at most half its slots."""
    return max(1, min(stream_max_sessions, ingress_max_ongoing // 2))


class StreamingService:
    """Admission (session limit) and the sessions of one ingress replica."""

    def __init__(self, settings: Settings, transcription, lifecycle, cut_planner: CutPlanner = plan_cuts) -> None:
        self.settings = settings
        self.transcription = transcription
        self.metrics = transcription.metrics
        self.lifecycle = lifecycle
        self.config = StreamConfig.from_settings(settings)
        self.cut_planner = cut_planner
        # Silero VAD per session (settings.vad_enabled); None: `cut_planner` and frame energy decide.
        self.vad_params = VadParams.from_settings(settings) if settings.vad_enabled else None
        self.max_sessions = session_limit(settings.stream_max_sessions, settings.max_ongoing_requests)
        if self.max_sessions < settings.stream_max_sessions:
            logger.warning("stream_max_sessions=%d lowered to %d: sockets may hold at most half of the ingress's "
                           "%d ongoing requests", settings.stream_max_sessions, self.max_sessions,
                           settings.max_ongoing_requests)
        # Every open socket session, this service's and the Realtime service's: one limit, one gauge.
        self.active: set = set()

    def open_sessions(self) -> int:
        return len(self.active)

    def opened(self, session) -> None:
        self.active.add(session)
        self.metrics.sessions_open(len(self.active))

    def closed(self, session) -> None:
        self.active.discard(session)
        self.metrics.sessions_open(len(self.active))

    async def serve(self, websocket, *, authorized: bool) -> None:
        """Runs one WebSocket from accept to close; never raises."""
        try:
            await websocket.accept()
        except Exception:
            logger.info("streaming client left before the handshake completed")
            return
        channel = Channel(websocket)
        if not authorized:
            await channel.fail(StreamError("unauthorized", "A valid API key is required: add ?api_key=<key> to the "
                                           "URL or send Authorization: Bearer <key>.", CLOSE_POLICY))
            return
        if self.open_sessions() >= self.max_sessions:
            await channel.fail(StreamError(
                "too_many_sessions",
                f"All {self.max_sessions} streaming sessions are in use; retry shortly or use POST /api/transcribe.",
                CLOSE_TRY_AGAIN))
            return
        session = StreamSession(self, channel)
        self.opened(session)
        try:
            await session.run()
        finally:
            self.closed(session)
