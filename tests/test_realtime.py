"""WebSocket /v1/realtime?intent=transcription, driven by the official `openai` SDK's realtime client
against the real stack (Ray Serve on CPU, tiny checkpoints, real Silero VAD)."""

from __future__ import annotations

import asyncio
import base64

import httpx
import numpy as np
import soundfile as sf
import soxr
from openai import AsyncOpenAI, OpenAI

from tests.audio_fixtures import load_16k
from tests.stack import AUTH_APP, AUTH_KEY, LIFECYCLE_APP, MAIN_APP, expected_text

LARGE, SMALL = "qwen3-asr-1.7b", "qwen3-asr-0.6b"
SCRIPTED = expected_text(LARGE)
SR = 16_000
DONE = "conversation.item.input_audio_transcription.completed"
DELTA = "conversation.item.input_audio_transcription.delta"
MANUAL = {"type": "transcription", "audio": {"input": {"format": {"type": "audio/pcm", "rate": SR},
                                                       "turn_detection": None}}}


def client_for(stack, app: str = MAIN_APP, key: str = "x") -> AsyncOpenAI:
    return AsyncOpenAI(base_url=stack.url("/v1", app), api_key=key, max_retries=0, timeout=300)


def connect(stack, app: str = MAIN_APP, key: str = "x", model: str | None = None):
    kwargs = {"model": model} if model else {}
    return client_for(stack, app, key).realtime.connect(extra_query={"intent": "transcription"}, **kwargs)


def pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SR), np.float32)


async def append(conn, samples: np.ndarray, rate: int = SR, piece_s: float = 0.1) -> None:
    step = int(piece_s * rate)
    for i in range(0, samples.size, step):
        await conn.input_audio_buffer.append(audio=base64.b64encode(pcm16(samples[i:i + step])).decode())


async def events_until(conn, stop, timeout: float = 180) -> list:
    seen = []
    async with asyncio.timeout(timeout):
        while not seen or not stop(seen):
            seen.append(await conn.recv())
    return seen


def completed(count: int):
    return lambda seen: sum(e.type == DONE for e in seen) >= count


async def configured(conn, session: dict) -> None:
    first = await conn.recv()
    assert first.type == "session.created" and first.session.type == "transcription"
    await conn.session.update(session=session)
    updated = await events_until(conn, lambda seen: seen[-1].type in ("session.updated", "error"))
    assert updated[-1].type == "session.updated", updated[-1]


async def test_server_vad_turns_give_speech_events_deltas_then_the_scripted_text(stack, audio):
    speech = load_16k(audio["speech_en"])
    talk = np.concatenate([silence(0.5), speech, silence(1.5), speech, silence(1.5)])
    async with connect(stack) as conn:
        await configured(conn, {"type": "transcription", "audio": {"input": {
            "format": {"type": "audio/pcm", "rate": SR},
            "turn_detection": {"type": "server_vad", "threshold": 0.5, "silence_duration_ms": 500,
                               "prefix_padding_ms": 300}}}})
        await append(conn, talk)
        seen = await events_until(conn, completed(2))
    items = list(dict.fromkeys(e.item_id for e in seen if e.type == "input_audio_buffer.speech_started"))
    assert len(items) == 2
    for item in items:
        kinds = [e.type for e in seen if getattr(e, "item_id", None) == item]
        turn = [k for k in kinds if k != DELTA]
        assert turn == ["input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped",
                        "input_audio_buffer.committed", DONE], kinds
        # text while the turn is still being spoken: a delta before speech_stopped
        assert DELTA in kinds and kinds.index(DELTA) < kinds.index("input_audio_buffer.speech_stopped")
        done = next(e for e in seen if e.type == DONE and e.item_id == item)
        assert done.transcript == SCRIPTED and done.content_index == 0
        assert done.usage.type == "duration" and 2.0 < done.usage.seconds < speech.size / SR + 1.0
    starts = [e.audio_start_ms for e in seen if e.type == "input_audio_buffer.speech_started"]
    stops = [e.audio_end_ms for e in seen if e.type == "input_audio_buffer.speech_stopped"]
    assert starts[0] < stops[0] < starts[1] < stops[1] <= talk.size * 1000 // SR
    committed = [e for e in seen if e.type == "input_audio_buffer.committed"]
    assert committed[1].previous_item_id == committed[0].item_id


async def test_manual_commit_at_24_khz_transcribes_the_buffer(stack, audio):
    speech_24k = soxr.resample(load_16k(audio["speech_en"]), SR, 24_000).astype(np.float32)
    async with connect(stack) as conn:
        await configured(conn, {"type": "transcription", "audio": {"input": {"turn_detection": None,
                                "transcription": {"model": "qwen3-asr-1.7b", "language": "en"}}}})
        await append(conn, speech_24k, rate=24_000)
        await conn.input_audio_buffer.commit()
        seen = await events_until(conn, completed(1))
    kinds = [e.type for e in seen]
    assert "input_audio_buffer.speech_started" not in kinds
    assert kinds[0] == "input_audio_buffer.committed" and kinds[-1] == DONE
    assert seen[-1].transcript == expected_text(LARGE, "English")
    assert "".join(e.delta for e in seen if e.type == DELTA) == seen[-1].transcript


