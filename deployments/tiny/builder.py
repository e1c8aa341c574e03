"""Configs, weights, checks and saving for the tiny Qwen3-ASR and Qwen3-ForcedAligner checkpoints.

All of them share one architecture family and one tokenizer (tokenizer.py):

- ``asr-scripted-large`` / ``asr-scripted-small``: scripted weights (scripted.py) for the 1.7B and
  0.6B slots; known texts per forced language and context (texts.py).
- ``asr-scripted``: the older single scripted checkpoint, ``hello world`` whatever the language or
  context, kept while tests and tools still point both slots at it.
- ``asr-random``: seeded random weights; deterministic junk text, for parity tests. It never
  stops by itself, so it always runs ``max_new_tokens`` steps.
- ``aligner``: a seeded random Qwen3-ForcedAligner (the same classes, ``classify_num`` outputs).
- ``aligner-scripted``: a scripted ForcedAligner (aligner.py) whose word times follow the speech:
  they start after the leading silence and move with it. Stored in float32.

Every checkpoint is built in a scratch folder, loaded back through `qwen-asr` and checked, then
moved into place with a marker file written last (see ``build``).
"""

from __future__ import annotations

import inspect
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import numpy as np
import torch
from torch import nn

from . import aligner, scripted, texts
from . import tokenizer as tok
from .texts import (
    ALIGNER,
    ALIGNER_SCRIPTED,
    ASR_RANDOM,
    ASR_SCRIPTED,
    ASR_SCRIPTED_LARGE,
    ASR_SCRIPTED_SMALL,
    SCRIPTED_LANGUAGE,
)

BUILD_VERSION: Final = 3
MARKER_FILE: Final = "tiny_checkpoint.json"
SCRIPTED_ASR: Final = (ASR_SCRIPTED_LARGE, ASR_SCRIPTED_SMALL, ASR_SCRIPTED)
MODEL_NAMES: Final = (*SCRIPTED_ASR, ASR_RANDOM, ALIGNER, ALIGNER_SCRIPTED)

RANDOM_HIDDEN_SIZE: Final = 16
STORAGE_DTYPE: Final = torch.bfloat16
CLASSIFY_NUM: Final = 128
TIMESTAMP_SEGMENT_MS: Final = 80
RANDOM_ASR_SEED: Final = 20240601
RANDOM_ALIGNER_SEED: Final = 20240602

ALIGNER_LANGUAGES: Final = (
    "Chinese", "English", "Cantonese", "French", "German", "Italian",
    "Japanese", "Korean", "Portuguese", "Russian", "Spanish",
)


# --- configs -----------------------------------------------------------------------------------

def _audio_config(hidden_size: int) -> dict:
    return {
        "num_mel_bins": 128,
        "encoder_layers": 1,
        "encoder_attention_heads": 2,
        "encoder_ffn_dim": 16,
        "d_model": 8,  # the sinusoidal position table needs d_model >= 4
        "output_dim": hidden_size,
        "downsample_hidden_size": 4,
        "max_source_positions": 1500,
        "n_window": 50,  # the library's chunk arithmetic assumes 50 (100 fails with a mask shape error)
        "n_window_infer": 800,
        "conv_chunksize": 500,
    }


def _text_config(vocab_size: int, hidden_size: int, overrides: dict | None = None) -> dict:
    return {
        "vocab_size": vocab_size,
        "hidden_size": hidden_size,
        "intermediate_size": 2 * hidden_size,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "head_dim": 8,
        "max_position_embeddings": 65536,
        "rope_theta": 1000000.0,
        # mrope_section must sum to head_dim / 2; None crashes the rotary embedding.
        "rope_scaling": {"rope_type": "default", "mrope_section": [2, 1, 1], "interleaved": True},
        "tie_word_embeddings": False,
    } | (overrides or {})


