"""Segments from word times, and SRT / WebVTT rendering (pure functions, no stack)."""

from __future__ import annotations

import re

import pytest

from deployments.protocol import WordTime
from serve_app.services.subtitles import (
    Segment,
    build_segments,
    compression_ratio,
    join_words,
    locate_words,
    segments_from_spans,
    srt_time,
    to_srt,
    to_vtt,
    vtt_time,
)


def timed(*items):
    """timed(("hello", 0.0, 0.4), ...) -> WordTimes."""
    return [WordTime(text, start, end) for text, start, end in items]


def evenly(words, step=0.3, gap=0.05, start=0.0):
    out, t = [], start
    for word in words:
        out.append(WordTime(word, round(t, 3), round(t + step, 3)))
        t += step + gap
    return out


def test_locate_words_skips_punctuation_and_keeps_case():
    text = "Hello, world! It's well-known."
    spans = locate_words(text, ["hello", "world", "It's", "wellknown"])
    assert [text[a:b] for a, b in spans] == ["Hello", "world", "It's", "well-known"]


def test_locate_words_refuses_words_from_another_text():
    assert locate_words("hello world", ["hello", "there"]) is None
    assert locate_words("hello big world", ["hello", "world"]) is None  # 'big' is unaccounted for


def test_sentence_punctuation_ends_segments_and_keeps_the_models_text():
    text = "Hello world. This is a test! Is it?"
    words = evenly(["Hello", "world", "This", "is", "a", "test", "Is", "it"])
    segments = build_segments(text, words)
    assert [s.text for s in segments] == ["Hello world.", "This is a test!", "Is it?"]
    assert segments[0].start == words[0].start and segments[0].end == words[1].end
    assert segments[1].start == words[2].start and segments[2].end == words[-1].end
    assert [w.text for w in segments[1].words] == ["This", "is", "a", "test"]


def test_cjk_text_is_cut_at_full_width_punctuation_without_spaces():
    text = "你好，世界。这是一个测试。"
    words = evenly(list("你好世界这是一个测试"), step=0.2)
    segments = build_segments(text, words)
    assert [s.text for s in segments] == ["你好，世界。", "这是一个测试。"]


def test_opening_quotes_go_with_the_next_segment():
    text = "他说。「你好」"
    segments = build_segments(text, evenly(["他", "说", "你", "好"]))
    assert [s.text for s in segments] == ["他说。", "「你好」"]


def test_a_pause_ends_a_segment():
    words = timed(("one", 0.0, 0.3), ("two", 0.35, 0.6), ("three", 2.0, 2.4), ("four", 2.45, 2.8))
    segments = build_segments("one two three four", words, pause_seconds=0.8)
    assert [s.text for s in segments] == ["one two", "three four"]
    assert (segments[1].start, segments[1].end) == (2.0, 2.8)


def test_max_chars_and_max_seconds_bound_a_segment():
    words = evenly([f"word{i}" for i in range(40)], step=0.2, gap=0.01)
    text = join_words(w.text for w in words)
    segments = build_segments(text, words, max_chars=30, max_seconds=100)
    assert all(len(s.text) <= 30 for s in segments)
    assert " ".join(s.text for s in segments) == text
    segments = build_segments(text, words, max_chars=1000, max_seconds=2.0)
    assert all(s.end - s.start <= 2.0 for s in segments)
    assert " ".join(s.text for s in segments) == text


def test_a_single_long_word_is_its_own_segment():
    segments = build_segments("a " + "x" * 50 + " b", evenly(["a", "x" * 50, "b"]), max_chars=10)
    assert [s.text for s in segments] == ["a", "x" * 50, "b"]


def test_clause_punctuation_cuts_only_long_segments():
    words = evenly(["short", "clause", "then", "more"])
    assert [s.text for s in build_segments("short, clause then more", words, max_chars=80)] == [
        "short, clause then more"]
    assert [s.text for s in build_segments("short, clause then more", words, max_chars=12)] == [
        "short,", "clause then", "more"]


def test_decimal_point_split_by_cjk_tokenisation_is_no_sentence_end():
    # the aligner's Chinese tokenisation times "3.5" as "3" and "5"
    segments = build_segments("价格是3.5元。", evenly(["价", "格", "是", "3", "5", "元"]))
    assert [s.text for s in segments] == ["价格是3.5元。"]


def test_words_that_do_not_match_the_text_build_their_own():
    segments = build_segments("something else entirely", evenly(["hello", "world"]))
    assert [s.text for s in segments] == ["hello world"]


def test_times_are_monotonic_and_inside_the_audio():
    segments = build_segments("a. b. c.", timed(("a", 0.5, 1.2), ("b", 1.0, 1.1), ("c", 0.9, 9.0)), duration=5.0)
    assert [s.text for s in segments] == ["a.", "b.", "c."]
    for before, after in zip(segments, segments[1:]):
        assert before.end <= after.start
    assert all(0 <= s.start <= s.end <= 5.0 for s in segments)


def test_no_words_no_segments():
    assert build_segments("", []) == []
    assert build_segments("text", [WordTime("", 0, 0)]) == []


def test_fallback_segments_from_pieces_skip_empty_text():
    segments = segments_from_spans([(0.0, 20.0, " first  piece "), (20.0, 35.5, ""), (35.5, 40.0, "last")])
    assert [(s.start, s.end, s.text) for s in segments] == [(0.0, 20.0, "first piece"), (35.5, 40.0, "last")]


@pytest.mark.parametrize("seconds,srt,vtt", [
    (0, "00:00:00,000", "00:00:00.000"),
    (1.2345, "00:00:01,234", "00:00:01.234"),
    (61.5, "00:01:01,500", "00:01:01.500"),
    (3723.004, "01:02:03,004", "01:02:03.004"),
    (36000, "10:00:00,000", "10:00:00.000"),
])
def test_clock_formats(seconds, srt, vtt):
    assert srt_time(seconds) == srt and vtt_time(seconds) == vtt


SEGMENTS = [Segment(0.0, 1.5, "Hello world."), Segment(1.75, 3.0, "Fish & <chips> --> now")]


def test_srt_rendering():
    assert to_srt(SEGMENTS) == (
        "1\n00:00:00,000 --> 00:00:01,500\nHello world.\n\n"
        "2\n00:00:01,750 --> 00:00:03,000\nFish & <chips> -> now\n\n"
    )


def test_vtt_rendering_escapes_markup():
    assert to_vtt(SEGMENTS) == (
        "WEBVTT\n\n"
        "00:00:00.000 --> 00:00:01.500\nHello world.\n\n"
        "00:00:01.750 --> 00:00:03.000\nFish &amp; &lt;chips&gt; --&gt; now\n\n"
    )
    assert to_vtt([]) == "WEBVTT\n\n" and to_srt([]) == ""


def test_cue_text_never_holds_a_blank_line():
    rendered = to_srt([Segment(0, 1, "line one\n\nline two")])
    assert re.fullmatch(r"1\n[^\n]+\nline one line two\n\n", rendered)


def test_compression_ratio_flags_repetition():
    assert compression_ratio("") == 0.0
    assert compression_ratio("la " * 200) > 2.4 > compression_ratio("The quick brown fox jumps over the lazy dog.")
