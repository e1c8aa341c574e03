"""Weights for ``aligner-scripted``: a ForcedAligner whose word times follow the speech in the audio.

`qwen-asr` feeds the aligner ``<|audio_start|>`` + one ``<|audio_pad|>`` per audio frame +
``<|audio_end|>`` + ``word<timestamp><timestamp>word<timestamp><timestamp>...``, runs the thinker once,
takes the argmax of the ``classify_num`` logits at every ``<timestamp>`` position and multiplies it by
``timestamp_segment_time`` (80 ms); timestamp 2i is word i's start, 2i+1 its end. The audio tower
cuts the mel frames (100 a second) into 1 s chunks of 13 frames each (stride 8 mel frames inside a
chunk), so one audio frame is 1/13 s on average.

What is scripted (every other weight is zero, every norm the identity):

Audio tower: one frame is "voiced" when the log-mel spectrum around it is not flat. The Whisper
features clip everything below ``max - 8`` (log10), so digital silence is exactly flat. conv2d1
takes the difference of neighbouring mel bins, twice (+ and -) so that gelu(d) + gelu(-d) = |d|
roughly; conv2d2/conv2d3 sum that over 3x3 neighbourhoods (a window of +-70 ms around the frame),
conv_out sums the mel rows into one "energy" channel E (exactly 0 on silence). An out_proj bias
adds a +-KA pair that keeps ln_post's scale constant; proj1/gelu/proj2 turn E into a saturated
ramp VOICED = gelu(z) - gelu(z - 1), z = RAMP * (f(E) - F_THRESHOLD): 0 or 1 but for rare edge frames.

Text model, two layers, residual dims named below (KDIM holds a large constant K at every position,
so each RMSNorm divides by nearly the same number everywhere):

1. SEEN: a constant query meets keys on voiced frames and text tokens (score 45, 0 elsewhere);
   the value is 1 on both. So SEEN = 1 from the first voiced frame on and on every text token, and
   exactly 0 on the silent frames before the speech.
2. Counts: a zero query gives uniform attention over the prefix, so each value comes out as
   ``count / (t + 1)``: LEAD = AUDIO - SEEN + TEXT (1 on the audio frames before the first voiced
   one, else 0), BOS (1 on ``<|audio_start|>``), VOICED, and TS (1 on ``<timestamp>``).

Head: for class c, ``logit_c = 2c * X - c^2 * Y`` with X = ALPHA * (LEAD + RHO * VOICED) + GAMMA * (TS - BOS)
and Y = BOS. Dividing by the same positive 1/(t+1) (and the final norm) does not move the argmax,
and the argmax of ``2c*tau - c^2`` is the class nearest to tau. So the k-th ``<timestamp>`` (k = 1, 2, ...)
gets class ``round(ALPHA * (n_lead + RHO * n_voiced) + GAMMA * (k - 1))``, where n_lead is the number of
audio frames before the first voiced one and n_voiced the number of voiced frames, ALPHA = 12.5/13
classes per audio frame. In seconds:

    start(word i) = onset + RHO * voiced_duration + 0.16 s * i,   end(word i) = start(word i) + 0.08 s

(onset up to ~70 ms early, each rounded to 80 ms). Moving the speech by d seconds moves every time
by d (n_lead grows, n_voiced does not); a different recording changes onset and voiced duration.
With no speech at all every frame counts as leading silence and the times start at the audio's end.
The weights must stay float32 (the head holds c^2 up to ~1e6, bfloat16 would round the boundaries).
"""

from __future__ import annotations

import math
from typing import Final

import torch
from torch import nn

from . import scripted
from . import tokenizer as tok

CLASSIFY_NUM: Final = 1024  # 1024 x 80 ms: times up to ~82 s
AUDIO_FRAMES_PER_SECOND: Final = 13.0  # 13 audio frames per 1 s chunk of 100 mel frames
CLASS_SECONDS: Final = 0.08
ALPHA: Final = 1.0 / (AUDIO_FRAMES_PER_SECOND * CLASS_SECONDS)  # classes per audio frame
RHO: Final = 0.25  # the first word starts this far into the voiced duration
GAMMA: Final = 1.0  # classes per <timestamp>: words 160 ms apart, 80 ms long

