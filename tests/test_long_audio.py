"""Audio longer than one model piece is cut at quiet points and comes back whole."""

from __future__ import annotations

import httpx

from tests.audio_fixtures import long_speech as make_long_speech
from tests.stack import LIFECYCLE_APP, expected_text

PIECE_SECONDS = 8  # the lifecycle app's asr_piece_seconds
SENTENCE = expected_text("qwen3-asr-0.6b", "English")  # what every piece says


def long_speech(audio, tmp_path, seconds: float):
    return make_long_speech(audio["speech_en"], tmp_path / "long.wav", seconds)


def test_long_audio_is_transcribed_in_pieces_and_returned_whole(stack, audio, tmp_path):
    path, duration = long_speech(audio, tmp_path, 3.2 * PIECE_SECONDS)
    with open(path, "rb") as handle:
        response = httpx.post(stack.url("/api/transcribe", LIFECYCLE_APP), files={"file": ("long.wav", handle)},
                              data={"model": "qwen3-asr-0.6b", "language": "en"}, timeout=300)
    assert response.status_code == 200, response.text
    body = response.json()
    pieces = body["text"].split(SENTENCE)
    assert len(pieces) - 1 >= 4, body["text"]  # at least ceil(25.6 / 8) pieces, each one sentence
    assert body["text"].replace(SENTENCE, "").strip() == ""
    assert abs(body["duration_seconds"] - duration) < 0.01


def test_long_audio_timestamps_are_offset_per_piece(stack, audio, tmp_path):
    path, duration = long_speech(audio, tmp_path, 2.5 * PIECE_SECONDS)
    with open(path, "rb") as handle:
        response = httpx.post(stack.url("/api/transcribe", LIFECYCLE_APP), files={"file": ("long.wav", handle)},
                              data={"model": "qwen3-asr-0.6b", "language": "en", "return_timestamps": "true"},
                              timeout=300)
    assert response.status_code == 200, response.text
    words = response.json()["timestamps"]
    assert len(words) >= 6 and {w["text"] for w in words} == set(SENTENCE.split())
    assert all(0 <= w["start"] <= w["end"] <= duration for w in words)
    assert max(w["start"] for w in words) > PIECE_SECONDS  # later pieces are shifted by their offset
    starts = [w["start"] for w in words]
    assert starts == sorted(starts), "piece offsets must keep the words in order"
