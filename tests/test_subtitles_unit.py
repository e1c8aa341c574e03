"""Subtitle escaping and `POST /api/subtitles` on the FastAPI app in-process (no Ray, no models).

The route must give byte for byte what the shared builder gives (the file /v1 srt/vtt serves for the
same words), follow the service's segment setting, and answer every bad body with a 400 in the
service's error shape, never a 500.
"""

from __future__ import annotations

import json
import random
import re

import pytest
from fastapi.testclient import TestClient

from deployments.protocol import WordTime
from serve_app.app import create_app
from serve_app.routes import subtitles as route
from serve_app.services.composition import build_services
from serve_app.services.subtitles import (
    MEDIA_TYPES,
    Segment,
    build_segments,
    render,
    srt_cue_text,
    timed_text_time,
    to_srt,
    to_timed_text,
    to_vtt,
    vtt_cue_text,
)
from serve_app.settings import Settings

CUE = re.compile(r"(\d\d:\d\d:\d\d[.,]\d{3}) --> (\d\d:\d\d:\d\d[.,]\d{3})")


def client(**settings) -> TestClient:
    return TestClient(create_app(build_services(Settings(**settings), None, None, None, None)))


@pytest.fixture(scope="module")
def api() -> TestClient:
    return client()


def words(*items) -> list[dict]:
    return [{"text": text, "start": start, "end": end} for text, start, end in items]


def word_times(items: list[dict]) -> list[WordTime]:
    return [WordTime(w["text"], w["start"], w["end"]) for w in items]


def evenly(tokens, step=0.3, gap=0.05) -> list[dict]:
    out, t = [], 0.0
    for token in tokens:
        out.append({"text": token, "start": round(t, 3), "end": round(t + step, 3)})
        t += step + gap
    return out


# ---- escaping ---------------------------------------------------------------------------------
def test_vtt_escapes_markup_and_keeps_the_arrow_readable():
    """`-->` in VTT cue text is written `--&gt;`: the viewer still reads `-->` (no dash lost)."""
    assert vtt_cue_text("a --> b & <i>c</i>") == "a --&gt; b &amp; &lt;i&gt;c&lt;/i&gt;"
    assert vtt_cue_text("x-->y") == "x--&gt;y"


def test_vtt_cue_text_never_holds_the_cue_arrow_or_a_raw_tag():
    text = vtt_cue_text("<b>--> & --><-- &amp;")
    assert "-->" not in text and "<" not in text and ">" not in text.replace("&gt;", "")
    assert "&amp;amp;" in text, "an ampersand is escaped, even one that looks like an entity"


def test_srt_has_no_escapes_only_the_arrow_is_defused():
    """SubRip has no entities (players show `&lt;` literally): text stays, `-->` cannot read as timing."""
    assert srt_cue_text("Fish & <chips> --> now") == "Fish & <chips> -> now"
    assert "-->" not in srt_cue_text("a ---> b -->-->")


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_cue_text_is_one_line_whatever_whitespace_it_holds(fmt):
    rendered = render([Segment(0, 1, "one\n\ntwo\r\nthree\u2028four\tfive")], fmt)
    body = rendered.removeprefix("WEBVTT\n\n").removeprefix("1\n")
    assert body.split("\n")[1] == "one two three four five"
    assert rendered.endswith("five\n\n") and "\n\n\n" not in rendered


def test_render_picks_the_format_and_refuses_others():
    segments = [Segment(0.0, 1.5, "Hello world.")]
    assert render(segments, "srt") == to_srt(segments)
    assert render(segments, "vtt") == to_vtt(segments)
    assert render(segments, "txt") == to_timed_text(segments)
    with pytest.raises(ValueError):
        render(segments, "ass")


def test_words_with_spaces_around_them_are_trimmed_not_a_crash():
    """A word ' a' after 'x' once broke the rebuilt-text fallback (an AssertionError: a 500)."""
    segments = build_segments("", word_times(words(("x", 0, 0.2), (" a", 0.3, 0.5), ("b ", 0.6, 0.8), ("   ", 1, 2))))
    assert [s.text for s in segments] == ["x a b"]


