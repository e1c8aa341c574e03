"""The tiny checkpoints load through the real `qwen-asr` loaders and behave as documented.

Builds into a temporary folder, or reuses ``$TINY_MODELS_DIR`` (e.g. ``.cache/tiny-models``).
"""

from __future__ import annotations

import hashlib
import inspect
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from qwen_asr import Qwen3ASRModel, Qwen3ForcedAligner

from deployments.tiny import (
    ALIGNER,
    ASR_RANDOM,
    ASR_SCRIPTED,
    MODEL_NAMES,
    SCRIPTED_LANGUAGE,
    SCRIPTED_TEXT,
    ensure_tiny_models,
)

SAMPLE_RATE = 16000


def clip(seconds: float, seed: int = 0) -> tuple[np.ndarray, int]:
    """A seeded tone plus noise: deterministic, and different for every seed."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    wave = 0.3 * np.sin(2 * np.pi * rng.uniform(100, 1000) * t) + 0.05 * rng.standard_normal(t.size)
    return wave.astype(np.float32), SAMPLE_RATE


def load_asr(path: str, dtype: torch.dtype = torch.float32, max_new_tokens: int = 64) -> Qwen3ASRModel:
    return Qwen3ASRModel.from_pretrained(path, device_map="cpu", dtype=dtype, max_new_tokens=max_new_tokens)


def file_digests(folder: str | Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(folder).iterdir())}


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread() -> Iterator[None]:
    # The models are tiny: a second intra-op thread buys nothing, and on a busy machine the
    # threads' spin-waiting makes every call several times slower.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = os.environ.get("TINY_MODELS_DIR") or tmp_path_factory.mktemp("tiny-models")
    return ensure_tiny_models(root)


@pytest.fixture(scope="module")
def scripted(tiny_models: dict[str, str]) -> Qwen3ASRModel:
    return load_asr(tiny_models[ASR_SCRIPTED])


@pytest.fixture(scope="module")
def aligner(tiny_models: dict[str, str]) -> Qwen3ForcedAligner:
    return Qwen3ForcedAligner.from_pretrained(tiny_models[ALIGNER], device_map="cpu", dtype=torch.float32)


def test_every_model_is_built_and_small(tiny_models: dict[str, str]) -> None:
    assert list(tiny_models) == list(MODEL_NAMES)
    for path in tiny_models.values():
        files = {p.name for p in Path(path).iterdir()}
        assert {"config.json", "model.safetensors", "tokenizer.json", "preprocessor_config.json"} <= files
        assert (Path(path) / "model.safetensors").stat().st_size < 2_000_000


def test_scripted_detects_english(scripted: Qwen3ASRModel) -> None:
    [result] = scripted.transcribe(clip(3.0))
    assert (result.language, result.text) == (SCRIPTED_LANGUAGE, SCRIPTED_TEXT)


@pytest.mark.parametrize(("requested", "reported"), [("Chinese", "Chinese"), ("japanese", "Japanese")])
def test_scripted_reports_a_forced_language(scripted: Qwen3ASRModel, requested: str, reported: str) -> None:
    [result] = scripted.transcribe(clip(2.0), language=requested)
    assert (result.language, result.text) == (reported, SCRIPTED_TEXT)


def test_scripted_batch_of_different_lengths(scripted: Qwen3ASRModel) -> None:
    audios = [clip(0.5, seed=1), clip(2.0, seed=2), clip(6.0, seed=3)]
    results = scripted.transcribe(audios, context=["", "names: Qwen", ""], language=[None, "German", None])
    assert [(r.language, r.text) for r in results] == [
        (SCRIPTED_LANGUAGE, SCRIPTED_TEXT),
        ("German", SCRIPTED_TEXT),
        (SCRIPTED_LANGUAGE, SCRIPTED_TEXT),
    ]


def test_scripted_generation_stops_by_itself(scripted: Qwen3ASRModel) -> None:
    prompt = scripted._build_text_prompt(context="", force_language=None)
    inputs = scripted.processor(text=[prompt], audio=[clip(1.0)[0]], return_tensors="pt", padding=True)
    output = scripted.model.generate(**inputs, max_new_tokens=64)
    new_tokens = output.sequences[0, inputs["input_ids"].shape[1]:].tolist()
    stop_ids = inspect.signature(type(scripted.model).generate).parameters["eos_token_id"].default
    # language, " English", <asr_text>, "hello", " world", then a stop id
    assert len(new_tokens) == 6
    assert new_tokens[-1] in stop_ids


@pytest.mark.parametrize("max_new_tokens", [5, 512])
def test_scripted_answer_does_not_depend_on_max_new_tokens(tiny_models: dict[str, str], max_new_tokens: int) -> None:
    model = load_asr(tiny_models[ASR_SCRIPTED], max_new_tokens=max_new_tokens)
    [result] = model.transcribe(clip(1.0))
    assert (result.language, result.text) == (SCRIPTED_LANGUAGE, SCRIPTED_TEXT)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_scripted_in_half_precision(tiny_models: dict[str, str], dtype: torch.dtype) -> None:
    model = load_asr(tiny_models[ASR_SCRIPTED], dtype=dtype)
    results = model.transcribe([clip(1.0), clip(2.0, seed=5)], language=[None, "French"])
    assert [(r.language, r.text) for r in results] == [(SCRIPTED_LANGUAGE, SCRIPTED_TEXT), ("French", SCRIPTED_TEXT)]


def test_random_model_is_deterministic_and_listens(tiny_models: dict[str, str]) -> None:
    audios = [clip(1.0, seed=11), clip(2.5, seed=12)]
    first = [r.text for r in load_asr(tiny_models[ASR_RANDOM], max_new_tokens=12).transcribe(audios)]
    second = [r.text for r in load_asr(tiny_models[ASR_RANDOM], max_new_tokens=12).transcribe(audios)]
    assert first == second
    assert all(text.strip() for text in first)
    assert first[0] != first[1], "different audio should give different junk"


def test_aligner_returns_one_item_per_word(aligner: Qwen3ForcedAligner) -> None:
    [result] = aligner.align(audio=clip(3.0), text="hello world", language="English")
    assert [item.text for item in result] == ["hello", "world"]
    for item in result:
        assert isinstance(item.start_time, float) and isinstance(item.end_time, float)


def test_aligner_handles_chinese_and_japanese(aligner: Qwen3ForcedAligner) -> None:
    chinese, japanese = aligner.align(
        audio=[clip(2.0), clip(3.0, seed=4)],
        text=["你好世界", "こんにちは世界"],
        language=["Chinese", "Japanese"],
    )
    assert [item.text for item in chinese] == ["你", "好", "世", "界"]
    assert japanese.items and "".join(item.text for item in japanese) == "こんにちは世界"


def test_generator_skips_complete_folders(tiny_models: dict[str, str]) -> None:
    before = {p: p.stat().st_mtime_ns for path in tiny_models.values() for p in Path(path).iterdir()}
    again = ensure_tiny_models(Path(tiny_models[ASR_SCRIPTED]).parent)
    after = {p: p.stat().st_mtime_ns for path in again.values() for p in Path(path).iterdir()}
    assert again == tiny_models
    assert after == before


def test_incomplete_folder_is_rebuilt_identically(tiny_models: dict[str, str], tmp_path: Path) -> None:
    folder = Path(ensure_tiny_models(tmp_path, names=[ASR_RANDOM])[ASR_RANDOM])
    built = file_digests(folder)
    (folder / "model.safetensors").unlink()
    assert ensure_tiny_models(tmp_path, names=[ASR_RANDOM]) == {ASR_RANDOM: str(folder)}
    assert file_digests(folder) == built
    assert built == file_digests(tiny_models[ASR_RANDOM]), "same seed, same bytes"
