"""WebSocket /api/transcribe/stream against the real stack (Ray Serve on CPU, tiny checkpoints)."""

from __future__ import annotations

import asyncio
import contextlib
import json

import httpx
import numpy as np
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from serve_app.services.streaming import StreamConfig, session_limit
from serve_app.settings import Settings
from tests.audio_fixtures import load_16k
from tests.stack import CAPPED_APP, CAPPED_SLOTS, LIFECYCLE_APP, MAIN_APP, expected_text

SMALL = "qwen3-asr-0.6b"
SCRIPTED = expected_text("qwen3-asr-1.7b")  # the main app's default model
SR = 16_000
STREAM = "/api/transcribe/stream"


def ws_url(stack, app: str = MAIN_APP) -> str:
    return stack.ws_url(STREAM, app)


def f32(samples: np.ndarray) -> bytes:
    return np.asarray(samples, "<f4").tobytes()


def s16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


async def read_until_closed(ws, timeout: float = 180) -> list[dict]:
    messages = []
    try:
        async with asyncio.timeout(timeout):
            async for raw in ws:
                messages.append(json.loads(raw))
    except ConnectionClosed:
        pass
    return messages


VAD_NOTICES = ("speech_started", "speech_stopped")  # may come between any two messages once audio flows


async def expect(ws, kind: str, timeout: float = 180) -> dict:
    async with asyncio.timeout(timeout):
        message = json.loads(await ws.recv())
        while message["type"] in VAD_NOTICES and kind not in VAD_NOTICES:
            message = json.loads(await ws.recv())
    assert message["type"] == kind, message
    return message


async def start_session(ws, timeout: float = 180, **start) -> list[dict]:
    """Sends start; returns the messages up to and including `ready`."""
    await ws.send(json.dumps({"type": "start", **start}))
    seen = []
    async with asyncio.timeout(timeout):
        while not seen or seen[-1]["type"] not in ("ready", "error"):
            seen.append(json.loads(await ws.recv()))
    assert seen[-1]["type"] == "ready", seen
    return seen


async def stream(url: str, samples: np.ndarray, *, frame_seconds: float = 0.1, speed: float = 4.0,
                 encode=f32, **start) -> tuple[list[dict], dict, int]:
    """Streams samples at `speed` x real time; returns (all messages, final, close code)."""
    start.setdefault("format", "f32le")
    async with connect(url, max_size=None, open_timeout=60) as ws:
        await start_session(ws, **start)
        frame = int(frame_seconds * SR)
        for i in range(0, samples.size, frame):
            await ws.send(encode(samples[i:i + frame]))
            await asyncio.sleep(frame_seconds / speed)
        await ws.send(json.dumps({"type": "stop"}))
        messages = await read_until_closed(ws)
        code = ws.close_code
    finals = [m for m in messages if m["type"] == "final"]
    assert len(finals) == 1, messages
    return messages, finals[0], code


def offline(stack, path, app=None, **form) -> dict:
    with open(path, "rb") as handle:
        response = httpx.post(stack.url("/api/transcribe", app) if app else stack.url("/api/transcribe"),
                              files={"file": (path.name, handle)}, data={k: str(v) for k, v in form.items()},
                              timeout=180)
    assert response.status_code == 200, response.text
    return response.json()


def partials_of(messages: list[dict]) -> list[dict]:
    return [m for m in messages if m["type"] == "partial"]


def assert_stable_prefix(messages: list[dict], final: dict) -> None:
    partials = partials_of(messages)
    for p in partials:
        assert p["text"] == p["stable_text"] + p["unstable_text"]
    for before, after in zip(partials, partials[1:]):
        assert after["stable_text"].startswith(before["stable_text"])
    if partials:
        assert final["text"].startswith(partials[-1]["stable_text"])


def effective_session_limit(stack) -> int:
    main = stack.config["applications"][0]
    settings = Settings(**main["args"])
    return session_limit(settings.stream_max_sessions, settings.max_ongoing_requests)


# ---------------------------------------------------------------------- results
async def test_scripted_stream_gives_partials_then_the_exact_text(stack, audio):
    samples = load_16k(audio["speech_en"])
    messages, final, code = await stream(ws_url(stack), samples, language="en")
    assert code == 1000
    assert partials_of(messages), messages
    assert final["text"] == SCRIPTED and final["language"] == "English"
    assert final["duration_seconds"] == pytest.approx(samples.size / SR, abs=1e-3)
    assert final["rtf"] == pytest.approx(final["process_time_seconds"] / final["duration_seconds"], rel=0.02, abs=1e-3)
    assert final["timestamps"] is None
    assert_stable_prefix(messages, final)
    assert final["text"] == offline(stack, audio["speech_en"], language="en")["text"]


