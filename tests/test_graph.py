"""The model deployments themselves: batching, parity with a direct qwen-asr call, aligner checks."""

from __future__ import annotations

import time

import httpx
import numpy as np
import pytest
from ray import serve

from deployments.protocol import AlignRequest, AsrRequest, UnsupportedAlignLanguage
from tests.audio_fixtures import load_16k, voiced_region
from tests.stack import LIFECYCLE_APP, MAIN_APP, expected_text

SMALL = "qwen3-asr-0.6b"


def test_concurrent_requests_ride_in_one_batch(stack, audio):
    handle = serve.get_deployment_handle("Qwen3ASR-0.6B", app_name=MAIN_APP)
    samples = load_16k(audio["speech_en"])
    handle.transcribe.remote(AsrRequest(samples)).result(timeout_s=120)  # warm
    responses = [handle.transcribe.remote(AsrRequest(samples, language="English")) for _ in range(8)]
    results = [r.result(timeout_s=120) for r in responses]
    assert {r.text for r in results} == {expected_text(SMALL, "English")}
    assert max(r.batch_size for r in results) > 1, [r.batch_size for r in results]


# Arrival gaps twice the test stack's batch wait (0.05 s): queued as they came, each request
# would close a batch of its own while the long call runs.
ARRIVAL_GAP_S = 0.1
# batch_max_audio_seconds, the longest one call may be; with that many words for the aligner
# (its time grows with the text): 2.5-3.5 s of model time here for either model, several times
# the 0.5 s lead plus the three gaps.
LONG_CALL_SECONDS = 240
LONG_CALL_WORDS = 4000


def model_call(kind: str, samples: np.ndarray, words: int = 3):
    """One request to the main app's 0.6B ASR or its aligner, as the ingress sends it."""
    if kind == "asr":
        return serve.get_deployment_handle("Qwen3ASR-0.6B", app_name=MAIN_APP).transcribe.remote(
            AsrRequest(samples, language="English"))
    text = " ".join((["hello", "world", "again"] * words)[:words])
    return serve.get_deployment_handle("ForcedAligner", app_name=MAIN_APP).align.remote(
        AlignRequest(samples, text, "English"))


@pytest.mark.parametrize("kind", ["asr", "aligner"])
def test_requests_that_come_while_the_model_runs_share_its_next_call(stack, audio, kind):
    samples = load_16k(audio["speech_en"])
    model_call(kind, samples).result(timeout_s=120)  # warm
    long = np.resize(samples, LONG_CALL_SECONDS * 16_000).astype(np.float32)
    running = model_call(kind, long, LONG_CALL_WORDS)
    time.sleep(0.5)  # the long call has reached the model
    later = []
    for _ in range(3):
        later.append(model_call(kind, samples))
        time.sleep(ARRIVAL_GAP_S)
    first = running.result(timeout_s=300)
    results = [r.result(timeout_s=120) for r in later]
    assert first.batch_size == 1
    sizes = [r.batch_size for r in results]
    assert sizes == [3, 3, 3], f"{sizes} (the long call took {first.process_seconds:.2f} s)"
    if kind == "asr":
        assert {r.text for r in results} == {expected_text(SMALL, "English")}
    else:
        assert all([w.text for w in r.words] == ["hello", "world", "again"] for r in results)


def test_batch_keeps_each_requests_language_and_context(stack, audio):
    handle = serve.get_deployment_handle("Qwen3ASR-0.6B", app_name=MAIN_APP)
    samples = load_16k(audio["speech_en"])
    asks = [("Chinese", "Alibaba"), ("Japanese", ""), (None, "Qwen"), ("English", "")]
    responses = [handle.transcribe.remote(AsrRequest(samples, language=lang, context=ctx)) for lang, ctx in asks]
    results = [r.result(timeout_s=120) for r in responses]
    assert [r.language for r in results] == ["Chinese", "Japanese", "English", "English"]
    # The scripted model's words depend on the forced language and on whether a context came with it.
    assert [r.text for r in results] == [expected_text(SMALL, lang, ctx) for lang, ctx in asks]


def test_short_clips_are_padded_not_crashing(stack):
    handle = serve.get_deployment_handle("Qwen3ASR-0.6B", app_name=LIFECYCLE_APP)
    clip = (0.2 * np.sin(np.arange(300) / 5)).astype(np.float32)
    assert handle.transcribe.remote(AsrRequest(clip)).result(timeout_s=120).text == expected_text(SMALL)


def test_graph_transcript_equals_direct_qwen_asr_call(stack, audio, tiny_models):
    import torch
    from qwen_asr import Qwen3ASRModel

    with open(audio["speech_en"], "rb") as handle:
        served = httpx.post(stack.url("/api/transcribe", LIFECYCLE_APP), files={"file": ("a.wav", handle)},
                            data={"model": "qwen3-asr-1.7b"}, timeout=180).json()
    direct_model = Qwen3ASRModel.from_pretrained(tiny_models["asr-random"], device_map="cpu", dtype=torch.float32,
                                                 max_new_tokens=16)
    direct = direct_model.transcribe((load_16k(audio["speech_en"]), 16000))[0]
    assert served["text"] == direct.text.strip()
    assert served["language"] == (direct.language or "")


def test_aligner_refuses_languages_it_cannot_time(stack, audio):
    handle = serve.get_deployment_handle("ForcedAligner", app_name=LIFECYCLE_APP)
    samples = load_16k(audio["speech_en"])
    with pytest.raises(UnsupportedAlignLanguage, match="cannot time"):
        handle.align.remote(AlignRequest(samples, "hello world", "Thai")).result(timeout_s=120)


def test_aligner_times_lie_over_the_speech(stack, audio):
    handle = serve.get_deployment_handle("ForcedAligner", app_name=LIFECYCLE_APP)
    samples = load_16k(audio["speech_en_padded"])
    speech_from, speech_to = voiced_region(samples)
    result = handle.align.remote(AlignRequest(samples, "hello world again", "English")).result(timeout_s=120)
    assert [w.text for w in result.words] == ["hello", "world", "again"]
    starts = [w.start for w in result.words]
    assert starts == sorted(starts) and len(set(starts)) == 3
    assert all(speech_from - 0.2 <= w.start < w.end <= speech_to + 0.2 for w in result.words), result.words