# ---- timed text: the UI's "copy with timestamps" ------------------------------------------------
@pytest.mark.parametrize("seconds,clock", [
    (0, "0:00.0"), (1.24, "0:01.2"), (59.96, "1:00.0"), (61.25, "1:01.2"), (599.9, "9:59.9"),
    (3599.96, "1:00:00.0"), (3725.5, "1:02:05.5"), (-0.3, "0:00.0"),
])
def test_timed_text_clock_is_minutes_then_hours_in_tenths(seconds, clock):
    """Rounded to tenths before it is split, so 59.96 s is 1:00.0, never 0:60.0."""
    assert timed_text_time(seconds) == clock


def test_timed_text_is_one_line_per_cue_with_the_cue_times():
    segments = [Segment(0.0, 2.5, "Hello\nworld."), Segment(3725.0, 3726.04, "Later.")]
    assert to_timed_text(segments) == "[0:00.0 – 0:02.5] Hello world.\n[1:02:05.0 – 1:02:06.0] Later.\n"


# ---- the route: same file as the shared builder -----------------------------------------------
SENTENCE = "Fish & <chips> --> now. Next one!"
SENTENCE_WORDS = words(("Fish", 0.0, 0.3), ("chips", 0.4, 0.8), ("now", 0.9, 1.0), ("Next", 1.2, 1.4), ("one", 1.5, 1.7))


@pytest.mark.parametrize("fmt,content_type,expected", [
    ("vtt", "text/vtt; charset=utf-8", "WEBVTT\n\n"
     "00:00:00.000 --> 00:00:01.000\nFish &amp; &lt;chips&gt; --&gt; now.\n\n"
     "00:00:01.200 --> 00:00:01.700\nNext one!\n\n"),
    ("srt", "application/x-subrip; charset=utf-8",
     "1\n00:00:00,000 --> 00:00:01,000\nFish & <chips> -> now.\n\n"
     "2\n00:00:01,200 --> 00:00:01,700\nNext one!\n\n"),
    ("txt", "text/plain; charset=utf-8", "[0:00.0 – 0:01.0] Fish & <chips> --> now.\n[0:01.2 – 0:01.7] Next one!\n"),
])
def test_the_route_gives_the_exact_file(api, fmt, content_type, expected):
    response = api.post("/api/subtitles", json={"text": SENTENCE, "timestamps": SENTENCE_WORDS, "format": fmt})
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.text == expected


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_route_matches_the_builder_that_v1_uses(api, fmt):
    """200 words of a long text, with pauses: the route's file is the shared builder's file."""
    rng = random.Random(7)
    tokens = [rng.choice(["alpha", "beta", "gamma", "delta", "epsilon"]) for _ in range(200)]
    text = " ".join(t + ("." if i % 17 == 16 else ",") if i % 5 == 4 else t for i, t in enumerate(tokens))
    items = evenly(tokens)
    for item in items[60:]:  # a pause
        item["start"] = round(item["start"] + 2, 3)
        item["end"] = round(item["end"] + 2, 3)
    response = api.post("/api/subtitles", json={"text": text, "timestamps": items, "format": fmt, "duration_seconds": 80})
    expected = render(build_segments(text, word_times(items), max_chars=Settings().openai_segment_max_chars,
                                      duration=80.0), fmt)
    assert response.status_code == 200 and response.text == expected
    assert len(CUE.findall(response.text)) > 5


def test_route_follows_the_segment_length_setting():
    body = {"text": " ".join(["word"] * 40), "timestamps": evenly(["word"] * 40), "format": "srt"}
    short = client(openai_segment_max_chars=10).post("/api/subtitles", json=body).text
    default = client().post("/api/subtitles", json=body).text
    assert len(CUE.findall(short)) > len(CUE.findall(default))
    assert all(len(line) <= 10 for line in short.split("\n\n")[0].split("\n")[2:])


def test_no_cue_ends_after_the_audio(api):
    items = words(("late", 1.0, 9.0))
    vtt = api.post("/api/subtitles", json={"text": "late", "timestamps": items, "format": "vtt", "duration_seconds": 2.5}).text
    assert CUE.findall(vtt) == [("00:00:01.000", "00:00:02.500")]


