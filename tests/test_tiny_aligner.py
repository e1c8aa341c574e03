"""``aligner-scripted``: word times from the real `qwen-asr` aligner code path that follow the speech.

The checkpoint is built into a temporary folder (or reused from ``$TINY_MODELS_DIR``) and loaded with
``Qwen3ForcedAligner.from_pretrained``; the times asserted here are the raw ``align`` output, before
the service's clamping. Speech is espeak-ng with silence around it (see deployments/tiny/aligner.py
for how the times are made: onset + a quarter of the voiced duration, then 160 ms per word).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from qwen_asr import Qwen3ForcedAligner
from safetensors import safe_open

from deployments.inference import AlignerEngine, LoadOptions, clamp_word_times
from deployments.protocol import WordTime
from deployments.tiny import ALIGNER_SCRIPTED, MODEL_NAMES, ensure_tiny_models
from deployments.tiny import aligner as scripted_aligner
from tests.audio_fixtures import load_16k, speak

RATE = 16000
ENGLISH = "hello world, this is a test of the speech recognition service"
OTHER_ENGLISH = "the quick brown fox jumps over the lazy dog"
EDGE = 0.2  # how far outside the voiced region a time may lie
Item = tuple[str, float, float]


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = os.environ.get("TINY_MODELS_DIR") or tmp_path_factory.mktemp("tiny-models")
    return ensure_tiny_models(root, names=[ALIGNER_SCRIPTED])[ALIGNER_SCRIPTED]


@pytest.fixture(scope="module")
def aligner(checkpoint: str) -> Qwen3ForcedAligner:
    return Qwen3ForcedAligner.from_pretrained(checkpoint, device_map="cpu", dtype=torch.float32)


@pytest.fixture(scope="module")
def voices(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    folder = tmp_path_factory.mktemp("voices")
    phrases = {"en": ("en", ENGLISH), "other": ("en", OTHER_ENGLISH), "zh": ("cmn-latn-pinyin", "ni3 hao3 shi4 jie4")}
    return {key: load_16k(speak(text, voice, folder / f"{key}.wav")) for key, (voice, text) in phrases.items()}


def with_silence(speech: np.ndarray, lead: float = 1.0, tail: float = 1.0) -> np.ndarray:
    return np.concatenate([np.zeros(int(lead * RATE), np.float32), speech, np.zeros(int(tail * RATE), np.float32)])


def voiced_span(audio: np.ndarray) -> tuple[float, float]:
    loud = np.flatnonzero(np.abs(audio) > 0.01 * np.abs(audio).max())
    return loud[0] / RATE, loud[-1] / RATE


def align(aligner: Qwen3ForcedAligner, audio: np.ndarray, text: str = ENGLISH, language: str = "English") -> list[Item]:
    [result] = aligner.align(audio=(audio, RATE), text=text, language=language)
    return [(item.text, item.start_time, item.end_time) for item in result]


def flat_times(items: list[Item]) -> list[float]:
    return [t for _, start, end in items for t in (start, end)]


def test_it_is_a_generated_checkpoint_and_stays_small(checkpoint: str) -> None:
    assert ALIGNER_SCRIPTED in MODEL_NAMES
    weights = Path(checkpoint) / "model.safetensors"
    assert weights.stat().st_size < 200_000
    with safe_open(str(weights), framework="pt") as tensors:
        head = tensors.get_tensor("thinker.lm_head.weight")
    assert head.dtype == torch.float32, "the head's c^2 weights need float32"
    assert head.shape[0] == scripted_aligner.CLASSIFY_NUM


def test_one_item_per_word(aligner: Qwen3ForcedAligner, voices: dict[str, np.ndarray]) -> None:
    items = align(aligner, with_silence(voices["en"]))
    assert [word for word, _, _ in items] == ENGLISH.replace(",", "").split()


def test_word_times_lie_inside_the_speech(aligner: Qwen3ForcedAligner, voices: dict[str, np.ndarray]) -> None:
    audio = with_silence(voices["en"])
    first, last = voiced_span(audio)
    assert 0.95 < first < 1.1, "the fixture starts speaking after its 1 s of silence"
    times = flat_times(align(aligner, audio))
    assert all(first - EDGE <= t <= last + EDGE for t in times), (first, last, times)
    # Not all piled on one point: the words advance through the speech.
    assert times[-1] - times[0] >= 1.0


def test_times_never_go_backwards(aligner: Qwen3ForcedAligner, voices: dict[str, np.ndarray]) -> None:
    times = flat_times(align(aligner, with_silence(voices["en"])))
    assert times == sorted(times)
    assert all(end > start for _, start, end in align(aligner, with_silence(voices["en"])))


def test_raw_times_need_no_clamping(aligner: Qwen3ForcedAligner, voices: dict[str, np.ndarray]) -> None:
    audio = with_silence(voices["en"])
    items = align(aligner, audio)
    assert all(0.0 <= t <= len(audio) / RATE for t in flat_times(items))
    words = [WordTime(*item) for item in items]
    assert clamp_word_times(words, len(audio) / RATE) == words


@pytest.mark.parametrize("extra", [1, 2, 3])
def test_more_leading_silence_moves_every_time_by_as_much(
    aligner: Qwen3ForcedAligner, voices: dict[str, np.ndarray], extra: int
) -> None:
    before = flat_times(align(aligner, with_silence(voices["en"], lead=1.0)))
    after = flat_times(align(aligner, with_silence(voices["en"], lead=1.0 + extra)))
    shifts = [b - a for a, b in zip(before, after)]
    assert all(abs(shift - extra) <= 0.1 for shift in shifts), shifts


def test_more_trailing_silence_changes_nothing(aligner: Qwen3ForcedAligner, voices: dict[str, np.ndarray]) -> None:
    short = flat_times(align(aligner, with_silence(voices["en"], tail=0.5)))
    long = flat_times(align(aligner, with_silence(voices["en"], tail=3.0)))
    assert long == short


def test_different_speech_gives_different_times(aligner: Qwen3ForcedAligner, voices: dict[str, np.ndarray]) -> None:
    text = "one two three"
    english, other = (flat_times(align(aligner, with_silence(voices[k]), text)) for k in ("en", "other"))
    half = flat_times(align(aligner, with_silence(voices["en"][: len(voices["en"]) // 2]), text))
    assert len({tuple(english), tuple(other), tuple(half)}) == 3
    for speech, times in ((voices["other"], other), (voices["en"][: len(voices["en"]) // 2], half)):
        first, last = voiced_span(with_silence(speech))
        assert all(first - EDGE <= t <= last + EDGE for t in times)


def test_chinese_characters_are_timed_inside_the_speech(
    aligner: Qwen3ForcedAligner, voices: dict[str, np.ndarray]
) -> None:
    audio = with_silence(voices["zh"])
    items = align(aligner, audio, text="你好世界", language="Chinese")
    assert [word for word, _, _ in items] == list("你好世界")
    first, last = voiced_span(audio)
    times = flat_times(items)
    assert times == sorted(times)
    assert all(first - EDGE <= t <= last + EDGE for t in times)


def test_a_batch_gives_each_item_its_own_times(aligner: Qwen3ForcedAligner, voices: dict[str, np.ndarray]) -> None:
    audios = [with_silence(voices["en"]), with_silence(voices["other"], lead=2.5), with_silence(voices["zh"], 0.5)]
    texts, languages = [ENGLISH, OTHER_ENGLISH, "你好世界"], ["English", "English", "Chinese"]
    one_by_one = [align(aligner, a, t, lang) for a, t, lang in zip(audios, texts, languages)]
    batch = aligner.align(audio=[(a, RATE) for a in audios], text=texts, language=languages)
    assert [[(i.text, i.start_time, i.end_time) for i in result] for result in batch] == one_by_one


def test_times_follow_the_documented_formula(aligner: Qwen3ForcedAligner, voices: dict[str, np.ndarray]) -> None:
    audio = with_silence(voices["en"], lead=1.5)
    captured: list[torch.Tensor] = []
    hook = aligner.model.thinker.audio_tower.register_forward_hook(
        lambda _module, _args, output: captured.append(output.last_hidden_state[:, scripted_aligner.VOICED])
    )
    try:
        items = align(aligner, audio)
    finally:
        hook.remove()
    voiced = captured[0].numpy()
    assert np.all((np.abs(voiced) < 1e-3) | (np.abs(voiced - 1) < 1e-3)), "frames are voiced or not"
    n_lead, n_voiced = int(np.argmax(voiced > 0.5)), float(voiced.sum())
    assert n_lead == 19  # 1.5 s of silence = 13 + 6 frames (7 on the next 1 s chunk, 1 hop early)
    expected = scripted_aligner.scripted_times(n_lead, n_voiced, 2 * len(items))
    assert all(abs(t - e) <= 0.04 + 1e-6 for t, e in zip(flat_times(items), expected))


def test_the_service_engine_serves_the_raw_times(checkpoint: str, aligner: Qwen3ForcedAligner,
                                                 voices: dict[str, np.ndarray]) -> None:
    engine = AlignerEngine(LoadOptions(source=checkpoint, device="cpu", dtype="float32"))
    audio = with_silence(voices["en"])
    [served] = engine.align([audio], [ENGLISH], ["English"])
    assert [(w.text, w.start, w.end) for w in served] == align(aligner, audio)


def test_silence_only_puts_the_times_at_the_end(aligner: Qwen3ForcedAligner) -> None:
    # No speech: every frame is leading silence, so the raw times start at the end of the audio
    # (the service clamps them to it).
    times = flat_times(align(aligner, np.zeros(2 * RATE, np.float32), "hello world"))
    assert times == sorted(times)
    assert times[0] >= 1.9
