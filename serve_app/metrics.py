"""The service's own Prometheus metrics, through Ray Serve's metrics API.

Ray exports them, with Serve's `deployment`, `replica` and `application` tags added, on each
node's metrics export port (`http://127.0.0.1:<port>/metrics`; names get Ray's `ray_`
prefix: `ray_qwen_asr_requests_total`, ...). docs/DEPLOY.md says what to scrape.
"""

from __future__ import annotations

import time

from ray.serve.metrics import Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "qwen_asr_"
MODEL_STATES = ("not_loaded", "loading", "loaded", "releasing")
LATENCY_BUCKETS_S = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600]
RTF_BUCKETS = [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5]
UNMATCHED_ROUTE = "unmatched"  # a path no route knows: not one series per typo


class ServiceMetrics:
    """Every metric of one ingress replica, created once and recorded from the service layer."""

    def __init__(self) -> None:
        self.requests = Counter(PREFIX + "requests_total", description="HTTP requests answered, by route, method and status.",
                                tag_keys=("route", "method", "status"))
        self.latency = Histogram(PREFIX + "request_seconds", description="Time to answer an HTTP request, by route.",
                                 boundaries=LATENCY_BUCKETS_S, tag_keys=("route",))
        self.audio = Counter(PREFIX + "audio_seconds_total", description="Seconds of audio the models transcribed, by model (a live window counts each time it is decoded).",
                             tag_keys=("model",))
        self.rtf = Histogram(PREFIX + "rtf", description="Real-time factor of file transcriptions (processing / audio).",
                             boundaries=RTF_BUCKETS, tag_keys=("model",))
        self.in_flight = Gauge(PREFIX + "queue_in_flight", description="Model requests this ingress has in flight.")
        self.waiting = Gauge(PREFIX + "queue_waiting", description="Requests waiting for a model to load or be released.")
        self.model_state = Gauge(PREFIX + "model_state", description="1 for each model's current state, 0 for the others.",
                                 tag_keys=("model", "state"))
        self.model_replicas = Gauge(PREFIX + "model_replicas", description="Running replicas per model.",
                                    tag_keys=("model",))
        self.model_load = Gauge(PREFIX + "model_load_seconds", description="How long the loaded replica took to load.",
                                tag_keys=("model",))
        self.stream_sessions = Gauge(PREFIX + "stream_sessions", description="Open streaming WebSocket sessions (/api/transcribe/stream and /v1/realtime).")

    def request_answered(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.inc(tags={"route": route, "method": method, "status": str(status)})
        self.latency.observe(seconds, tags={"route": route})

    def audio_transcribed(self, model: str, seconds: float) -> None:
        """One piece of audio came back from a model (files, /v1 streams and live sessions alike)."""
        if seconds > 0:
            self.audio.inc(seconds, tags={"model": model})

    def file_transcribed(self, model: str, process_seconds: float, audio_seconds: float) -> None:
        if audio_seconds > 0:
            self.rtf.observe(process_seconds / audio_seconds, tags={"model": model})

    def models_seen(self, models: dict[str, dict], queue: dict[str, int]) -> None:
        for model_id, info in models.items():
            for state in MODEL_STATES:
                self.model_state.set(1.0 if info["state"] == state else 0.0, tags={"model": model_id, "state": state})
            self.model_replicas.set(info["replicas"], tags={"model": model_id})
            self.model_load.set(info.get("load_seconds") or 0.0, tags={"model": model_id})
        self.in_flight.set(queue["in_flight"])
        self.waiting.set(queue["waiting"])

    def sessions_open(self, count: int) -> None:
        self.stream_sessions.set(count)


def route_of(scope: Scope) -> str:
    """The matched route's template (`/v1/models/{model_id}`), never the raw path."""
    route = scope.get("route")
    return getattr(route, "path", None) or UNMATCHED_ROUTE


class RequestMetricsMiddleware:
    """Counts and times every HTTP request by its route template and final status."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            self.metrics.request_answered(route_of(scope), scope["method"], status, time.perf_counter() - started)