# Text residual dims.
KDIM, AUDIO, VOICED, BOS, TEXT, TS, SEEN, C_LEAD, C_BOS, C_VOICED, C_TS = range(11)
HIDDEN_SIZE: Final = 11
K: Final = 1000.0
NORM: Final = K / math.sqrt(HIDDEN_SIZE)  # undoes an RMSNorm dominated by KDIM
KEY_GAIN: Final = 100.0  # key on voiced/text vs the constant key dim: keeps k_norm graded
QK_OTHER: Final = 0  # head dim for the constant key component (its k_norm weight is 0)

# Audio tower (d_model 8: its sinusoid table adds sin to dims 0-3 and cos to 4-7; dim 3 is the
# slowest sine, below 1.2e-3 within a chunk).
E_DIM, K_PLUS, K_MINUS = 3, 6, 7
KA: Final = 1000.0
G1: Final = 100.0  # mel-bin difference gain: a 0.02 step already gives |d| ~ 2
# ln_post maps E to f = 7E/8 / sqrt((7E^2/8 + 2 KA^2) / 8): 0 for silence (+-0.002 of sinusoid
# leakage), rising to sqrt(7) for large E. Speech frames give E ~ 1e3-6e4.
F_THRESHOLD: Final = 0.5  # f = 0.5 at E ~ 0.29 KA = 290
RAMP: Final = 80.0  # z = RAMP * (f - F_THRESHOLD): silence at z = -40 (gelu(-40) = 0), at most ~170


def text_config_overrides() -> dict:
    return {
        "hidden_size": HIDDEN_SIZE,
        "intermediate_size": 4,
        "num_hidden_layers": 2,
        "num_attention_heads": 1,
        "num_key_value_heads": 1,
        "head_dim": scripted.HEAD_DIM,
        "rope_theta": scripted.ROPE_THETA,  # rotation negligible: scores do not depend on distance
        "attention_bias": True,
    }


def _write_audio_tower(tower: nn.Module) -> None:
    tower.conv2d1.weight[0, 0, 2, :] = G1  # kernel [out, in, mel bin, time]
    tower.conv2d1.weight[0, 0, 0, :] = -G1
    tower.conv2d1.weight[1] = -tower.conv2d1.weight[0]
    tower.conv2d2.weight[0, 0:2] = 1.0
    tower.conv2d3.weight[0, 0] = 1.0
    # conv_out reads (channel, mel row) flattened; row 0 saw the zero padding below mel bin 0.
    rows = tower.conv_out.weight.shape[1] // tower.conv2d3.out_channels
    tower.conv_out.weight[E_DIM, 1:rows] = 1.0
    [layer] = tower.layers
    layer.self_attn.out_proj.bias[K_PLUS] = KA
    layer.self_attn.out_proj.bias[K_MINUS] = -KA
    for unit, offset in ((0, 0.0), (1, 1.0)):
        tower.proj1.weight[unit, E_DIM] = RAMP
        tower.proj1.bias[unit] = -RAMP * F_THRESHOLD - offset
    tower.proj2.weight[VOICED, 0] = 1.0
    tower.proj2.weight[VOICED, 1] = -1.0
    tower.proj2.bias[AUDIO] = 1.0
    tower.proj2.bias[KDIM] = K


def _write_embeddings(embed: torch.Tensor, tokenizer) -> None:
    embed[:, KDIM] = K
    embed[:, TEXT] = 1.0
    audio_start = tokenizer.convert_tokens_to_ids(tok.AUDIO_START)
    embed[audio_start, TEXT] = 0.0
    embed[audio_start, BOS] = 1.0
    embed[tokenizer.convert_tokens_to_ids(tok.TIMESTAMP), TS] = 1.0