def test_the_whole_transcribe_answer_is_accepted(api):
    answer = {"text": "hello world", "language": "English", "model": "qwen3-asr-1.7b", "dtype": "float32",
              "timestamps": words(("hello", 0.1, 0.4), ("world", 0.5, 0.9)), "duration_seconds": 1.0,
              "process_time_seconds": 0.02, "load_time_seconds": 0.0, "rtf": 0.02, "format": "srt"}
    response = api.post("/api/subtitles", json=answer)
    assert response.status_code == 200
    assert response.text == "1\n00:00:00,100 --> 00:00:00,900\nhello world\n\n"


def test_cjk_text_comes_back_as_utf8(api):
    items = words(("你", 0, 0.2), ("好", 0.2, 0.4), ("世", 0.5, 0.7), ("界", 0.7, 0.9))
    response = api.post("/api/subtitles", json={"text": "你好，世界。", "timestamps": items, "format": "vtt"})
    assert "你好，世界。".encode() in response.content


def test_bodies_are_cut_off_the_event_loop_with_the_same_result(api, monkeypatch):
    calls = []
    real = route.run_in_threadpool

    async def spy(fn, *args):
        calls.append(fn.__name__)
        return await real(fn, *args)

    monkeypatch.setattr(route, "run_in_threadpool", spy)
    tokens = [f"w{i}" for i in range(20_000)]
    body = {"text": " ".join(tokens), "timestamps": evenly(tokens, step=0.2, gap=0.0), "format": "srt"}
    response = api.post("/api/subtitles", json=body)
    assert response.status_code == 200 and calls == ["build"]
    assert response.text == to_srt(build_segments(body["text"], word_times(body["timestamps"])))
    small = api.post("/api/subtitles", json={"text": "a", "timestamps": words(("a", 0, 1)), "format": "srt"})
    assert small.status_code == 200 and calls == ["build", "build"], "every body leaves the event loop"


# ---- bad input: 400 in the service's error shape ----------------------------------------------
def bad_bodies() -> dict[str, tuple[object, str, str | None]]:
    one = words(("a", 0, 1))
    return {
        "no timestamps": ({"text": "a", "format": "srt"}, "missing_timestamps", "timestamps"),
        "null timestamps": ({"text": "a", "timestamps": None, "format": "srt"}, "missing_timestamps", "timestamps"),
        "empty timestamps": ({"text": "a", "timestamps": [], "format": "vtt"}, "missing_timestamps", "timestamps"),
        "only blank words": ({"text": "a", "timestamps": words((" ", 0, 1), ("", 1, 2)), "format": "srt"},
                             "missing_timestamps", "timestamps"),
        "end before start": ({"text": "a b", "timestamps": words(("a", 0, 1), ("b", 2, 1.5)), "format": "srt"},
                             "invalid_timestamps", "timestamps"),
        "negative start": ({"text": "a", "timestamps": words(("a", -1, 1)), "format": "srt"}, "invalid_request", "start"),
        "start past 100 h": ({"text": "a", "timestamps": words(("a", 4e5, 4e5)), "format": "srt"},
                             "invalid_request", "start"),
        "string time": ({"text": "a", "timestamps": words(("a", "soon", 1)), "format": "srt"}, "invalid_request", "start"),
        "unknown format": ({"text": "a", "timestamps": one, "format": "ass"}, "invalid_request", "format"),
        "no format": ({"text": "a", "timestamps": one}, "invalid_request", "format"),
        "word not text": ({"text": "a", "timestamps": [{"text": 5, "start": 0, "end": 1}], "format": "srt"},
                          "invalid_request", "text"),
        "word too long": ({"text": "a", "timestamps": words(("a" * 1001, 0, 1)), "format": "srt"}, "invalid_request", "text"),
        "zero duration": ({"text": "a", "timestamps": one, "format": "srt", "duration_seconds": 0},
                          "invalid_request", "duration_seconds"),
        "a list body": ([], "invalid_request", None),
    }


