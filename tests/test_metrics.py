"""The service's Prometheus metrics, scraped from Ray's real metrics export endpoint.

Requests by route template and status, latency and RTF histograms, audio seconds, model state,
queue depth and streaming sessions, each tagged with the Serve application they came from.
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import soundfile as sf
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect

from serve_app.metrics import MODEL_STATES, UNMATCHED_ROUTE
from tests.stack import MAIN_APP

EXPORT_WAIT_S = 90  # Ray exports metrics every few seconds; a busy 2-core host is slower
LARGE = "qwen3-asr-1.7b"


def samples(stack) -> list:
    text = httpx.get(stack.metrics_url, timeout=10).text
    return [s for family in text_string_to_metric_families(text) for s in family.samples
            if s.name.startswith("ray_qwen_asr_") and s.labels.get("application") == MAIN_APP]


def value(found: list, name: str, **labels) -> float | None:
    matching = [s.value for s in found if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    return sum(matching) if matching else None


def wait_for(stack, check, what: str) -> list:
    """Scrapes until `check(samples)` holds; fails with the last scrape's series names."""
    deadline = time.monotonic() + EXPORT_WAIT_S
    found: list = []
    while time.monotonic() < deadline:
        found = samples(stack)
        if check(found):
            return found
        time.sleep(2)
    raise AssertionError(f"{what} not exported within {EXPORT_WAIT_S}s; seen: {sorted({s.name for s in found})}")


def test_requests_audio_and_rtf_are_counted_by_route_status_and_model(stack, audio):
    before = samples(stack)
    ok_before = value(before, "ray_qwen_asr_requests_total", route="/api/transcribe", method="POST", status="200") or 0
    audio_before = value(before, "ray_qwen_asr_audio_seconds_total", model=LARGE) or 0
    with open(audio["speech_en"], "rb") as handle:
        assert httpx.post(stack.url("/api/transcribe"), files={"file": ("a.wav", handle)},
                          data={"model": LARGE}, timeout=120).status_code == 200
    assert httpx.post(stack.url("/api/transcribe"), files={"file": ("a.wav", b"RIFF")},
                      data={"model": "gpt-5"}, timeout=60).status_code == 400
    assert httpx.get(stack.url("/v1/models/qwen3-asr-0.6b"), timeout=60).status_code == 200
    assert httpx.get(stack.url("/no/such/path-12345"), timeout=60).status_code == 404
    seconds = sf.info(str(audio["speech_en"])).duration

    def counted(found):
        return ((value(found, "ray_qwen_asr_requests_total", route="/api/transcribe", method="POST", status="200") or 0)
                > ok_before
                and value(found, "ray_qwen_asr_requests_total", route="/api/transcribe", status="400")
                and value(found, "ray_qwen_asr_requests_total", route="/v1/models/{model_id}", status="200")
                and value(found, "ray_qwen_asr_requests_total", route=UNMATCHED_ROUTE, status="404")
                and (value(found, "ray_qwen_asr_audio_seconds_total", model=LARGE) or 0) >= audio_before + seconds - 0.01)

    found = wait_for(stack, counted, "the requests just made")
    routes = {s.labels["route"] for s in found if s.name == "ray_qwen_asr_requests_total"}
    assert not [r for r in routes if "12345" in r or "qwen3-asr-0.6b" in r], f"raw paths became series: {routes}"
    assert value(found, "ray_qwen_asr_request_seconds_count", route="/api/transcribe") >= 2
    assert value(found, "ray_qwen_asr_rtf_count", model=LARGE) >= 1
    assert value(found, "ray_qwen_asr_rtf_bucket", model=LARGE, le="+Inf") >= 1


def test_model_state_and_queue_follow_the_service(stack, audio):
    with open(audio["speech_en"], "rb") as handle:
        assert httpx.post(stack.url("/api/transcribe"), files={"file": ("a.wav", handle)},
                          data={"model": LARGE}, timeout=120).status_code == 200
    found = wait_for(stack, lambda f: value(f, "ray_qwen_asr_model_state", model=LARGE, state="loaded") == 1.0,
                     "the loaded state of the 1.7B model")
    for state in MODEL_STATES:
        if state != "loaded":
            assert value(found, "ray_qwen_asr_model_state", model=LARGE, state=state) == 0.0, state
    assert value(found, "ray_qwen_asr_model_replicas", model=LARGE) == 1.0
    assert value(found, "ray_qwen_asr_model_load_seconds", model=LARGE) > 0
    assert value(found, "ray_qwen_asr_queue_in_flight") is not None
    assert value(found, "ray_qwen_asr_queue_waiting") is not None


async def test_streaming_sessions_are_a_gauge(stack):
    async with connect(stack.ws_url("/api/transcribe/stream"), open_timeout=60) as ws:
        await ws.send(json.dumps({"type": "start", "model": LARGE, "sample_rate": 16000, "format": "pcm_s16le"}))
        while json.loads(await ws.recv())["type"] != "ready":
            pass
        # While this session is open the gauge says so (an exported value from during the session).
        found = await asyncio.to_thread(  # off the loop: the socket keeps answering pings meanwhile
            wait_for, stack, lambda f: (value(f, "ray_qwen_asr_stream_sessions") or 0) >= 1, "an open session")
        assert value(found, "ray_qwen_asr_stream_sessions") >= 1
        await ws.send(json.dumps({"type": "stop"}))
        while json.loads(await ws.recv())["type"] != "final":
            pass
    wait_for(stack, lambda f: value(f, "ray_qwen_asr_stream_sessions") == 0, "the session's end")
