"""Segments and subtitles from word times (pure: no I/O, no model).

The ForcedAligner times words (or CJK characters) but drops punctuation, so `build_segments`
first finds each timed word in the transcript text, then cuts segments after sentence
punctuation, at pauses, and before a segment would pass its length limits. Segment text is
sliced from the transcript, so it keeps the model's punctuation, casing and spacing (none
between CJK characters). The one cue builder of the project: the OpenAI-compatible route (srt,
vtt, verbose_json) and `POST /api/subtitles` (the UI's subtitle downloads) both render through
`build_segments` and `render`, so the same words give the same file.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from deployments.protocol import WordTime

DEFAULT_MAX_CHARS = 80
DEFAULT_MAX_SECONDS = 10.0
DEFAULT_PAUSE_SECONDS = 0.8

SENTENCE_END = frozenset(".!?;。！？；…‼⁇⁈⁉؟।")
CLAUSE_END = frozenset(",:，、：")
# Opening brackets and quotes belong to the next segment, not the tail of the previous one.
OPENING = frozenset("([{（［｛「『《〈【〔“‘¿¡")


class TimedText(Protocol):
    text: str
    start: float
    end: float


@dataclass
class Segment:
    start: float
    end: float
    text: str
    words: list[WordTime] = field(default_factory=list)


def is_word_char(char: str) -> bool:
    """The characters the ForcedAligner keeps in its words: letters, digits and the apostrophe."""
    return char == "'" or unicodedata.category(char)[0] in ("L", "N")


def _is_cjk(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def join_words(tokens: Iterable[str]) -> str:
    """Words to text: a space between words, none next to CJK characters."""
    joined = ""
    for token in tokens:
        if not token:
            continue
        if joined and not (_is_cjk(joined[-1]) or _is_cjk(token[0])):
            joined += " "
        joined += token
    return joined


def _same(a: str, b: str) -> bool:
    return a == b or a.lower() == b.lower()


def locate_words(text: str, words: Sequence[str]) -> list[tuple[int, int]] | None:
    """Where each word lies in `text`, in order, as (start, end) character offsets.

    Punctuation inside a word (`well-known` timed as `wellknown`) is skipped; a letter or digit
    of the text that no word accounts for means the words do not come from this text: None.
    """
    spans: list[tuple[int, int]] = []
    pos, size = 0, len(text)
    for token in words:
        if not token:
            spans.append((pos, pos))
            continue
        while pos < size and not _same(text[pos], token[0]):
            if is_word_char(text[pos]):
                return None
            pos += 1
        if pos >= size:
            return None
        start, j = pos, 0
        while j < len(token):
            if pos < size and _same(text[pos], token[j]):
                pos += 1
                j += 1
            elif pos < size and not is_word_char(text[pos]) and not text[pos].isspace():
                pos += 1
            else:
                return None
        spans.append((start, pos))
    return spans


def _tail(text: str, end: int, limit: int) -> int:
    """The end of the punctuation that follows a word (up to a space, a word or an opening mark)."""
    while end < limit and not text[end].isspace() and not is_word_char(text[end]) and text[end] not in OPENING:
        end += 1
    return end


def _ends_sentence(text: str, word_end: int, tail_end: int) -> bool:
    marks = text[word_end:tail_end]
    if not any(c in SENTENCE_END for c in marks):
        return False
    # "3.5" or "a.m" split into words by CJK tokenisation: an ASCII mark glued to the next word
    # is not a sentence end.
    follows = text[tail_end] if tail_end < len(text) else " "
    return not (marks[-1] in ".!?;" and follows.isascii() and follows.isalnum())


def _clean(text: str) -> str:
    return " ".join(text.split())


def build_segments(text: str, words: Sequence[TimedText], *, max_chars: int = DEFAULT_MAX_CHARS,
                   max_seconds: float = DEFAULT_MAX_SECONDS, pause_seconds: float = DEFAULT_PAUSE_SECONDS,
                   duration: float | None = None) -> list[Segment]:
    """Segments of `text` from its word times.

    A segment ends after sentence punctuation, after clause punctuation once it is half full,
    before a pause of `pause_seconds`, and before it would pass `max_chars` characters or
    `max_seconds`. Times are monotonic: a segment starts no earlier than the previous one ends,
    and (with `duration`) nothing ends after the audio does.
    """
    # Whitespace around a word is no part of it (a word of spaces is no word): the text has its own.
    timed = [WordTime(w.text.strip(), float(w.start), float(w.end)) for w in words if w.text.strip()]
    if not timed:
        return []
    spans = locate_words(text, [w.text for w in timed])
    if spans is None:  # the words were not cut from this text: build the text from them
        text = join_words(w.text for w in timed)
        spans = locate_words(text, [w.text for w in timed])
        assert spans is not None
    tails = [_tail(text, end, spans[i + 1][0] if i + 1 < len(spans) else len(text))
             for i, (_, end) in enumerate(spans)]

    groups: list[tuple[int, int, int]] = []  # (first word, last word, text cut after the last)
    first, cut = 0, 0
    for i, word in enumerate(timed):
        if i > first:
            length = len(_clean(text[cut:tails[i]]))
            gap = word.start - timed[i - 1].end
            if gap >= pause_seconds or length > max_chars or word.end - timed[first].start > max_seconds:
                groups.append((first, i - 1, tails[i - 1]))
                cut, first = tails[i - 1], i
        length = len(_clean(text[cut:tails[i]]))
        clause = any(c in CLAUSE_END for c in text[spans[i][1]:tails[i]]) and length >= max_chars // 2
        if _ends_sentence(text, spans[i][1], tails[i]) or clause:
            groups.append((first, i, tails[i]))
            cut, first = tails[i], i + 1
    if first < len(timed):
        groups.append((first, len(timed) - 1, len(text)))
    elif groups:  # text after the last word (rare) joins the last segment
        groups[-1] = (groups[-1][0], groups[-1][1], len(text))

    segments: list[Segment] = []
    cut = 0
    for first, last, end_cut in groups:
        segment_words = timed[first:last + 1]
        segments.append(Segment(segment_words[0].start, segment_words[-1].end, _clean(text[cut:end_cut]),
                                segment_words))
        cut = end_cut
    return _monotonic(segments, duration)


def segments_from_spans(spans: Iterable[tuple[float, float, str]], duration: float | None = None) -> list[Segment]:
    """Untimed fallback: one segment per (start, end, text) span, e.g. per transcribed piece."""
    segments = [Segment(float(start), float(end), _clean(text)) for start, end, text in spans if _clean(text)]
    return _monotonic(segments, duration)


def _monotonic(segments: list[Segment], duration: float | None) -> list[Segment]:
    floor = 0.0
    for segment in segments:
        start = max(segment.start, floor)
        end = max(segment.end, start)
        if duration is not None:
            start, end = min(start, duration), min(end, duration)
        segment.start, segment.end = round(start, 3), round(end, 3)
        floor = segment.end
    return segments


# ---- rendering ------------------------------------------------------------------------------
def _clock(seconds: float, separator: str) -> str:
    millis = max(0, int(round(seconds * 1000)))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def srt_time(seconds: float) -> str:
    return _clock(seconds, ",")


def vtt_time(seconds: float) -> str:
    return _clock(seconds, ".")


def timed_text_time(seconds: float) -> str:
    """`m:ss.s`, or `h:mm:ss.s` from an hour on: the clock of a timed-text line, in tenths."""
    tenths = max(0, int(round(seconds * 10)))
    hours, tenths = divmod(tenths, 36_000)
    minutes, tenths = divmod(tenths, 600)
    secs, tenths = divmod(tenths, 10)
    clock = f"{minutes:02d}:{secs:02d}.{tenths}" if hours else f"{minutes}:{secs:02d}.{tenths}"
    return f"{hours}:{clock}" if hours else clock


SUBTITLE_FORMATS = ("srt", "vtt")
TIMED_TEXT = "txt"  # POST /api/subtitles only: the UI's "copy with timestamps"
MEDIA_TYPES = {
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
}
CUE_MEDIA_TYPES = {**MEDIA_TYPES, TIMED_TEXT: "text/plain; charset=utf-8"}


_ARROW = re.compile(r"-{2,}>")  # "-->" and longer: one pass leaves none ("--->" -> "->", not "-->")


def srt_cue_text(text: str) -> str:
    """SubRip has no escaping at all: a cue is its lines up to a blank one, and a line holding
    `-->` reads as a timing line to many parsers (ffmpeg's among them). So the text is one line
    (whitespace runs, newlines included, become one space) and `-->` (or `--->`...) becomes `->`. `<`, `>` and
    `&` stay as they are: players show entities such as `&lt;` literally, so escaping them would
    show garbage (markup the transcript spells, like `<i>`, may be styled by some players)."""
    return _ARROW.sub("->", _clean(text))


def vtt_cue_text(text: str) -> str:
    """WebVTT cue text escapes `&`, `<` and `>` as entities. That also covers `-->`, which cue
    text may not hold: it becomes `--&gt;` and still reads `-->` on screen. One line, as in SRT."""
    return _clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_srt(segments: Iterable[Segment]) -> str:
    """SubRip: numbered cues `HH:MM:SS,mmm --> HH:MM:SS,mmm`, each followed by a blank line."""
    return "".join(
        f"{index}\n{srt_time(s.start)} --> {srt_time(s.end)}\n{srt_cue_text(s.text)}\n\n"
        for index, s in enumerate(segments, start=1)
    )


def to_vtt(segments: Iterable[Segment]) -> str:
    """WebVTT: the `WEBVTT` header, then cues `HH:MM:SS.mmm --> HH:MM:SS.mmm` (text escaped)."""
    cues = "".join(f"{vtt_time(s.start)} --> {vtt_time(s.end)}\n{vtt_cue_text(s.text)}\n\n" for s in segments)
    return "WEBVTT\n\n" + cues


def to_timed_text(segments: Iterable[Segment]) -> str:
    """One line per cue, `[0:01.2 – 0:03.4] text`: a transcript with its times, to paste anywhere."""
    return "".join(f"[{timed_text_time(s.start)} – {timed_text_time(s.end)}] {_clean(s.text)}\n" for s in segments)


def subtitle_file(text: str, words: Sequence[TimedText] | None, fmt: str, *, max_chars: int,
                  duration: float | None = None) -> str:
    """An SRT/VTT file (or timed text) from a transcript and its word times: `POST /api/subtitles`.

    Word times that cannot make cues are the client's error (400), never an empty file."""
    from serve_app.errors import bad_request

    if not words:
        raise bad_request("missing_timestamps", "Subtitles need word times: send the 'timestamps' of a "
                          "transcription made with return_timestamps=true.", "timestamps")
    for index, word in enumerate(words):
        if word.end < word.start:
            raise bad_request("invalid_timestamps", f"timestamps[{index}] ends ({word.end:g} s) before it "
                              f"starts ({word.start:g} s).", "timestamps")
    if not any(word.text.strip() for word in words):
        raise bad_request("missing_timestamps", "Every word in 'timestamps' has empty text.", "timestamps")
    return render(build_segments(text, words, max_chars=max_chars, duration=duration), fmt)


def render(segments: Iterable[Segment], fmt: str) -> str:
    """The subtitle file of `segments` in `fmt` (one of SUBTITLE_FORMATS, or TIMED_TEXT)."""
    if fmt == "srt":
        return to_srt(segments)
    if fmt == "vtt":
        return to_vtt(segments)
    if fmt == TIMED_TEXT:
        return to_timed_text(segments)
    raise ValueError(f"unknown subtitle format {fmt!r}")


def compression_ratio(text: str) -> float:
    """Whisper's repetition signal: UTF-8 length over zlib-compressed length (0 for empty text)."""
    data = text.encode("utf-8")
    return round(len(data) / len(zlib.compress(data)), 4) if data else 0.0
