"""What the scripted tiny checkpoints say: names and known texts that tests import.

Each ASR slot has its own scripted checkpoint, so a request routed to the wrong slot gives the
other slot's words, a forced language that is lost gives the default sentence, and a context
that is dropped loses the suffix:

=====================  ===============================  =============================
checkpoint             auto / forced English / other    forced Chinese / Japanese
=====================  ===============================  =============================
``asr-scripted-large`` ``hello world``                  ``你好世界`` / ``こんにちは世界``
``asr-scripted-small`` ``good morning``                 ``早上好`` / ``おはようございます``
=====================  ===============================  =============================

Auto mode reports ``English``; a forced language is reported as forced (the library does that).
Any non-empty context appends :data:`CONTEXT_SUFFIX` to whichever text the table gives.
``asr-scripted`` is the older single checkpoint: ``hello world`` whatever the language or context.
"""

from __future__ import annotations

from typing import Final

ASR_SCRIPTED: Final = "asr-scripted"
ASR_SCRIPTED_LARGE: Final = "asr-scripted-large"
ASR_SCRIPTED_SMALL: Final = "asr-scripted-small"
ASR_RANDOM: Final = "asr-random"
ALIGNER: Final = "aligner"
ALIGNER_SCRIPTED: Final = "aligner-scripted"

# Which scripted checkpoint plays which service slot (keys: deployments.protocol model ids).
SCRIPTED_SLOTS: Final = {"qwen3-asr-1.7b": ASR_SCRIPTED_LARGE, "qwen3-asr-0.6b": ASR_SCRIPTED_SMALL}

SCRIPTED_LANGUAGE: Final = "English"  # what auto mode detects
SCRIPTED_TEXT: Final = "hello world"  # asr-scripted (legacy): always this
SCRIPTED_TEXTS: Final[dict[str, str]] = {
    ASR_SCRIPTED_LARGE: "hello world",
    ASR_SCRIPTED_SMALL: "good morning",
}
SCRIPTED_FORCED_TEXTS: Final[dict[tuple[str, str], str]] = {
    (ASR_SCRIPTED_LARGE, "Chinese"): "你好世界",
    (ASR_SCRIPTED_LARGE, "Japanese"): "こんにちは世界",
    (ASR_SCRIPTED_SMALL, "Chinese"): "早上好",
    (ASR_SCRIPTED_SMALL, "Japanese"): "おはようございます",
}
CONTEXT_SUFFIX: Final = " with context"


def scripted_text(model: str, language: str | None = None, context: str = "") -> str:
    """The transcript a scripted checkpoint gives for a forced ``language`` (None: auto) and ``context``."""
    if model == ASR_SCRIPTED:
        return SCRIPTED_TEXT
    if model not in SCRIPTED_TEXTS:
        raise ValueError(f"{model!r} is not a scripted ASR checkpoint")
    text = SCRIPTED_FORCED_TEXTS.get((model, language), SCRIPTED_TEXTS[model]) if language else SCRIPTED_TEXTS[model]
    return text + CONTEXT_SUFFIX if context else text
