"""Silero VAD through the real stack: what it skips is reported, and never reaches the model."""

from __future__ import annotations

import httpx
import numpy as np

from tests.audio_fixtures import load_16k, write_array
from tests.stack import expected_text

SR = 16_000
SCRIPTED = expected_text("qwen3-asr-1.7b")


def post(stack, path) -> dict:
    with open(path, "rb") as handle:
        response = httpx.post(stack.url("/api/transcribe"), files={"file": (path.name, handle)}, timeout=300)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_long_file_without_speech_is_skipped_whole(stack, tmp_path):
    noise = (0.03 * np.random.default_rng(2).standard_normal(25 * SR)).astype(np.float32)  # > one 20 s piece
    body = post(stack, write_array(tmp_path / "noise.wav", noise))
    # the scripted model says its sentence for any audio it hears: "" means it heard nothing
    assert body["text"] == "" and body["skipped_seconds"] == body["duration_seconds"] == 25.0


def test_a_file_that_fits_one_piece_goes_to_the_model_whole(stack, tmp_path):
    """No VAD cost on a short request: the model hears it as a direct call would (the scripted
    model answers its sentence for any audio; a real model answers noise with no text)."""
    noise = (0.03 * np.random.default_rng(2).standard_normal(6 * SR)).astype(np.float32)
    body = post(stack, write_array(tmp_path / "noise.wav", noise))
    assert body["text"] == SCRIPTED and body["skipped_seconds"] == 0.0


def test_a_long_file_skips_its_long_silences_and_keeps_its_speech(stack, audio, tmp_path):
    speech = load_16k(audio["speech_en"])
    gap = np.zeros(15 * SR, np.float32)  # the file (~40 s) is longer than the main app's 20 s pieces
    body = post(stack, write_array(tmp_path / "gaps.wav", np.concatenate([speech, gap, speech, gap, speech])))
    assert body["text"] == " ".join([SCRIPTED] * 3)
    assert 2 * 15 - 2 <= body["skipped_seconds"] <= 2 * 15 + 1
