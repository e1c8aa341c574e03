"""Streaming sessions cannot be held forever, and bad control messages get the right close.

Unit tests with Starlette's TestClient and the fake model of tests/test_streaming_unit.py (short
timeouts through the settings), then one real-stack test: sockets that send `start` and audio
before `ready` and then go silent are closed within the bound, and their slots come back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from serve_app.services.streaming.config import StreamConfig
from serve_app.settings import Settings
from serve_app.stream_protocol import MAX_JSON_DEPTH, parse_json_message
from tests.stack import LIFECYCLE_APP, LIFECYCLE_STREAM_IDLE_S, LIFECYCLE_STREAM_SESSIONS
from tests.test_streaming_unit import FakeAsr, fake_app, pcm, receive_until, speech

STREAM = "/api/transcribe/stream"
IDLE = 0.6


def closed_code(ws) -> int:
    with pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_json()
    return closed.value.code


# ---------------------------------------------------------------------- settings
def test_timeouts_are_settings_with_the_old_defaults():
    settings = Settings()
    assert (settings.stream_start_timeout_s, settings.stream_idle_timeout_s) == (30.0, 60.0)
    config = StreamConfig.from_settings(Settings(stream_start_timeout_s=2, stream_idle_timeout_s=3))
    assert (config.start_timeout_s, config.idle_timeout_s) == (2.0, 3.0)


# ---------------------------------------------------------------------- idle before ready
def test_audio_before_ready_then_silence_on_a_cold_model_is_closed_after_ready():
    """The case of the issue: start + audio while the model loads, then nothing. The load itself
    (longer than the idle timeout) does not close the session; silence after `ready` does."""
    load = 1.5
    app, _, lifecycle = fake_app(asr=FakeAsr(delay=load), running=0, stream_idle_timeout_s=IDLE)
    with TestClient(app) as client, client.websocket_connect(STREAM) as ws:
        ws.send_json({"type": "start"})
        ws.send_bytes(pcm(speech(0.3)))  # buffered before ready: counts from its arrival
        began = time.monotonic()
        assert ws.receive_json()["type"] == "loading"
        assert ws.receive_json()["type"] == "ready"
        ready = time.monotonic()
        assert ready - began >= load - 0.1  # nothing closed it while the model loaded
        message = ws.receive_json()
        closed = time.monotonic()
        assert message["type"] == "error" and message["code"] == "idle_timeout", message
        assert closed_code(ws) == 1008
        assert IDLE - 0.1 <= closed - ready <= IDLE + 1.0
        assert len(app.state.services.streaming.active) == 0
    assert lifecycle.counters.total() == 0


def test_start_and_audio_before_ready_on_a_warm_model_then_silence_is_closed():
    """Warm model: `ready` races the client's first frames; the deadline still applies."""
    app, _, _ = fake_app(stream_idle_timeout_s=IDLE)
    with TestClient(app) as client, client.websocket_connect(STREAM) as ws:
        began = time.monotonic()
        ws.send_json({"type": "start"})
        ws.send_bytes(pcm(speech(0.2)))
        ws.send_bytes(pcm(speech(0.2)))
        seen, message = receive_until(ws, {"error", "final"})
        assert message["code"] == "idle_timeout" and "ready" in [m["type"] for m in seen]
        assert closed_code(ws) == 1008
        assert time.monotonic() - began <= IDLE + 1.5
        assert len(app.state.services.streaming.active) == 0


def test_no_start_is_closed_after_the_start_timeout():
    app, _, _ = fake_app(stream_start_timeout_s=0.4)
    with TestClient(app) as client, client.websocket_connect(STREAM) as ws:
        began = time.monotonic()
        message = ws.receive_json()
        assert message["code"] == "start_timeout" and "0.4 s" in message["message"]
        assert closed_code(ws) == 1008
        assert 0.3 <= time.monotonic() - began <= 1.5


def test_a_client_that_keeps_sending_is_not_closed():
    app, _, _ = fake_app(stream_idle_timeout_s=IDLE)
    with TestClient(app) as client, client.websocket_connect(STREAM) as ws:
        ws.send_json({"type": "start"})
        assert ws.receive_json()["type"] == "ready"
        for _ in range(8):  # 8 x 0.25 s = 2 s: over three idle timeouts in all, never one without audio
            ws.send_bytes(pcm(speech(0.25)))
            time.sleep(0.25)
        ws.send_json({"type": "stop"})
        _seen, final = receive_until(ws, {"final", "error"})
        assert final["type"] == "final", final
        assert final["duration_seconds"] == pytest.approx(2.0, abs=0.01)
        assert closed_code(ws) == 1000


def test_silent_sessions_before_ready_give_their_slots_back():
    """With every slot held by start-then-silent clients, a new client is admitted once they time out."""
    app, _, _ = fake_app(asr=FakeAsr(delay=0.3), running=0, stream_max_sessions=2, stream_idle_timeout_s=IDLE)
    with TestClient(app) as client:
        with client.websocket_connect(STREAM) as a, client.websocket_connect(STREAM) as b:
            for ws in (a, b):
                ws.send_json({"type": "start"})
                ws.send_bytes(pcm(speech(0.2)))
            with client.websocket_connect(STREAM) as c:
                assert c.receive_json()["code"] == "too_many_sessions"
                assert closed_code(c) == 1013
            for ws in (a, b):
                _seen, message = receive_until(ws, {"error"})
                assert message["code"] == "idle_timeout"
                assert closed_code(ws) == 1008
        assert len(app.state.services.streaming.active) == 0
        with client.websocket_connect(STREAM) as d:
            d.send_json({"type": "start"})
            assert receive_until(d, {"ready", "error"})[1]["type"] == "ready"


