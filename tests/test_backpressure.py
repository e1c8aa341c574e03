"""Overload: Serve backpressure answers 503 with Retry-After, never a hang, and the service recovers."""

from __future__ import annotations

import concurrent.futures

import httpx

from tests.stack import LIFECYCLE_APP


def post(stack, path):
    with open(path, "rb") as handle:
        return httpx.post(stack.url("/api/transcribe", LIFECYCLE_APP), files={"file": ("a.wav", handle)},
                          data={"model": "qwen3-asr-0.6b", "language": "en"}, timeout=300)


def test_overload_is_503_with_retry_after_and_recovers(stack, audio):
    post(stack, audio["speech_en"])  # warm: queues are tiny in this app (2 ongoing + 2 queued)
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        responses = list(pool.map(lambda _: post(stack, audio["speech_en"]), range(12)))
    codes = sorted(r.status_code for r in responses)
    assert set(codes) <= {200, 503}, codes
    assert 200 in codes and 503 in codes, codes
    refused = next(r for r in responses if r.status_code == 503)
    assert refused.json()["error"]["code"] == "overloaded"
    assert int(refused.headers["Retry-After"]) > 0
    assert post(stack, audio["speech_en"]).status_code == 200
    status = httpx.get(stack.url("/api/status", LIFECYCLE_APP), timeout=30).json()
    assert status["queue"]["in_flight"] == 0
