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
    ASR_SCRIPTED_LARGE,
    ASR_SCRIPTED_SMALL,
    CONTEXT_SUFFIX,
    MODEL_NAMES,
    SCRIPTED_ASR,
    SCRIPTED_FORCED_TEXTS,
    SCRIPTED_LANGUAGE,
    SCRIPTED_SLOTS,
    SCRIPTED_TEXT,
    SCRIPTED_TEXTS,
    ensure_tiny_models,
    scripted_text,
)
from deployments.tiny import tokenizer as tiny_tokenizer

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


@pytest.fixture(scope="module")
def slot_models(tiny_models: dict[str, str]) -> dict[str, Qwen3ASRModel]:
    return {name: load_asr(tiny_models[name]) for name in (ASR_SCRIPTED_LARGE, ASR_SCRIPTED_SMALL)}


def test_every_model_is_built_and_small(tiny_models: dict[str, str]) -> None:
    assert list(tiny_models) == list(MODEL_NAMES)
    for name, path in tiny_models.items():
        files = {p.name for p in Path(path).iterdir()}
        assert {"config.json", "model.safetensors", "tokenizer.json", "preprocessor_config.json"} <= files
        # The scripted vocabulary is stretched to the hard-coded stop id (151644 rows x 5 dims x 2).
        limit = 3_200_000 if name in SCRIPTED_ASR else 200_000
        assert (Path(path) / "model.safetensors").stat().st_size < limit


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


# --- the per-slot scripted checkpoints -------------------------------------------------------

def test_the_slots_have_their_own_checkpoints_and_sentences() -> None:
    assert SCRIPTED_SLOTS == {"qwen3-asr-1.7b": ASR_SCRIPTED_LARGE, "qwen3-asr-0.6b": ASR_SCRIPTED_SMALL}
    assert SCRIPTED_TEXTS[ASR_SCRIPTED_LARGE] == "hello world"
    assert SCRIPTED_TEXTS[ASR_SCRIPTED_SMALL] == "good morning"
    every_text = [*SCRIPTED_TEXTS.values(), *SCRIPTED_FORCED_TEXTS.values()]
    assert len(set(every_text)) == len(every_text), "every (slot, language) must be told apart"


@pytest.mark.parametrize("name", [ASR_SCRIPTED_LARGE, ASR_SCRIPTED_SMALL])
def test_each_slot_says_its_own_sentence(slot_models: dict[str, Qwen3ASRModel], name: str) -> None:
    [result] = slot_models[name].transcribe(clip(3.0))
    assert (result.language, result.text) == (SCRIPTED_LANGUAGE, SCRIPTED_TEXTS[name])


def test_large_and_small_differ_on_the_same_audio(slot_models: dict[str, Qwen3ASRModel]) -> None:
    audio = clip(2.0, seed=7)
    large = slot_models[ASR_SCRIPTED_LARGE].transcribe(audio)[0].text
    small = slot_models[ASR_SCRIPTED_SMALL].transcribe(audio)[0].text
    assert (large, small) == ("hello world", "good morning")


@pytest.mark.parametrize("name", [ASR_SCRIPTED_LARGE, ASR_SCRIPTED_SMALL])
@pytest.mark.parametrize("language", ["Chinese", "Japanese", "English", "German"])
def test_forced_language_changes_the_text(slot_models: dict[str, Qwen3ASRModel], name: str, language: str) -> None:
    [result] = slot_models[name].transcribe(clip(2.0, seed=3), language=language.lower())
    expected = SCRIPTED_FORCED_TEXTS.get((name, language), SCRIPTED_TEXTS[name])
    assert (result.language, result.text) == (language, expected)
    assert expected == scripted_text(name, language)


def test_forced_texts_are_the_known_sentences() -> None:
    assert SCRIPTED_FORCED_TEXTS == {
        (ASR_SCRIPTED_LARGE, "Chinese"): "你好世界",
        (ASR_SCRIPTED_LARGE, "Japanese"): "こんにちは世界",
        (ASR_SCRIPTED_SMALL, "Chinese"): "早上好",
        (ASR_SCRIPTED_SMALL, "Japanese"): "おはようございます",
    }


CONTEXTS = ["names: Qwen, Ray Serve", "hello world", "system", "你好，关键词：通义千问", "x", "  ", "a" * 300]


@pytest.mark.parametrize("name", [ASR_SCRIPTED_LARGE, ASR_SCRIPTED_SMALL])
@pytest.mark.parametrize("context", CONTEXTS)
def test_a_context_changes_the_text(slot_models: dict[str, Qwen3ASRModel], name: str, context: str) -> None:
    model = slot_models[name]
    [plain, with_context] = model.transcribe([clip(1.5, seed=4)] * 2, context=["", context])
    assert plain.text == SCRIPTED_TEXTS[name]
    assert with_context.text == SCRIPTED_TEXTS[name] + CONTEXT_SUFFIX == scripted_text(name, None, context)
    assert with_context.language == SCRIPTED_LANGUAGE


