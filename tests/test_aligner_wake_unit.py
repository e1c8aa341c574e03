"""A request that wants timestamps loads a released aligner while the ASR model transcribes.

Without it a cold request loads the ASR model, transcribes, and only then loads the aligner: the
wait is the sum of both loads, and with a short idle timeout the ASR model (idle while the aligner
loads) is unloaded before the next request, which then loads it again (each request cold, on both).
Fake handles and lifecycle, no Ray: the order of the calls is what is checked.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import numpy as np
import pytest

from deployments.protocol import ALIGNER, AlignResult, AsrResult, WordTime
from serve_app.audio import DecodedAudio
from serve_app.services.transcription import TranscriptionService
from serve_app.settings import Settings

SR = 16_000


class FakeLifecycle:
    def __init__(self, aligner_running: bool):
        self.aligner_running = aligner_running
        self.serving_now: list[str] = []

    def is_running(self, model_id):
        return model_id != ALIGNER or self.aligner_running

    @asynccontextmanager
    async def serving(self, model_id):
        self.serving_now.append(model_id)
        try:
            yield
        finally:
            self.serving_now.remove(model_id)


class Call:
    def __init__(self, behaviour):
        self.behaviour = behaviour
        self.calls = 0

    async def remote(self, request=None):
        self.calls += 1
        return await self.behaviour(request)


class Models:
    """An ASR model that waits for `asr_go` and an aligner whose load ends at `aligner_loaded`."""

    def __init__(self, asr_fails: bool = False):
        self.events: list[str] = []
        self.asr_go = asyncio.Event()
        self.aligner_loaded = asyncio.Event()
        self.asr = type("Asr", (), {})()
        self.asr.transcribe = Call(self._transcribe)
        self.aligner = type("Aligner", (), {})()
        self.aligner.wait_loaded = Call(self._wait_loaded)
        self.aligner.align = Call(self._align)
        self.asr_fails = asr_fails
        self.seen = {name: asyncio.Event() for name in ("asr started", "aligner load asked")}

    def note(self, event: str) -> None:
        self.events.append(event)
        self.seen[event].set()

    async def until(self, event: str) -> None:
        await asyncio.wait_for(self.seen[event].wait(), 30)

    async def _transcribe(self, request):
        self.note("asr started")
        await self.asr_go.wait()
        if self.asr_fails:
            raise RuntimeError("the ASR model failed")
        return AsrResult("hello world", "English", "float32", "cpu", 0.01, 1, 0.0)

    async def _wait_loaded(self, _):
        self.note("aligner load asked")
        await self.aligner_loaded.wait()
        self.events.append("aligner loaded")
        return 1.0

    async def _align(self, request):
        self.events.append("align")
        return AlignResult([WordTime(w, 0.1 * i, 0.1 * i + 0.1) for i, w in enumerate(request.text.split())])


def service(models: Models, aligner_running=False) -> tuple[TranscriptionService, FakeLifecycle]:
    lifecycle = FakeLifecycle(aligner_running)
    svc = TranscriptionService(Settings(vad_enabled=False), lifecycle,
                               {"qwen3-asr-1.7b": models.asr, "qwen3-asr-0.6b": models.asr}, models.aligner)
    return svc, lifecycle


def speech(seconds=2.0) -> DecodedAudio:
    return DecodedAudio(np.full(int(seconds * SR), 0.1, np.float32), SR, 1, "test")


def options(svc, language="en", timestamps=True):
    return svc.options(model=None, language=language, return_timestamps=timestamps, dtype=None, context=None)


async def transcribe_once(models: Models, svc, opts, audio=None):
    job = asyncio.ensure_future(svc.transcribe_audio(audio or speech(), opts))
    await models.until("asr started")
    await asyncio.sleep(0.01)  # the wake, if any, has had its turn
    seen_while_asr_ran = list(models.events)
    models.asr_go.set()
    models.aligner_loaded.set()
    return await job, seen_while_asr_ran


def test_a_released_aligner_is_asked_to_load_while_the_asr_model_still_runs():
    async def scenario():
        models = Models()
        svc, lifecycle = service(models)
        transcript, during_asr = await transcribe_once(models, svc, options(svc))
        return models, transcript, during_asr, lifecycle

    models, transcript, during_asr, lifecycle = asyncio.run(scenario())
    assert "aligner load asked" in during_asr, during_asr
    assert "align" not in during_asr  # the alignment itself still waits for the text
    assert [w.text for w in transcript.timestamps] == ["hello", "world"]
    assert models.aligner.wait_loaded.calls == 1 and lifecycle.serving_now == []


def test_a_loaded_aligner_is_not_called_twice():
    async def scenario():
        models = Models()
        svc, _ = service(models, aligner_running=True)
        return models, *(await transcribe_once(models, svc, options(svc)))

    models, transcript, during_asr = asyncio.run(scenario())
    assert models.aligner.wait_loaded.calls == 0 and transcript.timestamps


@pytest.mark.parametrize("language,timestamps", [("en", False), ("fi", True)])
def test_no_wake_when_no_alignment_can_follow(language, timestamps):
    """Timestamps off, or a forced language the aligner cannot time (best effort: untimed)."""
    async def scenario():
        models = Models()
        svc, _ = service(models)
        opts = options(svc, "en", timestamps)
        if timestamps:
            opts.language = svc.options(model=None, language=language, return_timestamps=False, dtype=None,
                                        context=None).language
            opts.timestamps_best_effort = True
        return models, *(await transcribe_once(models, svc, opts))

    models, _, during_asr = asyncio.run(scenario())
    assert models.aligner.wait_loaded.calls == 0, during_asr


def test_silence_wakes_nothing():
    async def scenario():
        models = Models()
        svc, _ = service(models)
        models.asr_go.set()  # were the model asked, the test would fail, not hang
        models.aligner_loaded.set()
        # VAD looks at files longer than one piece (a shorter one goes whole to the model).
        svc.settings.vad_enabled = True
        svc.settings.asr_piece_seconds = svc.settings.align_piece_seconds = 1.0
        silence = DecodedAudio(np.zeros(int(3 * SR), np.float32), SR, 1, "test")
        return models, await svc.transcribe_audio(silence, options(svc))

    models, transcript = asyncio.run(scenario())
    assert transcript.text == "" and models.aligner.wait_loaded.calls == 0 and models.asr.transcribe.calls == 0


def test_the_alignment_waits_for_the_load_call_instead_of_queueing_behind_it():
    """The load call holds a place in the aligner's bounded queue: the alignment goes after it."""
    async def scenario():
        models = Models()
        svc, lifecycle = service(models)
        job = asyncio.ensure_future(svc.transcribe_audio(speech(), options(svc)))
        await models.until("aligner load asked")
        models.asr_go.set()  # the text is ready while the aligner still loads
        await asyncio.sleep(0.05)
        assert models.aligner.align.calls == 0 and not job.done()
        models.aligner_loaded.set()
        transcript = await asyncio.wait_for(job, 30)
        assert models.events.index("aligner loaded") < models.events.index("align")
        assert transcript.timestamps and lifecycle.serving_now == []

    asyncio.run(scenario())


def test_concurrent_requests_share_one_load_call():
    async def scenario():
        models = Models()
        svc, _ = service(models)
        jobs = [asyncio.ensure_future(svc.transcribe_audio(speech(), options(svc))) for _ in range(3)]
        await models.until("aligner load asked")
        await asyncio.sleep(0.05)
        models.asr_go.set()
        models.aligner_loaded.set()
        answers = await asyncio.wait_for(asyncio.gather(*jobs), 30)
        assert models.aligner.wait_loaded.calls == 1 and models.asr.transcribe.calls == 3
        assert all(a.timestamps for a in answers)

    asyncio.run(scenario())


def test_a_failed_load_call_does_not_fail_the_request():
    """The alignment itself reports an aligner that cannot load; the wake only logs."""
    async def scenario():
        models = Models()

        async def refused(_):
            raise RuntimeError("the queue is full")

        models.aligner.wait_loaded = Call(refused)
        svc, _ = service(models)
        models.asr_go.set()
        transcript = await asyncio.wait_for(svc.transcribe_audio(speech(), options(svc)), 30)
        assert models.aligner.wait_loaded.calls == 1 and transcript.timestamps

    asyncio.run(scenario())