def _thinker_config(tokenizer, vocab_size: int, hidden_size: int, text_overrides: dict | None = None) -> dict:
    return {
        "audio_config": _audio_config(hidden_size),
        "text_config": _text_config(vocab_size, hidden_size, text_overrides),
        "audio_token_id": tokenizer.convert_tokens_to_ids(tok.AUDIO_PAD),
        "audio_start_token_id": tokenizer.convert_tokens_to_ids(tok.AUDIO_START),
        # Gives the generation config a pad id, so generate() does not warn about a missing one.
        "pad_token_id": tokenizer.pad_token_id,
    }


def generate_stop_id() -> int:
    """The smallest of the eos ids that `Qwen3ASRForConditionalGeneration.generate` hard-codes."""
    from qwen_asr.core.transformers_backend import Qwen3ASRForConditionalGeneration

    default = inspect.signature(Qwen3ASRForConditionalGeneration.generate).parameters["eos_token_id"].default
    return min([default] if isinstance(default, int) else default)


def asr_config(tokenizer, vocab_size: int, hidden_size: int, text_overrides: dict | None = None):
    """A Qwen3ASRConfig (imported lazily: qwen_asr is slow to import)."""
    from qwen_asr.core.transformers_backend import Qwen3ASRConfig
    from qwen_asr.inference.utils import SUPPORTED_LANGUAGES

    thinker = _thinker_config(tokenizer, vocab_size, hidden_size, text_overrides)
    return Qwen3ASRConfig(thinker_config=thinker, support_languages=list(SUPPORTED_LANGUAGES))


def aligner_config(
    tokenizer, hidden_size: int = RANDOM_HIDDEN_SIZE, text_overrides: dict | None = None,
    classify_num: int = CLASSIFY_NUM,
):  # -> Qwen3ASRConfig
    from qwen_asr.core.transformers_backend import Qwen3ASRConfig

    thinker = _thinker_config(tokenizer, len(tokenizer), hidden_size, text_overrides)
    thinker |= {"model_type": "qwen3_forced_aligner", "classify_num": classify_num}
    return Qwen3ASRConfig(
        thinker_config=thinker,
        support_languages=list(ALIGNER_LANGUAGES),
        timestamp_token_id=tokenizer.convert_tokens_to_ids(tok.TIMESTAMP),
        timestamp_segment_time=TIMESTAMP_SEGMENT_MS,
    )


def _new_model(config) -> nn.Module:  # -> Qwen3ASRForConditionalGeneration
    from qwen_asr.core.transformers_backend import Qwen3ASRForConditionalGeneration

    with torch.random.fork_rng(devices=[]):  # init draws are overwritten; keep the caller's RNG as it was
        return Qwen3ASRForConditionalGeneration(config).eval()


# --- weights -----------------------------------------------------------------------------------

def _only_rows(weight: torch.Tensor, keep: Iterable[int]) -> None:
    mask = torch.zeros(weight.shape[0], dtype=torch.bool)
    mask[list(keep)] = True
    weight[~mask] = 0.0


@torch.no_grad()
def apply_random_weights(model: nn.Module, seed: int, known_ids: range, output_ids: list[int] | None) -> None:
    """Seeded Gaussian weights, filled in name order so the result does not depend on module init.

    Embedding rows exist only for ids the tokenizer knows. When ``output_ids`` is given, only
    those ``lm_head`` rows are non-zero, so the argmax lands on tokens that decode to plain text.
    """
    generator = torch.Generator().manual_seed(seed)
    for name, param in sorted(model.named_parameters()):
        noise = torch.randn(param.shape, generator=generator)
        if param.dim() == 1:  # norm weights and biases
            param.copy_(1.0 + 0.1 * noise if name.endswith("weight") else 0.1 * noise)
        elif name.endswith("embed_tokens.weight"):
            param.copy_(noise)
        else:
            param.copy_(noise / math.sqrt(param[0].numel()))
    _only_rows(model.thinker.model.embed_tokens.weight, known_ids)
    if output_ids is not None:
        _only_rows(model.thinker.lm_head.weight, output_ids)


