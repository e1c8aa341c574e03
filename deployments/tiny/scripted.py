"""Weights for the scripted ASR checkpoints: greedy decoding walks a successor table.

The answer is a function of the last token and of one bit, "the prompt has a context":

- Forced language. `qwen-asr` ends a forced prompt with ``language X<asr_text>``; the tokenizer
  holds that whole string as one added token for the scripted languages (Chinese, Japanese), so
  the last prompt token names the language and the table walks that language's sentence. Other
  languages end on ``<asr_text>``, which walks the default sentence. Auto mode ends on the ``\\n``
  of ``<|im_start|>assistant\\n`` and walks ``language English<asr_text>`` first.
- Context. The system turn is ``<|im_start|>system\\n{context}<|im_end|>``. The tokenizer matches
  added tokens leftmost-longest, so an empty one is the single token ``system\\n<|im_end|>`` and a
  non-empty one starts with the token ``system\\n`` (CONTEXT_MARK) whatever the context says.
  One attention head (constant query from the q bias, key and value only on CONTEXT_MARK, rope
  made negligible by a huge rope_theta) copies "CONTEXT_MARK is somewhere before me" into a flag
  dimension: about 1 with a context, exactly 0 without, for any prompt length.

Hidden size 5: dims 0-1 hold the token's code in plane 0 (the table without context), dims 2-3 its
code in plane 1 (the table with context) scaled by EPSILON, dim 4 the flag. The MLP is gated by
the flag (SwiGLU: silu(gate) * up with the gate reading only the flag, so silu(0) = 0 keeps it
exactly off without a context); with a context it cancels plane 0 and amplifies plane 1 by
PLANE1_GAIN. The ``lm_head`` row of a target holds a unit direction per plane: in each plane
every source sits nearest to the direction of its own target, so the argmax is the successor.

Codes lie on a circle. Sources are grouped by target, a target's direction is the middle of its
group, and groups of unequal size get extra room so that every source is at least half a slot
closer to its own target than to any other (checked, with a minimum logit margin, at build time).

``Qwen3ASRForConditionalGeneration.generate`` stops only on its hard-coded ids 151643/151645, so the
vocabulary is stretched to 151644 rows and each walk ends on 151643, which decoding drops (the
tokenizer does not know it). Those rows are the bulk of the file (3 MB in bfloat16), and the
library computes logits for every prompt position: ``prompt_tokens x 151644`` floats, 12.5 tokens
per second of audio (about 4.5 GB in float32 for a 10-minute clip).
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Final

import torch
from torch import nn

from . import texts
from . import tokenizer as tok

HIDDEN_SIZE: Final = 5
CODE0: Final = slice(0, 2)
CODE1: Final = slice(2, 4)
FLAG: Final = 4
HEAD_DIM: Final = 8
QK_DIM: Final = 3  # the head dim pair (3, 7) that rotates slowest
ROPE_THETA: Final = 1e12  # its rotation: 1e-9 rad per position
QK_NORM_WEIGHT: Final = 4.0  # score = sqrt(8) * 4 * 4 = 45 on CONTEXT_MARK, 0 elsewhere
EPSILON: Final = 1.0 / 64  # plane 1 in the embedding, relative to plane 0
PLANE1_GAIN: Final = 16.0
GATE_WEIGHT: Final = 16.0  # silu(16 * 1.58) ~ its argument: the gate is linear once open
LOGIT_SCALE: Final = 8.0
MIN_MARGIN: Final = 0.05  # cosine margin of every source to the nearest wrong target


@dataclass(frozen=True)
class Script:
    """Two successor tables: ``plain`` without a context, ``with_context`` with one."""

    plain: dict[int, int]
    with_context: dict[int, int]


def _add_walk(table: dict[int, int], walk: list[int]) -> None:
    for current, successor in itertools.pairwise(walk):
        if table.setdefault(current, successor) != successor:
            raise RuntimeError(f"token {current} would need two successors ({table[current]}, {successor})")


def build_script(tokenizer, model: str, stop_id: int) -> Script:
    """The tables for one scripted checkpoint, from the texts in :mod:`texts`."""

    def one(token: str) -> int:
        ids = tokenizer.encode(token, add_special_tokens=False)
        if len(ids) != 1:
            raise RuntimeError(f"{token!r} must be one token, got {ids}")
        return ids[0]

    def encode(text: str) -> list[int]:
        return tokenizer.encode(text, add_special_tokens=False)

    newline, asr_text = one("\n"), one(tok.ASR_TEXT)
    tables: list[dict[int, int]] = []
    for context in ("", "some context"):
        table: dict[int, int] = {}
        auto = texts.scripted_text(model, None, context)
        _add_walk(table, [newline, *encode(f"language {texts.SCRIPTED_LANGUAGE}{tok.ASR_TEXT}{auto}"), stop_id])
        _add_walk(table, [asr_text, *encode(auto), stop_id])
        for language in tok.FORCED_LANGUAGE_TOKENS:
            forced = texts.scripted_text(model, language, context)
            _add_walk(table, [one(tok.forced_language_token(language)), *encode(forced), stop_id])
        tables.append(table)
    return Script(plain=tables[0], with_context=tables[1])


@dataclass(frozen=True)
class Plane:
    source_angle: dict[int, float]
    target_angle: dict[int, float]


def layout(table: dict[int, int]) -> Plane:
    """Angles on a circle: sources grouped by target, each target in the middle of its group."""
    groups: dict[int, list[int]] = defaultdict(list)
    for source, target in sorted(table.items()):
        groups[target].append(source)
    order = sorted(groups)
    sizes = [len(groups[t]) for t in order]
    # Extra room before group i, so that both neighbours keep a half-slot margin.
    gaps = [max(0.0, abs(sizes[i] - sizes[i - 1]) / 2) for i in range(len(order))]
    circumference = sum(sizes) + sum(gaps)
    source_angle: dict[int, float] = {}
    target_angle: dict[int, float] = {}
    position = 0.0
    for target, gap in zip(order, gaps):
        position += gap
        slots = [position + k + 0.5 for k in range(len(groups[target]))]
        for source, slot in zip(groups[target], slots):
            source_angle[source] = 2 * math.pi * slot / circumference
        target_angle[target] = 2 * math.pi * (sum(slots) / len(slots)) / circumference
        position += len(slots)
    plane = Plane(source_angle, target_angle)
    check_margins(table, plane)
    return plane


def check_margins(table: dict[int, int], plane: Plane) -> None:
    for source, target in table.items():
        theta = plane.source_angle[source]
        own = math.cos(theta - plane.target_angle[target])
        rival = max((math.cos(theta - a) for t, a in plane.target_angle.items() if t != target), default=-1.0)
        if own - rival < MIN_MARGIN:
            raise RuntimeError(f"source {source}: margin {own - rival:.3f} < {MIN_MARGIN}")


def _unit(angle: float) -> torch.Tensor:
    return torch.tensor([math.cos(angle), math.sin(angle)])


def text_config_overrides() -> dict:
    return {
        "hidden_size": HIDDEN_SIZE,
        "intermediate_size": 4,
        "num_attention_heads": 1,
        "num_key_value_heads": 1,
        "head_dim": HEAD_DIM,
        "rope_theta": ROPE_THETA,
        "attention_bias": True,
    }


def norms_to_identity(model: nn.Module) -> None:
    """Every norm passes its input through unchanged (weights 1, biases 0)."""
    for module in model.modules():
        if isinstance(module, nn.LayerNorm) or type(module).__name__.endswith("RMSNorm"):
            module.weight.fill_(1.0)
            if getattr(module, "bias", None) is not None:
                module.bias.zero_()


def _write_tables(embed: torch.Tensor, head: torch.Tensor, script: Script) -> None:
    for table, dims, scale in ((script.plain, CODE0, 1.0), (script.with_context, CODE1, EPSILON)):
        plane = layout(table)
        for source, angle in plane.source_angle.items():
            embed[source, dims] = scale * _unit(angle)
        for target, angle in plane.target_angle.items():
            head[target, dims] = LOGIT_SCALE * _unit(angle)


def _write_context_head(attention: nn.Module) -> None:
    attention.q_proj.bias[QK_DIM] = 1.0  # the same query at every position
    attention.k_proj.weight[QK_DIM, FLAG] = 1.0  # a key only where the flag dim is set: CONTEXT_MARK
    attention.q_norm.weight[QK_DIM] = QK_NORM_WEIGHT
    attention.k_norm.weight[QK_DIM] = QK_NORM_WEIGHT
    # input_layernorm scales CONTEXT_MARK's one-hot embedding to sqrt(HIDDEN_SIZE).
    attention.v_proj.weight[0, FLAG] = 1.0 / math.sqrt(HIDDEN_SIZE)
    attention.o_proj.weight[FLAG, 0] = 1.0


def _write_gated_mlp(mlp: nn.Module) -> None:
    # With a context the MLP input is [c0, EPSILON * c1, 1] / rms (codes of norm 1).
    rho = 1.0 / math.sqrt((1.0 + EPSILON**2 + 1.0) / HIDDEN_SIZE)
    gate = GATE_WEIGHT * rho
    opened = gate * torch.sigmoid(torch.tensor(gate, dtype=torch.float64)).item()  # silu(gate)
    for j in range(4):
        mlp.gate_proj.weight[j, FLAG] = GATE_WEIGHT
        mlp.up_proj.weight[j, j] = 1.0
    for j in range(CODE0.start, CODE0.stop):  # cancel plane 0
        mlp.down_proj.weight[j, j] = -1.0 / (opened * rho)
    for j in range(CODE1.start, CODE1.stop):  # plane 1: EPSILON -> PLANE1_GAIN
        mlp.down_proj.weight[j, j] = (PLANE1_GAIN - EPSILON) / (EPSILON * opened * rho)


@torch.no_grad()
def apply_scripted_weights(model: nn.Module, tokenizer, script: Script) -> None:
    for param in model.parameters():
        param.zero_()
    norms_to_identity(model)
    thinker = model.thinker
    embed, head = thinker.model.embed_tokens.weight, thinker.lm_head.weight
    _write_tables(embed, head, script)
    embed[tokenizer.convert_tokens_to_ids(tok.CONTEXT_MARK), FLAG] = 1.0
    [layer] = thinker.model.layers
    _write_context_head(layer.self_attn)
    _write_gated_mlp(layer.mlp)
    thinker.model.norm.weight[FLAG] = 0.0  # the flag plays no part in the logits