@pytest.mark.parametrize("name", list(bad_bodies()))
def test_bad_bodies_are_400_with_the_error_shape(api, name):
    body, code, param = bad_bodies()[name]
    response = api.post("/api/subtitles", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["status"] == 400 and error["message"]
    assert error.get("param") == param
    assert error["request_id"], "every error names its request"


@pytest.mark.parametrize("raw,param", [
    ('{"text":"a","timestamps":[{"text":"a","start":NaN,"end":1}],"format":"srt"}', "start"),
    ('{"text":"a","timestamps":[{"text":"a","start":0,"end":Infinity}],"format":"srt"}', "end"),
    ('{"text":"a","timestamps":[{"text":"a","start":0,"end":1}],"format":"srt","duration_seconds":-Infinity}',
     "duration_seconds"),
    ('{"text": "a", "timestamps": [', None),
    ("", None),
])
def test_non_finite_numbers_and_broken_json_are_400(api, raw, param):
    response = api.post("/api/subtitles", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"].get("param") == param


def test_too_many_words_is_400_naming_the_bound(api):
    items = [{"text": "w", "start": 0, "end": 0}] * (route.MAX_WORDS + 1)
    response = api.post("/api/subtitles", json={"text": "", "timestamps": items, "format": "srt"})
    assert response.status_code == 400
    assert str(route.MAX_WORDS) in response.json()["error"]["message"]
    assert response.json()["error"]["param"] == "timestamps"


def test_random_words_and_texts_never_break_the_route(api):
    """Tokens with spaces, punctuation, CJK, arrows and markup, in texts that match or not: always 200, and
    every file parses: an arrow only on timing lines, no blank line inside a cue, times in order."""
    rng = random.Random(13)
    alphabet = ["a", "B", "é", "1", "'", " ", "\n", ",", ".", "!", "-", "->", "-->", "<", ">", "&", "你", "。", "「", "\u200b"]
    for case in range(150):
        tokens = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(1, 25))]
        text = rng.choice([" ".join(tokens), "".join(tokens), "".join(rng.choice(alphabet) for _ in range(30)), ""])
        t, items = 0.0, []
        for token in tokens:
            start = round(t + rng.choice([0, 0.1, 1.5]), 3)
            items.append({"text": token, "start": start, "end": round(start + rng.random(), 3)})
            t = start
        fmt = rng.choice(["srt", "vtt"])
        response = api.post("/api/subtitles", json={"text": text, "timestamps": items, "format": fmt})
        if not any(token.strip() for token in tokens):
            assert response.status_code == 400, (case, response.text)
            continue
        assert response.status_code == 200, (case, tokens, text, response.text)
        body = response.text.removeprefix("WEBVTT\n\n") if fmt == "vtt" else response.text
        assert body.endswith("\n\n")
        last = 0.0
        for cue in body[:-2].split("\n\n"):
            lines = cue.split("\n")
            lines = lines[1:] if fmt == "srt" else lines
            assert len(lines) == 2 and lines[1].strip(), (case, cue)
            timing = CUE.fullmatch(lines[0])
            assert timing and "-->" not in lines[1], (case, cue)
            start = sum(float(x) * m for x, m in zip(timing.group(1).replace(",", ".").split(":"), (3600, 60, 1)))
            assert start >= last - 1e-9
            last = start


@pytest.mark.parametrize("headers,status", [({}, 401), ({"Authorization": "Bearer wrong"}, 401),
                                            ({"Authorization": "Bearer s3cret"}, 200), ({"X-API-Key": "s3cret"}, 200)])
def test_the_route_needs_the_api_key_when_one_is_set(headers, status):
    body = {"text": "a", "timestamps": words(("a", 0, 1)), "format": "srt"}
    response = client(api_key="s3cret").post("/api/subtitles", json=body, headers=headers)
    assert response.status_code == status
    if status == 401:
        assert response.json()["error"]["code"] == "unauthorized"


def test_media_types_are_utf8_subrip_and_webvtt():
    assert MEDIA_TYPES == {"srt": "application/x-subrip; charset=utf-8", "vtt": "text/vtt; charset=utf-8"}


def test_the_schema_documents_the_body_and_both_file_types(api):
    operation = api.get("/openapi.json").json()["paths"]["/api/subtitles"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["format"]
    assert set(schema["properties"]) == {"text", "timestamps", "format", "duration_seconds"}
    assert "$ref" not in json.dumps(schema), "no dangling $defs reference in the OpenAPI document"
    assert set(operation["responses"]["200"]["content"]) == {"application/x-subrip", "text/vtt", "text/plain"}
    assert "400" in operation["responses"]
