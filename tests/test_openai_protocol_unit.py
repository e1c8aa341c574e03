"""serve_app/openai_protocol.py: how /v1 requests are read and its responses shaped (no server)."""

from __future__ import annotations

import json

import pytest

from deployments.protocol import ASR_0_6B, ASR_1_7B
from serve_app.errors import ApiError
from serve_app.openai_protocol import (
    CONTENT_TYPES,
    ERROR_RESPONSES,
    ModelList,
    ModelObject,
    OpenAIRequest,
    TextDeltaEvent,
    TextDoneEvent,
    TranscriptionVerboseJson,
    openai_language,
    parse_request,
    resolve_model,
    segment_bodies,
    sse,
    usage,
)
from serve_app.services.subtitles import Segment
from serve_app.settings import Settings


def settings(**values) -> Settings:
    return Settings(_env_file=None, **values)


def parse(s: Settings | None = None, **fields) -> OpenAIRequest:
    values = {"model": None, "response_format": None, "granularities": None, "stream": False,
              "temperature": None, **fields}
    return parse_request(s or settings(), **values)


def api_error(call) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value


# --- model names -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [None, "", "   "])
def test_no_model_name_means_the_default_model(name):
    assert resolve_model(name, settings(default_model=ASR_0_6B)) == ASR_0_6B


@pytest.mark.parametrize("name,expected", [(ASR_1_7B, ASR_1_7B), (" QWEN3-ASR-0.6B ", ASR_0_6B)])
def test_our_model_ids_are_taken_as_they_are(name, expected):
    assert resolve_model(name, settings(default_model=ASR_1_7B, openai_strict_models=True)) == expected


def test_unknown_names_fall_back_to_the_default_when_not_strict():
    assert resolve_model("whisper-1", settings(default_model=ASR_0_6B)) == ASR_0_6B


def test_configured_alias_wins_over_the_default():
    s = settings(default_model=ASR_1_7B, openai_model_aliases="whisper-1=qwen3-asr-0.6b")
    assert resolve_model("WHISPER-1", s) == ASR_0_6B
    assert resolve_model("gpt-4o-transcribe", s) == ASR_1_7B


def test_strict_mode_refuses_unknown_names_with_400():
    error = api_error(lambda: resolve_model("whisper-1", settings(openai_strict_models=True)))
    assert (error.status, error.code, error.param) == (400, "unknown_model", "model")
    assert ASR_1_7B in error.message and ASR_0_6B in error.message


def test_strict_mode_still_honours_aliases():
    s = settings(openai_strict_models=True, openai_model_aliases="whisper-1=qwen3-asr-0.6b")
    assert resolve_model("whisper-1", s) == ASR_0_6B


# --- response_format, temperature, granularities, stream --------------------------------------


def test_defaults_are_json_without_granularities_not_streamed():
    request = parse()
    assert request == OpenAIRequest(ASR_1_7B, "json", (), False)
    assert not request.timed and not request.words


@pytest.mark.parametrize("value,expected", [("JSON", "json"), (" text ", "text"), ("Verbose_JSON", "verbose_json"),
                                            ("srt", "srt"), ("vtt", "vtt"), ("", "json")])
def test_response_format_is_case_and_space_insensitive(value, expected):
    assert parse(response_format=value).response_format == expected


@pytest.mark.parametrize("value", ["xml", "json ld", "mp3"])
def test_unknown_response_format_is_400(value):
    error = api_error(lambda: parse(response_format=value))
    assert (error.status, error.code, error.param) == (400, "invalid_response_format", "response_format")
    assert "verbose_json" in error.message


@pytest.mark.parametrize("fmt,timed", [("json", False), ("text", False), ("srt", True), ("vtt", True),
                                       ("verbose_json", True)])
def test_timed_formats(fmt, timed):
    assert parse(response_format=fmt).timed is timed


@pytest.mark.parametrize("temperature", [0.0, 0.5, 1.0, None])
def test_temperature_in_range_is_accepted(temperature):
    parse(temperature=temperature)


@pytest.mark.parametrize("temperature", [-0.01, 1.01, 2.0])
def test_temperature_out_of_range_is_400(temperature):
    error = api_error(lambda: parse(temperature=temperature))
    assert (error.code, error.param) == ("invalid_temperature", "temperature")


def test_verbose_json_defaults_to_segments():
    assert parse(response_format="verbose_json").granularities == ("segment",)