# ---------------------------------------------------------------------- bad control messages
def test_deep_json_is_invalid_json_not_internal_error():
    app, _, _ = fake_app()
    with TestClient(app) as client:
        for prefix in ([], [{"type": "start"}]):
            with client.websocket_connect(STREAM) as ws:
                for m in prefix:
                    ws.send_json(m)
                    assert ws.receive_json()["type"] == "ready"
                ws.send_text("[" * 10_000 + "]" * 10_000)
                message = ws.receive_json()
                assert message["code"] == "invalid_json", message
                assert closed_code(ws) == 1003
        with client.websocket_connect(STREAM) as ws:  # deep inside an otherwise valid start
            ws.send_text('{"type": "start", "context": ' + "[" * 100 + "]" * 100 + "}")
            assert ws.receive_json()["code"] == "invalid_json"
            assert closed_code(ws) == 1003


def test_parse_json_message_bounds_depth():
    assert parse_json_message('{"type": "start", "a": [[1]]}') == {"type": "start", "a": [[1]]}
    ok = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert parse_json_message(ok) is not None
    for text in ("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), "{" * 50_000, "[" * 5000 + "]" * 5000):
        with pytest.raises(ValueError, match="deeper|JSON"):
            parse_json_message(text)


@pytest.mark.parametrize("message", [
    {"type": "x" * 1_000_000},
    {"type": "start", "format": "y" * 1_000_000},
    {"type": "start", "model": "z" * 1_000_000},
    {"type": "start", "language": "w" * 1_000_000},
])
def test_stream_errors_do_not_echo_a_megabyte(message):
    app, _, _ = fake_app()
    with TestClient(app) as client, client.websocket_connect(STREAM) as ws:
        ws.send_text(json.dumps(message))
        error = ws.receive_json()
        assert error["type"] == "error" and len(error["message"]) <= 1000, len(error["message"])
        assert closed_code(ws) in (1003, 1008)


# ---------------------------------------------------------------------- the real stack
@pytest.fixture(scope="module")
def idle_app(stack):
    """The lifecycle app: short streaming deadlines and two sessions (see tests/stack.py)."""
    return stack.ws_url(STREAM, LIFECYCLE_APP)


async def _recv(ws, timeout: float) -> dict:
    async with asyncio.timeout(timeout):
        return json.loads(await ws.recv())


async def _silent_after_audio(url: str):
    from websockets.asyncio.client import connect

    ws = await connect(url, open_timeout=120)
    await ws.send(json.dumps({"type": "start", "format": "pcm_s16le"}))
    await ws.send(pcm(speech(0.5)))  # before `ready`; then nothing at all
    return ws


async def test_stack_pre_ready_silent_sockets_are_closed_and_free_their_slots(idle_app):
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    sockets = await asyncio.gather(*(_silent_after_audio(idle_app) for _ in range(LIFECYCLE_STREAM_SESSIONS)))
    try:
        # the slots are taken: one more is refused
        extra = await connect(idle_app, open_timeout=120)
        refused = await _recv(extra, 60)
        assert refused["code"] == "too_many_sessions"
        await extra.close()

        async def until_closed(ws) -> tuple[list[dict], float | None]:
            seen, ready_at = [], None
            with contextlib.suppress(ConnectionClosed):
                while True:
                    message = await _recv(ws, 300)
                    seen.append(message)
                    if message["type"] == "ready":
                        ready_at = time.monotonic()
            return seen, ready_at

        results = await asyncio.gather(*(until_closed(ws) for ws in sockets))
        closed_at = time.monotonic()
        for (seen, ready_at), ws in zip(results, sockets):
            assert [m["type"] for m in seen][-2:] == ["ready", "error"], seen
            assert seen[-1]["code"] == "idle_timeout"
            assert ws.close_code == 1008
            assert closed_at - ready_at <= LIFECYCLE_STREAM_IDLE_S + 30, closed_at - ready_at
    finally:
        for ws in sockets:
            await ws.close()

    # the slots are free again: a new client is admitted at once
    fresh = await connect(idle_app, open_timeout=120)
    try:
        await fresh.send(json.dumps({"type": "start", "format": "pcm_s16le"}))
        first = await _recv(fresh, 120)
        assert first["type"] in ("ready", "loading"), first
    finally:
        await fresh.close()

    # and one that never sends `start` is closed after the start timeout
    silent = await connect(idle_app, open_timeout=120)
    began = time.monotonic()
    message = await _recv(silent, 60)
    assert message["code"] == "start_timeout" and time.monotonic() - began <= LIFECYCLE_STREAM_IDLE_S + 30
    with contextlib.suppress(ConnectionClosed):
        await _recv(silent, 30)
    assert silent.close_code == 1008