@pytest.mark.parametrize("language", ["Chinese", "Japanese", "French"])
def test_a_context_with_a_forced_language(slot_models: dict[str, Qwen3ASRModel], language: str) -> None:
    model = slot_models[ASR_SCRIPTED_SMALL]
    [result] = model.transcribe(clip(1.0, seed=5), context="glossary: Qwen", language=language)
    assert (result.language, result.text) == (language, scripted_text(ASR_SCRIPTED_SMALL, language, "glossary"))
    assert result.text.endswith(CONTEXT_SUFFIX)


@pytest.mark.parametrize("seconds", [0.5, 45.0, 180.0])
def test_context_is_seen_at_any_audio_length(slot_models: dict[str, Qwen3ASRModel], seconds: float) -> None:
    # The context sits at the start of the prompt, up to 2250 audio tokens away from the last token.
    model = slot_models[ASR_SCRIPTED_LARGE]
    audio = clip(seconds, seed=6)
    assert [model.transcribe(audio, context=c)[0].text for c in ("", "names: Qwen")] == [
        "hello world", "hello world" + CONTEXT_SUFFIX,
    ]


def test_a_mixed_batch_keeps_each_item_apart(slot_models: dict[str, Qwen3ASRModel]) -> None:
    model = slot_models[ASR_SCRIPTED_LARGE]
    cases = [(None, ""), ("Chinese", "ctx"), (None, "ctx"), ("Japanese", ""), ("English", "ctx"), ("Chinese", "")]
    audios = [clip(0.5 + 1.3 * i, seed=20 + i) for i in range(len(cases))]  # left padding differs per item
    results = model.transcribe(audios, context=[c for _, c in cases], language=[l for l, _ in cases])
    assert [(r.language, r.text) for r in results] == [
        (l or SCRIPTED_LANGUAGE, scripted_text(ASR_SCRIPTED_LARGE, l, c)) for l, c in cases
    ]


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_slot_checkpoints_in_half_precision(tiny_models: dict[str, str], dtype: torch.dtype) -> None:
    model = load_asr(tiny_models[ASR_SCRIPTED_SMALL], dtype=dtype)
    cases = [(None, ""), ("Japanese", ""), (None, "ctx"), ("Chinese", "ctx")]
    results = model.transcribe([clip(1.0, seed=i) for i in range(4)], context=[c for _, c in cases],
                               language=[l for l, _ in cases])
    assert [r.text for r in results] == [scripted_text(ASR_SCRIPTED_SMALL, l, c) for l, c in cases]


@pytest.mark.parametrize("name", [ASR_SCRIPTED_LARGE, ASR_SCRIPTED_SMALL])
def test_slot_generation_stops_by_itself(slot_models: dict[str, Qwen3ASRModel], name: str) -> None:
    model = slot_models[name]
    prompt = model._build_text_prompt(context="names: Qwen", force_language=None)
    inputs = model.processor(text=[prompt], audio=[clip(1.0)[0]], return_tensors="pt", padding=True)
    output = model.model.generate(**inputs, max_new_tokens=64)
    new_tokens = output.sequences[0, inputs["input_ids"].shape[1]:].tolist()
    stop_ids = inspect.signature(type(model.model).generate).parameters["eos_token_id"].default
    # language, " English", <asr_text>, two words, " with", " context", then a stop id
    assert len(new_tokens) == 8
    assert new_tokens[-1] in stop_ids


def test_the_prompt_anchors_tokenize_as_the_scripts_expect(slot_models: dict[str, Qwen3ASRModel]) -> None:
    model = slot_models[ASR_SCRIPTED_LARGE]
    tokenizer = model.processor.tokenizer

    def tokens(context: str, language: str | None) -> list[str]:
        ids = tokenizer.encode(model._build_text_prompt(context=context, force_language=language))
        return tokenizer.convert_ids_to_tokens(ids)

    plain, with_context = tokens("", "Chinese"), tokens("system", None)
    assert tiny_tokenizer.EMPTY_SYSTEM in plain and tiny_tokenizer.CONTEXT_MARK not in plain
    assert tiny_tokenizer.CONTEXT_MARK in with_context and tiny_tokenizer.EMPTY_SYSTEM not in with_context
    assert plain[-1] == tiny_tokenizer.forced_language_token("Chinese")
    assert tokens("", "German")[-1] == tiny_tokenizer.ASR_TEXT


def test_legacy_scripted_ignores_the_context(scripted: Qwen3ASRModel) -> None:
    results = scripted.transcribe([clip(1.0)] * 2, context=["", "names: Qwen"], language=[None, "Japanese"])
    assert [(r.language, r.text) for r in results] == [(SCRIPTED_LANGUAGE, SCRIPTED_TEXT), ("Japanese", SCRIPTED_TEXT)]
