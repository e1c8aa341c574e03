"""Configs, weights and saving for the tiny Qwen3-ASR and Qwen3-ForcedAligner checkpoints.

Three checkpoints share one architecture family and one tokenizer:

- ``asr-scripted``: every weight is zero except the token embedding, the ``lm_head`` and the
  norms. Attention and MLP outputs are therefore zero, the last hidden state is the embedding of
  the last token, and the ``lm_head`` holds a successor table: greedy decoding walks
  ``\\n -> language -> English -> <asr_text> -> hello -> world -> stop`` whatever the audio.
  A forced language ends the prompt with ``<asr_text>``, which enters the same walk half-way.
- ``asr-random``: seeded random weights; deterministic junk text, for parity tests. It never
  stops by itself, so it always runs ``max_new_tokens`` steps.
- ``aligner``: a seeded random Qwen3-ForcedAligner (the same classes, ``classify_num`` outputs).

``Qwen3ASRForConditionalGeneration.generate`` stops only on its hard-coded ids 151643/151645,
while the tokenizer has about 520 ids. So the scripted vocabulary is stretched to 151644 rows
and its ``lm_head`` ends the walk on 151643: generation stops by itself, and decoding drops the
id because the tokenizer does not know it. Those rows are the bulk of its file, hence a hidden
size of 2 and bfloat16 storage (1.2 MB). The price: the library computes logits for every
prompt position, so the prefill holds ``prompt_tokens x 151644`` logits (13 tokens per second of
audio: about 1.4 GB in float32 for a 3-minute clip). The other two keep the tokenizer's size.
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

from . import tokenizer as tok

BUILD_VERSION: Final = 1
MARKER_FILE: Final = "tiny_checkpoint.json"
ASR_SCRIPTED: Final = "asr-scripted"
ASR_RANDOM: Final = "asr-random"
ALIGNER: Final = "aligner"
MODEL_NAMES: Final = (ASR_SCRIPTED, ASR_RANDOM, ALIGNER)

SCRIPTED_TEXT: Final = "hello world"
SCRIPTED_LANGUAGE: Final = "English"

SCRIPTED_HIDDEN_SIZE: Final = 2  # the scripted codes are points on a circle
RANDOM_HIDDEN_SIZE: Final = 16
STORAGE_DTYPE: Final = torch.bfloat16
CLASSIFY_NUM: Final = 128
TIMESTAMP_SEGMENT_MS: Final = 80
RANDOM_ASR_SEED: Final = 20240601
RANDOM_ALIGNER_SEED: Final = 20240602
# Scripted logits: LOGIT_SCALE * sqrt(2) for the successor, half of that at most for the other
# scripted tokens (six codes 60 degrees apart) and 0 for the rest: a wide margin even in float16.
LOGIT_SCALE: Final = 8.0

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


def _text_config(vocab_size: int, hidden_size: int) -> dict:
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
    }


def _thinker_config(tokenizer, vocab_size: int, hidden_size: int) -> dict:
    return {
        "audio_config": _audio_config(hidden_size),
        "text_config": _text_config(vocab_size, hidden_size),
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


def asr_config(tokenizer, vocab_size: int, hidden_size: int):  # -> Qwen3ASRConfig
    from qwen_asr.core.transformers_backend import Qwen3ASRConfig
    from qwen_asr.inference.utils import SUPPORTED_LANGUAGES

    thinker = _thinker_config(tokenizer, vocab_size, hidden_size)
    return Qwen3ASRConfig(thinker_config=thinker, support_languages=list(SUPPORTED_LANGUAGES))


def aligner_config(tokenizer):  # -> Qwen3ASRConfig
    from qwen_asr.core.transformers_backend import Qwen3ASRConfig

    thinker = _thinker_config(tokenizer, len(tokenizer), RANDOM_HIDDEN_SIZE)
    thinker |= {"model_type": "qwen3_forced_aligner", "classify_num": CLASSIFY_NUM}
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

def _is_norm(module: nn.Module) -> bool:
    return isinstance(module, nn.LayerNorm) or type(module).__name__.endswith("RMSNorm")


def _norms_to_identity(model: nn.Module) -> None:
    for module in model.modules():
        if _is_norm(module):
            module.weight.fill_(1.0)
            if getattr(module, "bias", None) is not None:
                module.bias.zero_()


def scripted_transitions(tokenizer, stop_id: int) -> list[tuple[int, int]]:
    """(current token, next token) pairs that spell the scripted answer, then ``stop_id``.

    The walk starts at the ``\\n`` that ends the generation prompt (``<|im_start|>assistant\\n``);
    a forced-language prompt ends with ``<asr_text>``, which is part of the same walk.
    """
    start = tokenizer.encode("\n", add_special_tokens=False)
    answer = tokenizer.encode(
        f"language {SCRIPTED_LANGUAGE}{tok.ASR_TEXT}{SCRIPTED_TEXT}", add_special_tokens=False
    )
    if len(start) != 1:
        raise RuntimeError(f"'\\n' must be one token, got {start}")
    walk = start + answer + [stop_id]
    if len(set(walk)) != len(walk):
        raise RuntimeError(f"the scripted walk repeats a token, so it would loop: {walk}")
    return list(zip(walk[:-1], walk[1:]))


@torch.no_grad()
def apply_scripted_weights(model: nn.Module, transitions: list[tuple[int, int]]) -> None:
    for param in model.parameters():
        param.zero_()
    _norms_to_identity(model)
    embed = model.thinker.model.embed_tokens.weight
    head = model.thinker.lm_head.weight
    for k, (current, successor) in enumerate(transitions):
        angle = 2.0 * math.pi * k / len(transitions)
        code = torch.zeros(embed.shape[1])
        code[0], code[1] = math.cos(angle), math.sin(angle)
        embed[current] = code
        head[successor] = code * LOGIT_SCALE


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

def _save(model: nn.Module, processor, dest: Path) -> None:
    processor.save_pretrained(str(dest))
    model.to(STORAGE_DTYPE).save_pretrained(str(dest), safe_serialization=True)


def _restore_aligner_model_type(dest: Path) -> None:
    # save_pretrained writes the thinker config class's model_type, but the aligner head is only
    # built when "forced_aligner" is in it at load time.
    path = dest / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config["thinker_config"]["model_type"] = "qwen3_forced_aligner"
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def build_asr_scripted(dest: Path) -> None:
    processor = tok.build_processor()
    # The lm_head must reach the stop id; the tokenizer's own ids end near 520.
    model = _new_model(asr_config(processor.tokenizer, generate_stop_id() + 1, SCRIPTED_HIDDEN_SIZE))
    apply_scripted_weights(model, scripted_transitions(processor.tokenizer, generate_stop_id()))
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


BUILDERS: Final[dict[str, Callable[[Path], None]]] = {
    ASR_SCRIPTED: build_asr_scripted,
    ASR_RANDOM: build_asr_random,
    ALIGNER: build_aligner,
}


# --- checks ------------------------------------------------------------------------------------

def _check_asr_scripted(path: Path) -> None:
    from qwen_asr import Qwen3ASRModel

    model = Qwen3ASRModel.from_pretrained(str(path), device_map="cpu", dtype=torch.float32, max_new_tokens=32)
    result = model.transcribe((np.zeros(16000, dtype=np.float32), 16000))[0]
    if (result.language, result.text) != (SCRIPTED_LANGUAGE, SCRIPTED_TEXT):
        raise RuntimeError(f"scripted checkpoint answered {result.language!r}/{result.text!r}")


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


CHECKS: Final[dict[str, Callable[[Path], None]]] = {
    ASR_SCRIPTED: _check_asr_scripted,
    ASR_RANDOM: _check_asr_random,
    ALIGNER: _check_aligner,
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