def _write_seen_layer(attention: nn.Module) -> None:
    qk = scripted.QK_DIM
    attention.q_proj.bias[qk] = 1.0
    attention.q_norm.weight[qk] = scripted.QK_NORM_WEIGHT
    attention.k_proj.weight[qk, VOICED] = KEY_GAIN * NORM
    attention.k_proj.weight[qk, TEXT] = KEY_GAIN * NORM
    attention.k_proj.bias[QK_OTHER] = 1.0
    attention.k_norm.weight.zero_()
    attention.k_norm.weight[qk] = scripted.QK_NORM_WEIGHT
    attention.v_proj.weight[0, VOICED] = NORM
    attention.v_proj.weight[0, TEXT] = NORM
    attention.o_proj.weight[SEEN, 0] = 1.0


def _write_count_layer(attention: nn.Module) -> None:
    # q stays 0: every score is 0, so the attention is the plain mean over the prefix.
    value = attention.v_proj.weight
    value[0, AUDIO], value[0, SEEN], value[0, TEXT] = NORM, -NORM, NORM
    value[1, BOS] = NORM
    value[2, VOICED] = NORM
    value[3, TS] = NORM
    for head_dim, dim in enumerate((C_LEAD, C_BOS, C_VOICED, C_TS)):
        attention.o_proj.weight[dim, head_dim] = 1.0


def _write_head(norm: nn.Module, head: torch.Tensor) -> None:
    norm.weight.zero_()
    for dim in (C_LEAD, C_BOS, C_VOICED, C_TS):
        norm.weight[dim] = NORM
    c = torch.arange(head.shape[0], dtype=torch.float64)
    head[:, C_LEAD] = (2 * c * ALPHA).float()
    head[:, C_VOICED] = (2 * c * ALPHA * RHO).float()
    head[:, C_TS] = (2 * c * GAMMA).float()
    head[:, C_BOS] = (-2 * c * GAMMA - c * c).float()


@torch.no_grad()
def apply_aligner_weights(model: nn.Module, tokenizer) -> None:
    """Writes the scripted weights into a freshly built aligner (see the module docstring)."""
    for param in model.parameters():
        param.zero_()
    scripted.norms_to_identity(model)
    thinker = model.thinker
    _write_audio_tower(thinker.audio_tower)
    _write_embeddings(thinker.model.embed_tokens.weight, tokenizer)
    first, second = thinker.model.layers
    _write_seen_layer(first.self_attn)
    _write_count_layer(second.self_attn)
    _write_head(thinker.model.norm, thinker.lm_head.weight)


def scripted_times(n_lead: int, n_voiced: float, timestamps: int) -> list[float]:
    """Seconds before rounding to 80 ms, for the k-th ``<timestamp>`` given the audio tower's counts."""
    base = ALPHA * (n_lead + RHO * n_voiced)
    return [CLASS_SECONDS * (base + GAMMA * k) for k in range(timestamps)]


def check_speech_times(path: str) -> None:
    """Loads the checkpoint through `qwen-asr` and checks that times follow a noise burst.

    1 s of silence, 0.6 s of seeded noise, 0.5 s of silence: every time must lie in the burst
    (+-0.2 s), times must not decrease, and 1 s more silence in front must add 1 s (+-0.1 s).
    """
    import numpy as np
    from qwen_asr import Qwen3ForcedAligner

    aligner = Qwen3ForcedAligner.from_pretrained(path, device_map="cpu", dtype=torch.float32)
    burst = 0.3 * np.random.default_rng(0).standard_normal(9600).astype(np.float32)

    def times(lead_seconds: int) -> list[float]:
        audio = np.concatenate([np.zeros(16000 * lead_seconds, np.float32), burst, np.zeros(8000, np.float32)])
        [result] = aligner.align(audio=(audio, 16000), text="hello world", language="English")
        if [item.text for item in result] != ["hello", "world"]:
            raise RuntimeError(f"aligner returned {result}")
        return [t for item in result for t in (item.start_time, item.end_time)]

    first, shifted = times(1), times(2)
    if not all(0.8 <= t <= 1.8 for t in first) or first != sorted(first):
        raise RuntimeError(f"times {first} do not follow a burst at 1.0-1.6 s")
    if any(abs(b - a - 1.0) > 0.1 for a, b in zip(first, shifted)):
        raise RuntimeError(f"1 s more silence moved {first} to {shifted}")
