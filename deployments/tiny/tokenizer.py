"""A small byte-level BPE tokenizer and the Qwen3-ASR processor built around it.

The tokenizer is trained locally with the `tokenizers` library on a fixed corpus (no downloads,
same result every run). It has the special tokens the `qwen-asr` processor and prompt builders
rely on, numbered right after the BPE vocabulary (about 580 ids in all).

The ids deliberately differ from the real Qwen ones (151643-151645 for ``<|endoftext|>``,
``<|im_start|>``, ``<|im_end|>``): `tokenizers` only keeps such ids when the vocabulary has a
150k-id hole, and then prints a 150k-number warning every time the tokenizer is deep-copied,
which `transformers` does on every processor load.
"""

from __future__ import annotations

from typing import Final

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

ENDOFTEXT: Final = "<|endoftext|>"
IM_START: Final = "<|im_start|>"
IM_END: Final = "<|im_end|>"
AUDIO_START: Final = "<|audio_start|>"
AUDIO_END: Final = "<|audio_end|>"
AUDIO_PAD: Final = "<|audio_pad|>"
TIMESTAMP: Final = "<timestamp>"
ASR_TEXT: Final = "<asr_text>"
# Prompt anchors for the scripted checkpoints (see scripted.py). `tokenizers` matches added tokens
# leftmost-longest, so an empty system turn becomes the single token EMPTY_SYSTEM, while a system
# turn with a context starts with CONTEXT_MARK: its presence anywhere in the prompt means "context".
EMPTY_SYSTEM: Final = "system\n<|im_end|>"
CONTEXT_MARK: Final = "system\n"
# A forced language ends the prompt with "language X<asr_text>"; these languages get that whole
# string as one token, so the last prompt token names the language.
FORCED_LANGUAGE_TOKENS: Final = ("Chinese", "Japanese")


def forced_language_token(language: str) -> str:
    return f"language {language}{ASR_TEXT}"


SPECIAL_TOKENS: Final = (ENDOFTEXT, IM_START, IM_END, AUDIO_START, AUDIO_END, AUDIO_PAD, TIMESTAMP)
# Added but not special: decoding skips special tokens, and the library splits the generated
# text on `<asr_text>`, so it must survive decoding.
PLAIN_ADDED_TOKENS: Final = (
    ASR_TEXT, EMPTY_SYSTEM, CONTEXT_MARK, *(forced_language_token(name) for name in FORCED_LANGUAGE_TOKENS),
)

QWEN2_SPLIT_REGEX: Final = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
BPE_VOCAB_SIZE: Final = 768

# The real Qwen3-ASR prompt layout:
# <|im_start|>system\n{context}<|im_end|>\n<|im_start|>user\n<|audio_start|><|audio_pad|><|audio_end|><|im_end|>\n
# <|im_start|>assistant\n
CHAT_TEMPLATE: Final = (
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' -}}"
    "{%- if message['content'] is string -%}"
    "{{- message['content'] -}}"
    "{%- else -%}"
    "{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'audio' -%}"
    "{{- '<|audio_start|><|audio_pad|><|audio_end|>' -}}"
    "{%- elif part['type'] == 'text' -%}"
    "{{- part['text'] -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- endif -%}"
    "{{- '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{- '<|im_start|>assistant\\n' -}}"
    "{%- endif -%}"
)

_LANGUAGES: Final = (
    "Chinese English Cantonese Arabic German French Spanish Portuguese Indonesian Italian Korean Russian "
    "Thai Vietnamese Japanese Turkish Hindi Malay Dutch Swedish Danish Finnish Polish Czech Filipino "
    "Persian Greek Romanian Hungarian Macedonian None"
).split()
_SENTENCES: Final = (
    "hello world",
    "the quick brown fox jumps over the lazy dog",
    "system user assistant",
    "this is a test of the speech recognition service",
    "one two three four five six seven eight nine ten",
    "good morning good evening thank you very much",
    "hello world with context",
    "good morning with context",
)
# The scripted checkpoints' CJK answers: in the corpus so that BPE merges them into a few tokens
# (as raw bytes they would repeat tokens, and a successor table cannot walk a repeated token).
_CJK_SENTENCES: Final = ("你好世界", "こんにちは世界", "早上好", "おはようございます")


def _corpus() -> list[str]:
    lines = [f"language {name}" for name in _LANGUAGES]
    return lines * 8 + list(_SENTENCES) * 8 + list(_CJK_SENTENCES) * 8


def train_bpe() -> Tokenizer:
    """Byte-level BPE with the Qwen2 pre-tokenizer layout (Split regex, then ByteLevel)."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_SPLIT_REGEX), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=BPE_VOCAB_SIZE,
        min_frequency=2,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_corpus(), trainer)
    return tokenizer


def build_tokenizer() -> Tokenizer:
    tokenizer = train_bpe()
    tokenizer.add_special_tokens([AddedToken(token, special=True, normalized=False) for token in SPECIAL_TOKENS])
    tokenizer.add_tokens([AddedToken(token, special=False, normalized=False) for token in PLAIN_ADDED_TOKENS])
    return tokenizer


def build_processor():  # -> Qwen3ASRProcessor (imported lazily: qwen_asr is slow to import)
    from qwen_asr.core.transformers_backend import Qwen3ASRProcessor
    from transformers import Qwen2TokenizerFast, WhisperFeatureExtractor

    tokenizer = Qwen2TokenizerFast(
        tokenizer_object=build_tokenizer(),
        bos_token=None,
        eos_token=IM_END,
        pad_token=ENDOFTEXT,
        unk_token=None,
        errors="replace",
        clean_up_tokenization_spaces=False,
        model_max_length=131072,
        extra_special_tokens={
            "audio_token": AUDIO_PAD,
            "audio_bos_token": AUDIO_START,
            "audio_eos_token": AUDIO_END,
        },
    )
    feature_extractor = WhisperFeatureExtractor(
        feature_size=128, sampling_rate=16000, hop_length=160, chunk_length=30, n_fft=400,
        padding_value=0.0, return_attention_mask=True,
    )
    return Qwen3ASRProcessor(feature_extractor=feature_extractor, tokenizer=tokenizer, chat_template=CHAT_TEMPLATE)