async def test_final_equals_offline_transcript_on_random_weights(stack, audio):
    """Random weights: junk text that depends on every sample, so equality means the same audio was decoded."""
    for key in ("speech_en", "speech_zh"):
        samples = load_16k(audio[key])
        assert samples.size / SR < StreamConfig.from_settings(Settings()).min_segment_seconds  # one window
        expected = offline(stack, audio[key], app=LIFECYCLE_APP, model="qwen3-asr-1.7b")
        messages, final, _ = await stream(ws_url(stack, LIFECYCLE_APP), samples, model="qwen3-asr-1.7b")
        assert expected["text"] and expected["text"] != SCRIPTED
        assert final["text"] == expected["text"]
        assert final["language"] == expected["language"]
        assert_stable_prefix(messages, final)


async def test_final_has_the_models_words_for_the_language_and_context(stack, audio):
    """The small model says other words than the default one, per forced language, plus the context's."""
    samples = load_16k(audio["speech_zh"])
    for language, name, context in ((None, None, ""), ("zh", "Chinese", ""), ("ja", "Japanese", "Qwen, Ray")):
        start = {"model": SMALL, **({"language": language} if language else {}), **({"context": context} if context else {})}
        _, final, _ = await stream(ws_url(stack, LIFECYCLE_APP), samples, speed=8.0, **start)
        assert final["text"] == expected_text(SMALL, name, context), (language, context)
        form = {"model": SMALL, "language": language or "auto", **({"context": context} if context else {})}
        assert final["text"] == offline(stack, audio["speech_zh"], app=LIFECYCLE_APP, **form)["text"]


async def test_s16le_at_the_files_own_rate_is_resampled(stack, audio):
    import soundfile as sf

    pcm, rate = sf.read(str(audio["speech_en"]), dtype="float32")
    assert rate != SR
    messages, final, _ = await stream(ws_url(stack), pcm, encode=s16, format="pcm_s16le", sample_rate=rate)
    assert final["text"] == SCRIPTED
    assert final["duration_seconds"] == pytest.approx(pcm.size / rate, abs=0.01)


async def test_timestamps_in_the_final_match_offline(stack, audio):
    samples = load_16k(audio["speech_en"])
    expected = offline(stack, audio["speech_en"], language="en", return_timestamps="true")
    _, final, _ = await stream(ws_url(stack), samples, language="en", return_timestamps=True)
    assert final["text"] == expected["text"]
    assert final["timestamps"] == expected["timestamps"] and final["timestamps"]


async def test_long_stream_commits_windows_at_pauses(stack, audio):
    utterance = load_16k(audio["speech_en"])
    gap = np.zeros(2 * SR, np.float32)
    samples = np.concatenate([utterance, gap, utterance, gap, utterance])
    messages, final, _ = await stream(ws_url(stack), samples, speed=6.0, language="en")
    assert final["segments"] == 3
    assert final["text"] == " ".join([SCRIPTED] * 3)
    assert_stable_prefix(messages, final)
    assert any(p["stable_text"] == SCRIPTED for p in partials_of(messages))


async def test_cold_model_sends_loading_then_ready(stack, audio):
    released = httpx.post(stack.url("/api/gpu-offload", LIFECYCLE_APP),
                          json={"models": ["qwen3-asr-0.6b"], "wait": True}, timeout=120)
    assert released.status_code == 200, released.text
    async with connect(ws_url(stack, LIFECYCLE_APP), open_timeout=60) as ws:
        seen = await start_session(ws, model="qwen3-asr-0.6b", format="f32le")
        assert [m["type"] for m in seen] == ["loading", "ready"]
        await ws.send(f32(load_16k(audio["speech_en"])))
        await ws.send(json.dumps({"type": "stop"}))
        messages = await read_until_closed(ws)
    final = [m for m in messages if m["type"] == "final"][0]
    assert final["text"] == expected_text(SMALL) and final["load_time_seconds"] > 0


