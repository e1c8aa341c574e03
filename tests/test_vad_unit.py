"""Silero VAD, torch-free: the library's own code and weights, on espeak speech with known pauses."""

from __future__ import annotations

import json
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from serve_app.vad import silero
from serve_app.vad.file_plan import plan_file, regions, split_region
from serve_app.vad.spans import VadParams, quietest_point, speech_spans
from tests.audio_fixtures import load_16k, speak

SR = 16_000
ROOT = Path(__file__).resolve().parents[1]
PARAMS = VadParams(threshold=0.5, min_silence_ms=300, speech_pad_ms=100, min_speech_ms=250)
SENTENCES = ("the quick brown fox jumps over the lazy dog", "speech recognition works offline",
             "every pause here is known to the test")
PAUSES = (1.5, 4.0)  # seconds of silence after the first and the second sentence


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SR), np.float32)


@pytest.fixture(scope="module")
def spoken(tmp_path_factory) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Three espeak sentences after 1 s of silence with PAUSES between them; the pauses' (start, end) in s."""
    folder = tmp_path_factory.mktemp("vad")
    parts = [load_16k(speak(text, "en", folder / f"s{i}.wav")) for i, text in enumerate(SENTENCES)]
    audio, pauses, at = [silence(1.0)], [], 1.0
    for i, part in enumerate(parts):
        audio.append(part)
        at += part.size / SR
        if i < len(PAUSES):
            pauses.append((at, at + PAUSES[i]))
            audio.append(silence(PAUSES[i]))
            at += PAUSES[i]
    return np.concatenate(audio), pauses


def noisy(samples: np.ndarray, level: float, seed: int = 0) -> np.ndarray:
    return (samples + level * np.random.default_rng(seed).standard_normal(samples.size)).astype(np.float32)


# ---- the library's code, loaded without torch ----------------------------------------------------
def test_loading_the_vad_imports_no_torch():
    code = "import sys, json\nimport serve_app.vad.file_plan, serve_app.vad.live\n" \
           "from serve_app.vad.silero import shared_vad\nshared_vad()\nprint(json.dumps('torch' in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) is False


def test_the_functions_are_the_librarys_own_and_answer_like_it(spoken):
    import silero_vad

    folder = Path(silero_vad.__file__).parent
    assert {Path(f).resolve() for f in silero.SOURCE_FILES} == {(folder / "utils_vad.py").resolve(),
                                                                 (folder / "sequence_vad.py").resolve()}
    audio = noisy(spoken[0], 0.01)
    library_model = silero_vad.load_silero_vad(sequence=True)
    ours = silero.shared_vad().probabilities(audio)
    assert np.array_equal(ours, library_model.audio_forward(audio))
    expected = silero_vad.get_speech_timestamps_sequence(
        audio, library_model, threshold=PARAMS.threshold, min_silence_duration_ms=PARAMS.min_silence_ms,
        speech_pad_ms=PARAMS.speech_pad_ms, min_speech_duration_ms=PARAMS.min_speech_ms)
    assert speech_spans(ours, audio.size, PARAMS) == [(s["start"], s["end"]) for s in expected]


