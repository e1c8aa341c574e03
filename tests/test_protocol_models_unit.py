"""The wire shapes: serve_app/stream_protocol.py (WebSocket messages, close codes) and
serve_app/protocol.py (REST models), checked against what the code that produces them sends."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from serve_app import stream_protocol as sp
from serve_app.errors import error_body
from serve_app.protocol import (
    ERROR_RESPONSES,
    ErrorResponse,
    OffloadRequest,
    TranscriptionResponse,
    WordTimestamp,
)
from serve_app.stream_protocol import (
    ErrorMessage,
    FinalMessage,
    LoadingMessage,
    PartialMessage,
    ReadyMessage,
    StartMessage,
    dump,
)


def final(**extra) -> FinalMessage:
    values = {"text": "hello world", "language": "English", "model": "qwen3-asr-1.7b", "dtype": "float32",
              "duration_seconds": 2.0, "process_time_seconds": 0.2, "rtf": 0.1, **extra}
    return FinalMessage(**values)


# --- client -> server --------------------------------------------------------------------------


def test_start_message_needs_its_type():
    with pytest.raises(ValidationError):
        StartMessage.model_validate({"model": "qwen3-asr-1.7b"})
    with pytest.raises(ValidationError):
        StartMessage.model_validate({"type": "stop"})


def test_start_message_takes_every_documented_field():
    start = StartMessage.model_validate({
        "type": "start", "model": "qwen3-asr-0.6b", "language": "ja", "context": "Qwen", "sample_rate": 48000,
        "format": "f32le", "return_timestamps": True, "dtype": "float16"})
    assert (start.model, start.language, start.context, start.sample_rate, start.format, start.return_timestamps,
            start.dtype) == ("qwen3-asr-0.6b", "ja", "Qwen", 48000, "f32le", True, "float16")


def test_start_message_from_a_browser_with_nulls():
    """The UI may send null for fields it leaves to the server."""
    start = StartMessage.model_validate({"type": "start", "model": None, "language": None, "context": None})
    assert start.model is None and start.language is None and start.context is None


@pytest.mark.parametrize("field,value", [("sample_rate", "fast"), ("return_timestamps", "maybe"),
                                         ("sample_rate", None)])
def test_start_message_refuses_wrong_types(field, value):
    with pytest.raises(ValidationError):
        StartMessage.model_validate({"type": "start", field: value})



def test_defaults_are_inside_the_documented_formats_and_rates():
    assert StartMessage.model_fields["format"].default in sp.PCM_FORMATS
    assert sp.MIN_SAMPLE_RATE <= StartMessage.model_fields["sample_rate"].default <= sp.MAX_SAMPLE_RATE


# --- server -> client --------------------------------------------------------------------------


def test_close_codes_are_the_rfc_6455_numbers():
    assert (sp.CLOSE_NORMAL, sp.CLOSE_UNSUPPORTED, sp.CLOSE_POLICY, sp.CLOSE_TOO_BIG, sp.CLOSE_INTERNAL,
            sp.CLOSE_TRY_AGAIN) == (1000, 1003, 1008, 1009, 1011, 1013)


def test_every_server_message_carries_its_type():
    messages = [
        LoadingMessage(model="qwen3-asr-1.7b"),
        ReadyMessage(model="qwen3-asr-1.7b", sample_rate=16000, format="pcm_s16le", chunk_seconds=1.0,
                     max_seconds=3600),
        PartialMessage(text="a b", stable_text="a ", unstable_text="b", duration_seconds=1.0),
        final(),
        ErrorMessage(code="idle_timeout", message="No audio."),
    ]
    assert [dump(m)["type"] for m in messages] == ["loading", "ready", "partial", "final", "error"]
    for message in messages:
        json.dumps(dump(message))  # plain JSON, nothing a client cannot parse


def test_loading_message_tells_the_client_its_audio_is_kept():
    assert "kept" in dump(LoadingMessage(model="qwen3-asr-0.6b"))["message"]


def test_error_message_leaves_out_text_when_there_is_none():
    assert dump(ErrorMessage(code="unauthorized", message="Key.")) == {"type": "error", "code": "unauthorized",
                                                                      "message": "Key."}
    with_text = dump(ErrorMessage(code="session_too_long", message="Limit.", text="so far"))
    assert with_text["text"] == "so far"


def test_final_message_always_has_timestamps_even_when_null():
    """Clients read `final.timestamps`; null means 'not asked for', never a missing key."""
    body = dump(final())
    assert "timestamps" in body and body["timestamps"] is None
    assert "timestamps_error" not in body


def test_final_message_with_timestamps_and_their_error():
    body = dump(final(timestamps=[WordTimestamp(text="hello", start=0.1, end=0.5)]))
    assert body["timestamps"] == [{"text": "hello", "start": 0.1, "end": 0.5}]
    failed = dump(final(timestamps_error={"code": "unsupported_language", "message": "No aligner."}))
    assert failed["timestamps"] is None and failed["timestamps_error"]["code"] == "unsupported_language"


def test_final_message_defaults_for_accounting_fields():
    body = dump(final())
    assert (body["load_time_seconds"], body["finalize_seconds"], body["compute_seconds"], body["segments"]) == (
        0.0, 0.0, 0.0, 0)


def test_dump_does_not_add_timestamps_to_other_messages():
    assert "timestamps" not in dump(PartialMessage(text="", stable_text="", unstable_text="", duration_seconds=0))


# --- REST models -------------------------------------------------------------------------------


def test_error_responses_document_the_shape_error_body_produces():
    for status in ERROR_RESPONSES:
        body = error_body(status, "some_code", "Some message.", "file")
        parsed = ErrorResponse.model_validate(body)
        assert parsed.error.status == status and parsed.error.param == "file"
        assert ERROR_RESPONSES[status]["model"] is ErrorResponse


def test_error_responses_cover_the_statuses_the_api_uses():
    assert set(ERROR_RESPONSES) == {400, 401, 413, 415, 422, 503}


def test_offload_request_defaults_to_all_models_and_waiting():
    request = OffloadRequest()
    assert request.models is None and request.wait is True
    assert OffloadRequest.model_validate({"models": []}).models == []


def test_offload_request_refuses_a_single_string():
    """`{"models": "qwen3-asr-0.6b"}` is a client bug: a list is required, not split into characters."""
    with pytest.raises(ValidationError):
        OffloadRequest.model_validate({"models": "qwen3-asr-0.6b"})


def test_transcription_response_requires_the_brief_fields():
    with pytest.raises(ValidationError) as caught:
        TranscriptionResponse.model_validate({"text": "hi"})
    missing = {e["loc"][0] for e in caught.value.errors()}
    assert {"language", "model", "dtype", "duration_seconds", "process_time_seconds", "load_time_seconds",
            "rtf"} <= missing


def test_transcription_response_round_trip():
    body = {"text": "你好", "language": "Chinese", "model": "qwen3-asr-0.6b", "dtype": "bfloat16",
            "timestamps": [{"text": "你", "start": 0.0, "end": 0.2}], "duration_seconds": 1.0,
            "process_time_seconds": 0.1, "load_time_seconds": 0.0, "rtf": 0.1, "skipped_seconds": 0.0}
    assert TranscriptionResponse.model_validate(body).model_dump() == body
    assert TranscriptionResponse.model_validate({**body, "timestamps": None}).timestamps is None