async def test_clear_empties_the_buffer_and_a_bad_event_leaves_the_session_alive(stack, audio):
    speech = load_16k(audio["speech_en"])
    async with connect(stack) as conn:
        await configured(conn, MANUAL)
        await append(conn, speech)
        await conn.input_audio_buffer.clear()
        assert (await events_until(conn, lambda s: s[-1].type == "input_audio_buffer.cleared"))[-1].type
        await conn.input_audio_buffer.commit()
        empty = (await events_until(conn, lambda s: s[-1].type == "error"))[-1]
        assert empty.error.code == "input_audio_buffer_commit_empty"
        await conn.send_raw('{"type": "response.create", "event_id": "evt_42"}')
        unknown = (await events_until(conn, lambda s: s[-1].type == "error"))[-1]
        assert unknown.error.type == "invalid_request_error" and unknown.error.code == "unknown_event_type"
        assert unknown.error.event_id == "evt_42"
        await conn.send_raw("{not json")
        assert (await events_until(conn, lambda s: s[-1].type == "error"))[-1].error.code == "invalid_json"
        await conn.input_audio_buffer.append(audio="***not base64***")
        assert (await events_until(conn, lambda s: s[-1].type == "error"))[-1].error.param == "audio"
        await conn.session.update(session={"type": "transcription",
                                           "audio": {"input": {"format": {"type": "audio/pcm", "rate": 44_100}}}})
        bad_rate = (await events_until(conn, lambda s: s[-1].type == "error"))[-1]
        assert bad_rate.error.param == "session.audio.input.format.rate"
        await conn.session.update(session={"type": "transcription", "audio": {"input": {
            "transcription": {"language": "xx-nowhere"}}}})
        assert (await events_until(conn, lambda s: s[-1].type == "error"))[-1].error.code == "unsupported_language"
        await append(conn, speech)  # still alive, still at 16 kHz, still manual
        await conn.input_audio_buffer.commit()
        seen = await events_until(conn, completed(1))
    assert seen[-1].transcript == SCRIPTED


async def test_audio_without_speech_never_reaches_the_model(stack):
    noise = (0.02 * np.random.default_rng(5).standard_normal(4 * SR)).astype(np.float32)
    async with connect(stack) as conn:
        await configured(conn, {"type": "transcription", "audio": {"input": {
            "format": {"type": "audio/pcm", "rate": SR}, "turn_detection": {"type": "server_vad"}}}})
        await append(conn, noise)
        await configured_manual(conn)
        await append(conn, noise)
        await conn.input_audio_buffer.commit()
        seen = await events_until(conn, completed(1))
    assert not [e for e in seen if e.type.startswith("input_audio_buffer.speech")]
    assert seen[-1].transcript == ""  # the scripted model says its sentence for any audio it hears


async def configured_manual(conn) -> None:
    await conn.session.update(session=MANUAL)
    seen = await events_until(conn, lambda s: s[-1].type in ("session.updated", "error"))
    assert seen[-1].type == "session.updated" and seen[-1].session.audio.input.turn_detection is None
    assert not [e for e in seen if e.type.startswith("input_audio_buffer.speech")]


async def test_a_wrong_key_gets_an_authentication_error_and_the_right_one_a_session(stack):
    async with connect(stack, AUTH_APP, key="wrong") as conn:
        event = await conn.recv()
        assert event.type == "error" and event.error.type == "authentication_error"
        assert event.error.code == "invalid_api_key"
    async with connect(stack, AUTH_APP, key=AUTH_KEY) as conn:
        assert (await conn.recv()).type == "session.created"


async def test_a_cold_model_says_it_is_loading_then_transcribes(stack, audio):
    released = await asyncio.to_thread(httpx.post, stack.url("/api/gpu-offload", LIFECYCLE_APP),
                                       json={"models": [SMALL], "wait": True}, timeout=120)
    assert released.status_code == 200, released.text
    async with connect(stack, LIFECYCLE_APP, model=SMALL) as conn:
        await configured(conn, MANUAL)
        await append(conn, load_16k(audio["speech_en"]))
        await conn.input_audio_buffer.commit()
        seen = await events_until(conn, completed(1))
    kinds = [e.type for e in seen]
    assert "qwen.model_loading" in kinds and kinds.index("qwen.model_loading") < kinds.index(DONE)
    assert seen[-1].transcript == expected_text(SMALL)


async def test_the_same_audio_gives_the_same_transcript_as_audio_transcriptions(stack, audio, tmp_path):
    """Random weights (the lifecycle app's 1.7B): any difference in the audio the model hears shows."""
    pcm = pcm16(load_16k(audio["speech_en"]))
    samples = np.frombuffer(pcm, "<i2").astype(np.float32) / 32768.0
    wav = tmp_path / "same.wav"
    sf.write(str(wav), np.frombuffer(pcm, "<i2"), SR, subtype="PCM_16")
    rest = OpenAI(base_url=stack.url("/v1", LIFECYCLE_APP), api_key="x", max_retries=0, timeout=300)
    expected = (await asyncio.to_thread(rest.audio.transcriptions.create, model=LARGE,
                                        file=("same.wav", wav.read_bytes()))).text
    async with connect(stack, LIFECYCLE_APP, model=LARGE) as conn:
        await configured(conn, MANUAL)
        await append(conn, samples)
        await conn.input_audio_buffer.commit()
        seen = await events_until(conn, completed(1))
    assert expected and seen[-1].transcript == expected