def test_a_stream_fed_piece_by_piece_gets_the_whole_files_probabilities(spoken):
    audio = spoken[0]
    vad = silero.shared_vad()
    whole = vad.probabilities(audio)
    state = silero.VadState()
    frames = audio[: audio.size // silero.FRAME_SAMPLES * silero.FRAME_SAMPLES].reshape(-1, silero.FRAME_SAMPLES)
    fed, at = [], 0
    for size in (1, 7, 600, 3, 31, 10_000):  # blocks larger than max_frames too
        fed.append(state.forward(vad, frames[at:at + size]))
        at += size
    got = np.concatenate(fed)
    assert got.size == min(at, frames.shape[0])
    np.testing.assert_allclose(got, whole[:got.size], atol=1e-6)


# ---- speech on real speech -----------------------------------------------------------------------
@pytest.mark.parametrize("level", [0.0, 0.01, 0.03])
def test_speech_spans_leave_the_known_pauses_free(spoken, level):
    audio, pauses = noisy(spoken[0], level), spoken[1]
    spans = speech_spans(silero.shared_vad().probabilities(audio), audio.size, PARAMS)
    assert len(spans) == len(SENTENCES), spans
    for start, end in pauses:  # no speech inside a pause, beyond the padding
        inner = (int((start + 0.15) * SR), int((end - 0.15) * SR))
        assert not any(a < inner[1] and b > inner[0] for a, b in spans), (spans, start, end)


@pytest.mark.parametrize("signal", ["silence", "noise", "tone"])
def test_audio_without_speech_has_no_speech_and_no_piece(signal):
    t = np.arange(10 * SR) / SR
    audio = {"silence": silence(10), "noise": noisy(silence(10), 0.05),
             "tone": (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)}[signal]
    probs = silero.shared_vad().probabilities(audio)
    assert speech_spans(probs, audio.size, PARAMS) == []
    assert plan_file(probs, audio.size, PARAMS, limit=4 * SR, skip=2 * SR).pieces == []


@pytest.mark.parametrize("level", [0.0, 0.01])
def test_a_long_file_is_cut_in_the_pauses_and_the_long_pause_skipped(spoken, level):
    audio, pauses = noisy(spoken[0], level), spoken[1]
    probs = silero.shared_vad().probabilities(audio)
    plan = plan_file(probs, audio.size, PARAMS, limit=5 * SR, skip=3 * SR)
    # the 4 s pause is skipped (less its padding), the 1.5 s one is a cut
    assert len(plan.pieces) == 3, plan.pieces
    long_start, long_end = pauses[1]
    assert long_end - long_start - 0.5 <= plan.skipped_samples / SR <= long_end - long_start + 1.0
    first_cut = plan.pieces[0][1]
    assert pauses[0][0] < first_cut / SR < pauses[0][1]
    assert all(end - start <= 5 * SR for start, end in plan.pieces)


# ---- the plan, on made-up probabilities (32 ms frames) -------------------------------------------
def frames_of(*runs: tuple[float, float]) -> np.ndarray:
    """Probabilities from (seconds, probability) runs."""
    return np.concatenate([np.full(round(s * SR / silero.FRAME_SAMPLES), p, np.float32) for s, p in runs])


def test_a_short_file_with_speech_is_sent_whole():
    probs = frames_of((2, 0.0), (1, 0.9), (2, 0.0))
    total = probs.size * silero.FRAME_SAMPLES
    assert plan_file(probs, total, PARAMS, limit=10 * SR, skip=SR).pieces == [(0, total)]


def test_cut_at_the_latest_pause_in_the_second_half_of_the_limit():
    probs = frames_of((3, 0.9), (0.5, 0.0), (3, 0.9), (0.5, 0.0), (3, 0.9), (0.5, 0.0), (3, 0.9))
    total = probs.size * silero.FRAME_SAMPLES
    plan = plan_file(probs, total, PARAMS, limit=8 * SR, skip=5 * SR)
    cuts = [start for start, _ in plan.pieces[1:]]
    assert plan.skipped_samples == 0 and plan.pieces[0][0] == 0 and plan.pieces[-1][1] == total
    assert abs(cuts[0] / SR - 6.75) < 0.1  # the second pause (6.5-7.0 s), not the first
    assert all(end - start <= 8 * SR for start, end in plan.pieces)


def test_speech_without_a_pause_is_cut_at_its_least_speechlike_frame_near_the_limit():
    probs = frames_of((20, 0.9))
    probs[int(7.0 * SR / silero.FRAME_SAMPLES)] = 0.6
    total = probs.size * silero.FRAME_SAMPLES
    pieces = plan_file(probs, total, PARAMS, limit=8 * SR, skip=5 * SR).pieces
    assert abs(pieces[0][1] / SR - 7.0) < 0.1
    assert all(end - start <= 8 * SR for start, end in pieces)
    assert sum(end - start for start, end in pieces) == total


def test_regions_split_only_at_long_gaps():
    spans = [(0, 100), (150, 300), (1000, 1200)]
    assert regions(spans, 1500, skip=500) == [[(0, 100), (150, 300)], [(1000, 1200)]]


def test_split_region_keeps_every_sample_and_the_limit():
    probs = np.full(2000, 0.9, np.float32)
    pieces = split_region(0, 2000 * silero.FRAME_SAMPLES, [], probs, limit=5 * SR)
    assert pieces[0][0] == 0 and pieces[-1][1] == 2000 * silero.FRAME_SAMPLES
    assert all(b == c for (_, b), (c, _) in pairwise(pieces))
    assert all(end - start <= 5 * SR for start, end in pieces)


def test_quietest_point_prefers_the_latest_of_equals():
    probs = np.array([0.9, 0.1, 0.9, 0.1, 0.9], np.float32)
    assert quietest_point(probs, 0, 5 * silero.FRAME_SAMPLES) == 3 * silero.FRAME_SAMPLES + silero.FRAME_SAMPLES // 2
