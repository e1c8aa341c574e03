"""GPU lifecycle from Serve autoscaling: lazy load, idle unload, release now, model switch.

Runs against the `lifecycle` application (idle timeout of a few seconds, switch policy
off) and the main one (switch policy on, the default).
"""

from __future__ import annotations

import concurrent.futures
import time

import httpx
import pytest

from tests.stack import LIFECYCLE_APP, LIFECYCLE_IDLE_S, MAIN_APP

ASR_LARGE, ASR_SMALL, ALIGNER = "qwen3-asr-1.7b", "qwen3-asr-0.6b", "qwen3-forced-aligner-0.6b"


def models(stack, app):
    return httpx.get(stack.url("/api/status", app), timeout=30).json()["models"]


def transcribe(stack, audio, app, model=ASR_SMALL, **form):
    with open(audio["speech_en"], "rb") as handle:
        response = httpx.post(stack.url("/api/transcribe", app), files={"file": ("a.wav", handle)},
                              data={"model": model, **form}, timeout=180)
    assert response.status_code == 200, response.text
    return response


def offload(stack, app, models_=None):
    response = httpx.post(stack.url("/api/gpu-offload", app), json={"models": models_} if models_ else None, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


def wait_for(predicate, timeout_s, interval=0.5):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def test_lazy_load_then_idle_unload(stack, audio):
    offload(stack, LIFECYCLE_APP)
    before = models(stack, LIFECYCLE_APP)[ASR_SMALL]
    assert before["state"] == "not_loaded" and before["replicas"] == 0

    started = time.monotonic()
    response = transcribe(stack, audio, LIFECYCLE_APP)
    cold = time.monotonic() - started
    assert float(response.headers["X-Time-Load"]) > 0  # this request waited for the model
    loaded = models(stack, LIFECYCLE_APP)[ASR_SMALL]
    assert loaded["state"] == "loaded" and loaded["replicas"] == 1
    assert loaded["load_seconds"] is not None and loaded["device"] == "cpu"
    assert 0 <= loaded["unload_in_seconds"] <= LIFECYCLE_IDLE_S

    warm = transcribe(stack, audio, LIFECYCLE_APP)
    assert float(warm.headers["X-Time-Load"]) == 0.0

    idle_started = time.monotonic()
    gone = wait_for(lambda: models(stack, LIFECYCLE_APP)[ASR_SMALL]["state"] == "not_loaded", LIFECYCLE_IDLE_S + 30)
    assert gone, "idle model was not unloaded"
    print(f"cold start {cold:.1f}s; idle unload after {time.monotonic() - idle_started:.1f}s "
          f"(timeout {LIFECYCLE_IDLE_S}s)")
    assert models(stack, LIFECYCLE_APP)[ASR_SMALL]["replicas"] == 0


def test_release_now_reaches_zero_within_seconds_and_reloads(stack, audio):
    transcribe(stack, audio, LIFECYCLE_APP, model=ASR_LARGE)
    assert models(stack, LIFECYCLE_APP)[ASR_LARGE]["replicas"] == 1
    started = time.monotonic()
    result = offload(stack, LIFECYCLE_APP, [ASR_LARGE])
    took = time.monotonic() - started
    assert result["released"] == [ASR_LARGE]
    assert result["models"][ASR_LARGE]["replicas"] == 0
    assert result["models"][ASR_LARGE]["state"] == "not_loaded"
    assert {"gpu_before", "gpu_after"} <= set(result)
    print(f"release to zero replicas took {took:.1f}s")
    assert took < 20
    again = transcribe(stack, audio, LIFECYCLE_APP, model=ASR_LARGE)
    assert again.json()["model"] == ASR_LARGE


def test_offload_everything_and_unknown_model(stack):
    result = offload(stack, LIFECYCLE_APP)
    assert set(result["released"]) | set(result["already_unloaded"]) == {ASR_LARGE, ASR_SMALL, ALIGNER}
    bad = httpx.post(stack.url("/api/gpu-offload", LIFECYCLE_APP), json={"models": ["gpt-5"]}, timeout=30)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "unknown_model"


def test_switch_policy_off_keeps_both_models(stack, audio):
    # concurrently: each cold start outlasts this app's short idle timeout
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda m: transcribe(stack, audio, LIFECYCLE_APP, model=m), (ASR_SMALL, ASR_LARGE)))
    states = models(stack, LIFECYCLE_APP)
    assert states[ASR_SMALL]["replicas"] == 1 and states[ASR_LARGE]["replicas"] == 1


def test_switch_policy_on_releases_the_other_model_first(stack, audio):
    transcribe(stack, audio, MAIN_APP, model=ASR_SMALL)
    assert models(stack, MAIN_APP)[ASR_SMALL]["replicas"] == 1
    transcribe(stack, audio, MAIN_APP, model=ASR_LARGE)
    states = models(stack, MAIN_APP)
    assert states[ASR_LARGE]["replicas"] == 1
    assert states[ASR_SMALL]["replicas"] == 0, states[ASR_SMALL]


def test_gpu_offload_then_transcribe_reloads(stack, audio):
    transcribe(stack, audio, MAIN_APP, model=ASR_LARGE)
    offload(stack, MAIN_APP)
    assert models(stack, MAIN_APP)[ASR_LARGE]["state"] == "not_loaded"
    response = transcribe(stack, audio, MAIN_APP, model=ASR_LARGE)
    assert response.json()["text"] == "hello world"
    assert float(response.headers["X-Time-Load"]) > 0


def test_dtype_reload_is_reported(stack, audio):
    body = transcribe(stack, audio, LIFECYCLE_APP, model=ASR_SMALL, dtype="bfloat16").json()
    assert body["dtype"] == "bfloat16"
    assert body["text"] == "hello world"
    status = wait_for(lambda: models(stack, LIFECYCLE_APP)[ASR_SMALL]["dtype"] == "bfloat16", 10)
    assert status
    # no dtype asked: the loaded one is used as is
    assert transcribe(stack, audio, LIFECYCLE_APP, model=ASR_SMALL).json()["dtype"] == "bfloat16"
    assert transcribe(stack, audio, LIFECYCLE_APP, model=ASR_SMALL, dtype="float16").json()["dtype"] == "float16"