def plain_text_ids(tokenizer) -> list[int]:
    """BPE tokens that decode to lowercase ASCII letters, with an optional leading space."""
    ids = []
    for token_id in range(len(tokenizer)):
        if token_id in tokenizer.added_tokens_decoder:
            continue
        text = tokenizer.decode([token_id])
        if text.lstrip(" ").isalpha() and text.isascii() and text.islower():
            ids.append(token_id)
    return ids


# --- building ----------------------------------------------------------------------------------

def _save(model: nn.Module, processor, dest: Path, dtype: torch.dtype = STORAGE_DTYPE) -> None:
    processor.save_pretrained(str(dest))
    model.to(dtype).save_pretrained(str(dest), safe_serialization=True)


def _restore_aligner_model_type(dest: Path) -> None:
    # save_pretrained writes the thinker config class's model_type, but the aligner head is only
    # built when "forced_aligner" is in it at load time.
    path = dest / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config["thinker_config"]["model_type"] = "qwen3_forced_aligner"
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def build_asr_scripted(name: str, dest: Path) -> None:
    processor = tok.build_processor()
    tokenizer, stop_id = processor.tokenizer, generate_stop_id()
    # The lm_head must reach the stop id; the tokenizer's own ids end near 580.
    config = asr_config(tokenizer, stop_id + 1, scripted.HIDDEN_SIZE, scripted.text_config_overrides())
    model = _new_model(config)
    scripted.apply_scripted_weights(model, tokenizer, scripted.build_script(tokenizer, name, stop_id))
    _save(model, processor, dest)


def build_asr_random(dest: Path) -> None:
    processor = tok.build_processor()
    tokenizer = processor.tokenizer
    model = _new_model(asr_config(tokenizer, len(tokenizer), RANDOM_HIDDEN_SIZE))
    apply_random_weights(model, RANDOM_ASR_SEED, range(len(tokenizer)), plain_text_ids(tokenizer))
    _save(model, processor, dest)


def build_aligner(dest: Path) -> None:
    processor = tok.build_processor()
    model = _new_model(aligner_config(processor.tokenizer))
    apply_random_weights(model, RANDOM_ALIGNER_SEED, range(len(processor.tokenizer)), None)
    _save(model, processor, dest)
    _restore_aligner_model_type(dest)


def build_aligner_scripted(dest: Path) -> None:
    processor = tok.build_processor()
    config = aligner_config(
        processor.tokenizer, aligner.HIDDEN_SIZE, aligner.text_config_overrides(), aligner.CLASSIFY_NUM
    )
    model = _new_model(config)
    aligner.apply_aligner_weights(model, processor.tokenizer)
    _save(model, processor, dest, torch.float32)  # the head's c^2 weights need float32
    _restore_aligner_model_type(dest)


BUILDERS: Final[dict[str, Callable[[Path], None]]] = {
    **{name: (lambda dest, name=name: build_asr_scripted(name, dest)) for name in SCRIPTED_ASR},
    ASR_RANDOM: build_asr_random,
    ALIGNER: build_aligner,
    ALIGNER_SCRIPTED: build_aligner_scripted,
}


# --- checks ------------------------------------------------------------------------------------

def _check_asr_scripted(name: str, path: Path) -> None:
    from qwen_asr import Qwen3ASRModel

    model = Qwen3ASRModel.from_pretrained(str(path), device_map="cpu", dtype=torch.float32, max_new_tokens=32)
    silence = (np.zeros(16000, dtype=np.float32), 16000)
    cases = [(None, ""), (None, "names: Qwen"), *((lang, "") for lang in tok.FORCED_LANGUAGE_TOKENS)]
    results = model.transcribe([silence] * len(cases), context=[c for _, c in cases], language=[l for l, _ in cases])
    for (language, context), result in zip(cases, results):
        expected = (language or SCRIPTED_LANGUAGE, texts.scripted_text(name, language, context))
        if (result.language, result.text) != expected:
            raise RuntimeError(f"{name} answered {result.language!r}/{result.text!r}, expected {expected}")


