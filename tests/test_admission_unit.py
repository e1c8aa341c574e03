"""Admission control and the shape of a lost replica, without Ray: fake handles and lifecycle."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import numpy as np
import pytest
from ray.exceptions import ActorDiedError, ActorUnavailableError

from deployments.protocol import AsrResult
from serve_app.audio import DecodedAudio
from serve_app.errors import ApiError
from serve_app.services.admission import Admission
from serve_app.services.transcription import (
    RESERVED_INGRESS_SLOTS,
    TranscriptionService,
    admission_limit,
)
from serve_app.settings import Settings

SR = 16_000


class FakeLifecycle:
    @asynccontextmanager
    async def serving(self, model_id):
        yield


class Method:
    def __init__(self, behaviour):
        self.behaviour = behaviour

    def remote(self, request):
        return self.behaviour(request)


class FakeHandle:
    def __init__(self, behaviour):
        self.transcribe = Method(behaviour)


def result(text="hello") -> AsrResult:
    return AsrResult(text, "English", "float32", "cpu", 0.01, 1, 0.0)


def service(behaviour, **settings) -> TranscriptionService:
    handle = FakeHandle(behaviour)
    return TranscriptionService(Settings(**settings), FakeLifecycle(),
                                {"qwen3-asr-1.7b": handle, "qwen3-asr-0.6b": handle}, aligner_handle=None)


def audio(seconds=1.0) -> DecodedAudio:
    return DecodedAudio(np.zeros(int(seconds * SR), np.float32), SR, 1, "test")


def opts(svc):
    return svc.options(model=None, language="en", return_timestamps=False, dtype=None, context=None)


# ---- the Admission object ------------------------------------------------------------------
def test_beyond_the_limit_is_503_with_retry_after_at_once():
    async def go():
        admission = Admission(2)
        async with admission.slot(), admission.slot():
            with pytest.raises(ApiError) as caught:
                async with admission.slot():
                    pass
            return admission, caught.value

    admission, err = asyncio.run(go())
    assert err.status == 503 and err.code == "overloaded" and int(err.headers["Retry-After"]) >= 1
    assert admission.in_flight == 0 and admission.refused == 1


def test_a_slot_is_freed_on_error_and_on_cancel():
    async def go():
        admission = Admission(1)
        with pytest.raises(RuntimeError):
            async with admission.slot():
                raise RuntimeError("boom")
        assert admission.in_flight == 0
        entered = asyncio.Event()

        async def hold():
            async with admission.slot():
                entered.set()
                await asyncio.sleep(60)

        task = asyncio.ensure_future(hold())
        await entered.wait()
        assert admission.full
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert admission.in_flight == 0
        async with admission.slot():  # usable again
            pass
        return admission

    assert asyncio.run(go()).in_flight == 0


def test_the_default_limit_leaves_ingress_slots_for_health_and_sockets():
    s = Settings()
    limit = admission_limit(s)
    assert 1 <= limit <= s.max_ongoing_requests - RESERVED_INGRESS_SLOTS - s.stream_max_sessions
    assert admission_limit(Settings(max_transcriptions_in_flight=3, max_ongoing_requests=64)) == 3
    assert admission_limit(Settings(max_transcriptions_in_flight=500, max_ongoing_requests=64)) == limit  # capped below the ingress
    assert admission_limit(Settings(max_ongoing_requests=2)) == 1


# ---- through the transcription service ----------------------------------------------------------
def test_the_service_refuses_past_the_limit_and_frees_slots_after():
    gate = asyncio.Event()

    async def slow(request):
        await gate.wait()
        return result()

    async def go():
        svc = service(slow, max_transcriptions_in_flight=2)
        first = [asyncio.ensure_future(svc.transcribe_audio(audio(), opts(svc))) for _ in range(2)]
        await asyncio.sleep(0.05)
        with pytest.raises(ApiError) as refused:
            await svc.transcribe_audio(audio(), opts(svc))
        with pytest.raises(ApiError):  # the /v1 paths through transcribe_pieces too
            async for _ in svc.transcribe_pieces(opts(svc), audio()):
                pass
        gate.set()
        done = await asyncio.gather(*first)
        assert svc.admission.in_flight == 0
        again = await svc.transcribe_audio(audio(), opts(svc))
        return refused.value, done, again

    err, done, again = asyncio.run(go())
    assert err.status == 503 and "Retry-After" in err.headers
    assert [t.text for t in done] == ["hello", "hello"] and again.text == "hello"


def test_a_failed_request_frees_its_slot():
    async def broken(request):
        raise ValueError("model failure")

    async def go():
        svc = service(broken, max_transcriptions_in_flight=1)
        for _ in range(3):
            with pytest.raises(ValueError):
                await svc.transcribe_audio(audio(), opts(svc))
        return svc.admission.in_flight

    assert asyncio.run(go()) == 0


@pytest.mark.parametrize("exc", [ActorDiedError(), ActorUnavailableError("unavailable", None)])
def test_a_lost_replica_is_503_model_unavailable_not_500(exc):
    async def died(request):
        raise exc

    async def go():
        svc = service(died)
        with pytest.raises(ApiError) as caught:
            await svc.transcribe_audio(audio(), opts(svc))
        return caught.value, svc.admission.in_flight

    err, in_flight = asyncio.run(go())
    assert err.status == 503 and err.code == "model_unavailable" and int(err.headers["Retry-After"]) >= 1
    assert "Actor" not in err.message and in_flight == 0
