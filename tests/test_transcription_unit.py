"""Request validation and text assembly of the transcription service (no models needed)."""

import numpy as np
import pytest

from serve_app.errors import ApiError
from serve_app.services.transcription import TranscriptionService, join_pieces
from serve_app.settings import Settings


def service(**settings) -> TranscriptionService:
    return TranscriptionService(Settings(**settings), lifecycle=None, asr_handles={}, aligner_handle=None)


def test_defaults():
    options = service().options(model=None, language="auto", return_timestamps=False, dtype=None, context=None)
    assert options.model == "qwen3-asr-1.7b" and options.language is None and options.context == ""


def test_model_ids_are_case_insensitive():
    assert service().options(model="QWEN3-ASR-0.6B", language=None, return_timestamps=False, dtype="",
                             context="").model == "qwen3-asr-0.6b"


@pytest.mark.parametrize("kwargs,code", [
    ({"model": "tiny"}, "unknown_model"),
    ({"language": "xx"}, "unsupported_language"),
    ({"dtype": "float64"}, "invalid_dtype"),
    ({"context": "c" * 11}, "context_too_long"),
    ({"language": "vi", "return_timestamps": True}, "timestamps_unsupported_language"),
])
def test_bad_options_are_400_with_the_param(kwargs, code):
    args = {"model": None, "language": "auto", "return_timestamps": False, "dtype": None, "context": None, **kwargs}
    with pytest.raises(ApiError) as caught:
        service(max_context_chars=10).options(**args)
    assert caught.value.status == 400 and caught.value.code == code


def test_timestamps_with_auto_language_are_allowed_up_front():
    assert service().options(model=None, language="auto", return_timestamps=True, dtype=None, context=None)


def test_join_pieces_spaces_words_but_not_cjk():
    assert join_pieces(["hello world", " again "]) == "hello world again"
    assert join_pieces(["你好", "世界"]) == "你好世界"
    assert join_pieces(["hello", "", "世界"]) == "hello世界"
    assert join_pieces([]) == ""


def test_short_audio_is_one_piece_long_audio_is_split_under_the_limit():
    svc = service(asr_piece_seconds=5, align_piece_seconds=3)
    short = np.ones(16000 * 4, np.float32)
    assert len(svc.split(short, return_timestamps=False)) == 1
    rng = np.random.default_rng(0)
    long = (0.1 * rng.standard_normal(16000 * 12)).astype(np.float32)
    pieces = svc.split(long, return_timestamps=False)
    assert len(pieces) >= 3 and all(len(p.audio) <= 5 * 16000 for p in pieces)
    assert [p.offset for p in pieces] == sorted(p.offset for p in pieces)
    timed = svc.split(long, return_timestamps=True)
    assert all(len(p.audio) <= 3 * 16000 for p in timed)