def _check_asr_random(path: Path) -> None:
    from qwen_asr import Qwen3ASRModel

    model = Qwen3ASRModel.from_pretrained(str(path), device_map="cpu", dtype=torch.float32, max_new_tokens=4)
    model.transcribe((np.zeros(16000, dtype=np.float32), 16000))


def _check_aligner(path: Path) -> None:
    from qwen_asr import Qwen3ForcedAligner

    aligner = Qwen3ForcedAligner.from_pretrained(str(path), device_map="cpu", dtype=torch.float32)
    result = aligner.align(audio=(np.zeros(16000, dtype=np.float32), 16000), text="hello world", language="English")
    if [item.text for item in result[0]] != ["hello", "world"]:
        raise RuntimeError(f"aligner returned {result[0]}")


def _check_aligner_scripted(path: Path) -> None:
    _check_aligner(path)
    aligner.check_speech_times(str(path))


CHECKS: Final[dict[str, Callable[[Path], None]]] = {
    **{name: (lambda path, name=name: _check_asr_scripted(name, path)) for name in SCRIPTED_ASR},
    ASR_RANDOM: _check_asr_random,
    ALIGNER: _check_aligner,
    ALIGNER_SCRIPTED: _check_aligner_scripted,
}


# --- the folder protocol -----------------------------------------------------------------------

def _write_marker(name: str, folder: Path) -> None:
    files = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != MARKER_FILE)
    marker = {"name": name, "version": BUILD_VERSION, "files": files}
    (folder / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")


def is_complete(folder: Path, name: str) -> bool:
    """Complete: the marker (written last) matches this generator version and its files exist."""
    try:
        marker = json.loads((folder / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if marker.get("name") != name or marker.get("version") != BUILD_VERSION:
        return False
    return all((folder / file).is_file() for file in marker.get("files", []))


def _make_world_readable(folder: Path) -> None:
    # mkdtemp creates 0700 folders and safetensors files come out 0600; containers that mount the
    # cache under another user need to read them.
    folder.chmod(0o755)
    for path in folder.iterdir():
        path.chmod(0o644)


@contextmanager
def _one_torch_thread() -> Iterator[None]:
    # Tiny tensors: extra intra-op threads only add spin-waiting, badly so on a busy machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _move_into_place(scratch: Path, dest: Path, name: str, force: bool) -> None:
    if dest.exists():
        if is_complete(dest, name) and not force:  # a concurrent builder finished first
            return
        shutil.rmtree(dest)
    try:
        os.rename(scratch, dest)
    except OSError:
        if not is_complete(dest, name):
            raise


def build(name: str, dest: Path, force: bool = False) -> None:
    """Build one checkpoint in a scratch folder next to ``dest``, check it, then move it into place."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=dest.parent))
    try:
        with _one_torch_thread():
            BUILDERS[name](scratch)
            CHECKS[name](scratch)
        _write_marker(name, scratch)
        _make_world_readable(scratch)
        _move_into_place(scratch, dest, name, force)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def ensure_tiny_models(
    out_dir: str | os.PathLike[str], force: bool = False, names: Iterable[str] = MODEL_NAMES
) -> dict[str, str]:
    """Build whichever tiny checkpoints are missing (all of them with ``force``).

    Returns ``{name: absolute folder path}`` for ``names``, in that order.
    """
    out = Path(out_dir).absolute()
    paths: dict[str, str] = {}
    for name in names:
        if name not in BUILDERS:
            raise ValueError(f"unknown tiny model {name!r}; choose from {MODEL_NAMES}")
        dest = out / name
        if force or not is_complete(dest, name):
            build(name, dest, force=force)
        paths[name] = str(dest)
    return paths