# ---------------------------------------------------------------------- protocol errors
@pytest.mark.parametrize("first,code,close", [
    (b"\x00\x00\x01\x00", "audio_before_start", 1008),
    ("{not json", "invalid_json", 1003),
    (json.dumps({"type": "start", "sample_rate": 0}), "unsupported_sample_rate", 1003),
    (json.dumps({"type": "start", "sample_rate": 1_000_000}), "unsupported_sample_rate", 1003),
    (json.dumps({"type": "start", "format": "opus"}), "unsupported_format", 1003),
    (json.dumps({"type": "start", "model": "whisper-large"}), "unknown_model", 1008),
    (json.dumps({"type": "start", "language": "xx-nope"}), "unsupported_language", 1008),
    (json.dumps({"type": "transcribe"}), "invalid_message", 1003),
])
async def test_bad_first_message_gets_an_error_and_a_close_code(stack, first, code, close):
    async with connect(ws_url(stack), open_timeout=60) as ws:
        await ws.send(first)
        messages = await read_until_closed(ws, timeout=60)
        assert [m["type"] for m in messages] == ["error"], messages
        assert messages[0]["code"] == code and messages[0]["message"]
        assert ws.close_code == close


async def test_frames_after_stop_are_an_error(stack, audio):
    async with connect(ws_url(stack), open_timeout=60) as ws:
        await start_session(ws, format="f32le")
        await ws.send(f32(load_16k(audio["speech_en"])[:SR // 2]))
        await ws.send(json.dumps({"type": "stop"}))
        await ws.send(f32(np.zeros(1600, np.float32)))
        messages = await read_until_closed(ws, timeout=60)
    kinds = [m["type"] for m in messages]
    # the stop may already have been finalised before the stray frame arrived; either way no crash
    assert kinds[-1] in ("error", "final")
    if kinds[-1] == "error":
        assert messages[-1]["code"] == "audio_after_stop" and ws.close_code == 1008
    healthy = httpx.get(stack.url("/health"), timeout=30)
    assert healthy.status_code == 200


async def test_second_start_is_an_error(stack):
    async with connect(ws_url(stack), open_timeout=60) as ws:
        await start_session(ws)
        await ws.send(json.dumps({"type": "start"}))
        messages = await read_until_closed(ws, timeout=60)
        assert messages[-1]["code"] == "duplicate_start" and ws.close_code == 1008


async def test_plain_http_get_answers_426_and_docs_list_the_route(stack):
    response = httpx.get(stack.url(STREAM), timeout=30)
    assert response.status_code == 426 and response.json()["error"]["code"] == "upgrade_required"
    spec = httpx.get(stack.url("/openapi.json"), timeout=30).json()
    assert "stable_text" in spec["paths"][STREAM]["get"]["description"]


# ---------------------------------------------------------------------- disconnects and limits
async def in_flight(stack) -> int:
    body = (await asyncio.to_thread(httpx.get, stack.url("/health"), timeout=30)).json()
    return body["queue"]["in_flight"]


async def open_sessions(url: str, count: int) -> list:
    """`count` sessions at once, each past `ready`; raises AssertionError when any is refused."""
    sockets = [await connect(url, open_timeout=60) for _ in range(count)]
    try:
        for ws in sockets:
            await ws.send(json.dumps({"type": "start", "format": "f32le"}))
        firsts = [json.loads(await asyncio.wait_for(ws.recv(), 120)) for ws in sockets]
        assert all(f["type"] == "ready" for f in firsts), firsts
    except (AssertionError, ConnectionClosed):
        for ws in sockets:
            await ws.close()
        raise AssertionError("refused")
    return sockets


async def open_sessions_soon(url: str, count: int, within_s: float) -> list:
    """Retries open_sessions until every slot is free again (sessions of a previous test may still be ending)."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        try:
            return await open_sessions(url, count)
        except AssertionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


async def test_disconnect_mid_stream_frees_everything(stack, audio):
    """Every slot taken, then every client drops its connection mid-stream (no close handshake):
    the slots and in-flight counters come back well before the 60 s idle timeout could have done it."""
    limit = effective_session_limit(stack)
    samples = load_16k(audio["speech_en"])
    sockets = await open_sessions_soon(ws_url(stack), limit, within_s=30)
    await asyncio.gather(*(ws.send(f32(samples[:int(1.5 * SR)])) for ws in sockets))
    await asyncio.sleep(0.05)
    for ws in sockets:
        ws.transport.abort()
    dropped_at = asyncio.get_running_loop().time()
    again = await open_sessions_soon(ws_url(stack), limit, within_s=30)
    assert asyncio.get_running_loop().time() - dropped_at < 30
    for ws in again:
        await ws.close()
    for _ in range(100):
        if await in_flight(stack) == 0:
            break
        await asyncio.sleep(0.2)
    assert await in_flight(stack) == 0
    _, final, _ = await stream(ws_url(stack), samples, speed=8.0)
    assert final["text"] == SCRIPTED


async def test_open_sockets_never_starve_http_and_the_limit_is_enforced(stack, audio):
    limit = effective_session_limit(stack)
    assert limit <= 64 // 2
    samples = load_16k(audio["speech_en"])
    sockets = await open_sessions_soon(ws_url(stack), limit, within_s=30)
    try:
        await asyncio.gather(*(ws.send(f32(samples[:int(1.2 * SR)])) for ws in sockets))
        await asyncio.gather(*(expect(ws, "partial") for ws in sockets))

        # Every session slot is taken: HTTP still answers, and promptly.
        health = await asyncio.to_thread(httpx.get, stack.url("/health"), timeout=30)
        assert health.status_code == 200
        body = await asyncio.to_thread(offline, stack, audio["speech_en"], language="en")
        assert body["text"] == SCRIPTED

        # One more socket (and a burst of them) is refused with 1013, and HTTP still answers.
        extras = [await connect(ws_url(stack), open_timeout=60) for _ in range(4)]
        for ws in extras:
            messages = await read_until_closed(ws, timeout=60)
            assert [m["code"] for m in messages] == ["too_many_sessions"]
            assert ws.close_code == 1013
        assert (await asyncio.to_thread(httpx.get, stack.url("/api/languages"), timeout=30)).status_code == 200

        # The sessions still work after all that.
        await asyncio.gather(*(ws.send(json.dumps({"type": "stop"})) for ws in sockets))
        results = await asyncio.gather(*(read_until_closed(ws) for ws in sockets))
        assert all(r[-1]["type"] == "final" and r[-1]["text"] == SCRIPTED for r in results)
    finally:
        for ws in sockets:
            await ws.close()
    _, final, _ = await stream(ws_url(stack), samples, speed=8.0)  # slots are free again
    assert final["text"] == SCRIPTED


# ---------------------------------------------------------------------- a deliberately small ingress
async def try_session(url: str) -> tuple[object, list[dict]]:
    ws = await connect(url, open_timeout=120)
    with contextlib.suppress(ConnectionClosed):  # a refused socket may be closed before our start goes out
        await ws.send(json.dumps({"type": "start", "format": "f32le"}))
    try:
        first = json.loads(await asyncio.wait_for(ws.recv(), 120))
    except ConnectionClosed:
        first = {"type": "closed", "close_code": ws.close_code}
    return ws, [first]


async def test_more_sockets_than_ingress_slots_cannot_starve_http(stack, audio):
    # the stack's `streamcap` app: an Ingress with only CAPPED_SLOTS slots (see tests/stack.py)
    base = stack.url("", CAPPED_APP)
    url = ws_url(stack, CAPPED_APP)
    limit = session_limit(Settings().stream_max_sessions, CAPPED_SLOTS)
    assert limit == CAPPED_SLOTS // 2
    samples = load_16k(audio["speech_en"])

    # Twice as many sockets as the ingress has slots, all at once.
    attempts = await asyncio.gather(*(try_session(url) for _ in range(2 * CAPPED_SLOTS)))
    admitted = [ws for ws, first in attempts if first[0]["type"] in ("ready", "loading")]
    refused = [(ws, first) for ws, first in attempts if first[0]["type"] in ("error", "closed")]
    assert len(admitted) == limit and len(refused) == len(attempts) - limit, [f for _, f in attempts]
    assert all(first[0].get("code", "too_many_sessions") == "too_many_sessions" for _, first in refused)
    for ws, _ in refused:
        await read_until_closed(ws, timeout=60)
        assert ws.close_code == 1013
    try:
        for ws, first in attempts:
            if first[0]["type"] == "loading":  # the new application's model was cold
                await expect(ws, "ready")
        # The admitted sessions hold their sockets open; HTTP on the same ingress still answers.
        for _ in range(3):
            health = await asyncio.to_thread(httpx.get, f"{base}/health", timeout=60)
            assert health.status_code == 200
        with open(audio["speech_en"], "rb") as handle:
            response = await asyncio.to_thread(
                httpx.post, f"{base}/api/transcribe", files={"file": ("a.wav", handle.read())},
                data={"language": "en"}, timeout=180)
        assert response.status_code == 200 and response.json()["text"] == SCRIPTED

        # And the sessions themselves still work.
        await asyncio.gather(*(ws.send(f32(samples)) for ws in admitted))
        await asyncio.gather(*(ws.send(json.dumps({"type": "stop"})) for ws in admitted))
        results = await asyncio.gather(*(read_until_closed(ws) for ws in admitted))
        assert all(r[-1]["type"] == "final" and r[-1]["text"] == SCRIPTED for r in results), results
    finally:
        for ws in admitted:
            await ws.close()