@pytest.mark.parametrize("asked,expected", [
    (["word"], ("word",)),
    (["segment", "word"], ("word", "segment")),    # a fixed order, whatever the client's
    ([" WORD ", "word"], ("word",)),                # normalised and deduplicated
    (["", "  "], ("segment",)),                     # blanks count as nothing asked
])
def test_verbose_json_granularities(asked, expected):
    request = parse(response_format="verbose_json", granularities=asked)
    assert request.granularities == expected
    assert request.words is ("word" in expected)


@pytest.mark.parametrize("fmt", ["json", "text", "srt", "vtt"])
def test_granularities_are_ignored_outside_verbose_json(fmt):
    request = parse(response_format=fmt, granularities=["word"])
    assert request.granularities == () and not request.words


def test_unknown_granularity_is_400_even_where_ignored():
    error = api_error(lambda: parse(response_format="json", granularities=["word", "sentence"]))
    assert (error.code, error.param) == ("invalid_timestamp_granularity", "timestamp_granularities")
    assert "'sentence'" in error.message


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_streaming_text_formats(fmt):
    assert parse(response_format=fmt, stream=True).stream is True


@pytest.mark.parametrize("fmt", ["srt", "vtt", "verbose_json"])
def test_streaming_timed_formats_is_400(fmt):
    error = api_error(lambda: parse(response_format=fmt, stream=True))
    assert (error.code, error.param) == ("stream_unsupported_format", "stream")


def test_format_is_checked_before_the_model():
    """A bad format is reported even with a strict-mode unknown model."""
    error = api_error(lambda: parse(settings(openai_strict_models=True), model="whisper-1", response_format="xml"))
    assert error.code == "invalid_response_format"


def test_the_model_is_resolved_in_the_request():
    assert parse(settings(default_model=ASR_0_6B), model="whisper-1").model == ASR_0_6B


# --- responses ---------------------------------------------------------------------------------


@pytest.mark.parametrize("reported,expected", [
    ("English", "english"), ("Chinese,English", "chinese"), (" Japanese , Korean", "japanese"), ("", ""),
    (None, ""),
])
def test_openai_language(reported, expected):
    assert openai_language(reported) == expected


def test_usage_is_in_seconds_rounded_to_milliseconds():
    assert usage(5.123456).model_dump() == {"type": "duration", "seconds": 5.123}


def test_sse_is_one_data_line_and_a_blank_line():
    event = sse(TextDeltaEvent(delta="你好 "))
    assert event.endswith(b"\n\n") and event.count(b"\n") == 2
    assert event.startswith(b"data: ")
    assert json.loads(event[len(b"data: "):]) == {"type": "transcript.text.delta", "delta": "你好 "}
    assert "你好".encode() in event  # not \\u escaped


def test_sse_takes_plain_dicts_and_done_events():
    assert json.loads(sse({"error": {"code": "x"}})[6:]) == {"error": {"code": "x"}}
    assert json.loads(sse(TextDoneEvent(text="a b"))[6:]) == {"type": "transcript.text.done", "text": "a b"}


def test_segment_bodies_number_segments_and_compute_compression():
    segments = [Segment(0.0, 1.5, "hello world"), Segment(1.5, 3.0, "na " * 40)]
    bodies = segment_bodies(segments)
    assert [b.id for b in bodies] == [0, 1]
    assert (bodies[0].start, bodies[0].end, bodies[0].text) == (0.0, 1.5, "hello world")
    assert bodies[0].tokens == [] and bodies[0].temperature == 0.0 and bodies[0].no_speech_prob == 0.0
    # repeated text compresses well: Whisper's hallucination signal is high for it
    assert bodies[1].compression_ratio > 2.4 > bodies[0].compression_ratio > 0


def test_verbose_json_leaves_out_what_was_not_asked_for():
    body = TranscriptionVerboseJson(language="english", duration=1.0, text="hi", usage=usage(1.0))
    dumped = body.model_dump(exclude_none=True)
    assert dumped["task"] == "transcribe"
    assert "words" not in dumped and "segments" not in dumped


def test_model_objects_look_like_openais():
    listing = ModelList(data=[ModelObject(id=ASR_1_7B)]).model_dump()
    assert listing == {"object": "list",
                       "data": [{"id": ASR_1_7B, "object": "model", "created": 0, "owned_by": "qwen"}]}


def test_plain_text_formats_declare_utf8():
    assert all(value.endswith("charset=utf-8") for value in CONTENT_TYPES.values())
    assert set(CONTENT_TYPES) == {"text", "srt", "vtt"}


def test_documented_error_statuses_include_auth_and_overload():
    assert {400, 401, 413, 415, 422, 503} <= set(ERROR_RESPONSES)
