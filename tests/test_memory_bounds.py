"""Memory per request is bounded by settings: pieces, batches (count and padded audio seconds), context.

No Ray cluster: `@serve.batch` runs in plain asyncio, the deployments' helpers are called directly.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from pydantic import ValidationError

from deployments.lifecycle import BatchItem, ModelReplica, PieceTooLong, batch_slots
from deployments.protocol import AsrRequest
from serve_app.errors import ApiError
from serve_app.services.transcription import TranscriptionService, estimate_tokens
from serve_app.settings import Settings

SR = 16_000


def service(**settings) -> TranscriptionService:
    return TranscriptionService(Settings(**settings), lifecycle=None, asr_handles={}, aligner_handle=None)


def options(svc: TranscriptionService, context: str):
    return svc.options(model=None, language="auto", return_timestamps=False, dtype=None, context=context)


# ---- pieces ------------------------------------------------------------------------------
def test_default_piece_is_short_and_fits_a_batch():
    s = Settings()
    assert s.asr_piece_seconds <= 120
    assert s.asr_piece_seconds <= s.batch_max_audio_seconds


@pytest.mark.parametrize("limit,total", [(60, 25 * 60), (7, 61), (30, 30.5)])
def test_split_never_exceeds_the_piece_limit_and_keeps_every_sample(limit, total):
    svc = service(asr_piece_seconds=limit, batch_max_audio_seconds=max(limit, 20))
    rng = np.random.default_rng(1)
    samples = (0.1 * rng.standard_normal(int(total * SR))).astype(np.float32)
    samples[::SR * 3] = 0.0  # a few quiet points
    for timed in (False, True):
        pieces = svc.split(samples, return_timestamps=timed)
        assert max(p.audio.shape[0] for p in pieces) <= limit * SR
        assert sum(p.audio.shape[0] for p in pieces) == samples.shape[0]
        assert pieces[0].offset == 0.0


def test_settings_refuse_a_piece_no_batch_can_take():
    with pytest.raises(ValidationError):
        Settings(asr_piece_seconds=300, batch_max_audio_seconds=240)
    with pytest.raises(ValidationError):
        Settings(stream_window_seconds=30, batch_max_audio_seconds=25, asr_piece_seconds=20)


# ---- batch size function ---------------------------------------------------------------------
def items(*seconds: float, max_size: int = 8, max_seconds: float = 240) -> list[BatchItem]:
    return [BatchItem(None, s, max_seconds / max_size) for s in seconds]


def test_batch_slots_counts_requests_for_short_audio():
    assert batch_slots(items(1, 2, 3)) == 3
    assert batch_slots([]) == 0


def test_batch_slots_sums_padded_seconds_for_long_audio():
    # slot = 240 / 8 = 30 s: four 60 s pieces are 240 padded seconds = 8 slots (full)
    assert batch_slots(items(60, 60, 60, 60)) == 8
    assert batch_slots(items(60, 60, 60, 60, 60)) > 8
    # padding: one long piece makes every request in the batch cost that long
    assert batch_slots(items(60, 1, 1)) == 6
    # a piece of exactly the bound fills the batch alone, with no float residue
    assert batch_slots(items(240)) == 8
    assert batch_slots(items(240.0001)) > 8


def fake_replica() -> ModelReplica:
    """A ModelReplica's own batch queue in front of a recording model call instead of a model. A
    new class each time: Serve's batch queue belongs to the decorated function and to the first
    event loop."""

    class FakeReplica(ModelReplica):
        def __init__(self) -> None:
            self.calls: list[list[float]] = []

        def __del__(self) -> None:  # no engine, no registry to tell
            pass

        async def submit(self, seconds: float):
            request = AsrRequest(np.zeros(int(seconds * SR), np.float32))
            return await self.batched(self.batch_item(request))

        async def _run_batch(self, batch: list[BatchItem]) -> list[float]:
            self.calls.append([b.seconds for b in batch])
            await asyncio.sleep(0.01)
            return [b.seconds for b in batch]

    return FakeReplica()


@pytest.mark.parametrize("max_size,max_seconds,lengths", [
    (8, 240, [60] * 10),            # seconds bind: 4 per batch
    (8, 240, [5] * 20),             # count binds: 8 per batch
    (4, 100, [25, 1, 25, 1, 25, 1, 25, 1, 10]),
    (8, 120, [120, 1, 120, 2]),     # a piece of the whole bound rides alone
])
def test_a_batch_never_exceeds_the_count_or_the_padded_seconds(max_size, max_seconds, lengths, monkeypatch):
    # outside a replica: Serve's check against the replica's max_ongoing_requests has nothing to read
    from ray.serve import batching

    monkeypatch.setattr(batching._BatchQueue, "_warn_if_max_batch_size_exceeds_max_ongoing_requests", lambda self: None)

    async def go():
        replica = fake_replica()
        replica.reconfigure({"batch_max_size": max_size, "batch_max_audio_seconds": max_seconds,
                             "batch_wait_timeout_s": 0.05})
        results = await asyncio.gather(*(replica.submit(s) for s in lengths))
        return replica, results

    replica, results = asyncio.run(go())
    assert sorted(results) == sorted(float(s) for s in lengths)
    assert sum(len(c) for c in replica.calls) == len(lengths)
    for call in replica.calls:
        assert len(call) <= max_size
        assert len(call) * max(call) <= max_seconds + 1e-6, call


def test_a_request_longer_than_the_bound_is_refused_before_the_batch():
    replica = fake_replica()
    replica.reconfigure({"batch_max_size": 8, "batch_max_audio_seconds": 60})
    with pytest.raises(PieceTooLong):
        replica.batch_item(AsrRequest(np.zeros(61 * SR, np.float32)))
    assert replica.batch_item(AsrRequest(np.zeros(60 * SR, np.float32))).seconds == 60


def test_reconfigure_keeps_the_count_in_max_batch_size():
    replica = fake_replica()
    replica.reconfigure({"batch_max_size": 3, "batch_max_audio_seconds": 90, "batch_wait_timeout_s": 0.01})
    assert replica.batched._get_max_batch_size() == 3
    assert replica.batch_item(AsrRequest(np.zeros(SR, np.float32))).slot_seconds == 30


# ---- context in tokens ----------------------------------------------------------------------
def test_token_estimate_counts_cjk_one_each_and_other_text_by_four():
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1 and estimate_tokens("abcde") == 2
    assert estimate_tokens("你好世界") == 4
    assert estimate_tokens("こんにちは") == 5 and estimate_tokens("안녕하세요") == 5
    assert estimate_tokens("Qwen 你好") == 2 + 2


def test_a_long_cjk_context_is_refused_in_tokens_with_the_limit():
    svc = service()
    assert options(svc, "a" * 2000).context  # 2,000 Latin characters: ~500 tokens, accepted
    with pytest.raises(ApiError) as caught:
        options(svc, "语" * 2000)
    err = caught.value
    assert err.status == 400 and err.code == "context_too_long" and err.param == "context"
    assert str(svc.settings.max_context_tokens) in err.message
    assert options(svc, "语" * svc.settings.max_context_tokens).context


def test_the_character_limit_still_applies():
    with pytest.raises(ApiError) as caught:
        options(service(max_context_chars=10), "a" * 11)
    assert caught.value.code == "context_too_long"
