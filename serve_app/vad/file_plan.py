"""Which parts of a file the model hears, and where they are cut (pure, no I/O).

* No speech at all: nothing is sent.
* A file no longer than the piece limit with any speech: sent whole (the same audio as a direct
  model call, and as a short live stream's final).
* A longer file: non-speech stretches of at least `skip` samples are left out (reported as
  skipped); what remains is cut at pauses, the latest pause in the second half of the piece limit
  (the search range); only where that range holds no pause is speech cut, at its least
  speech-like frame near the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from serve_app.vad.spans import Span, VadParams, quietest_point, speech_spans

MIN_TAIL = 8_000          # a forced cut leaves at least 0.5 s after it (very short clips crash the model)


@dataclass(frozen=True)
class FilePlan:
    pieces: list[Span]
    total: int

    @property
    def skipped_samples(self) -> int:
        return self.total - sum(end - start for start, end in self.pieces)


def regions(spans: list[Span], total: int, skip: int) -> list[list[Span]]:
    """Speech spans grouped into regions separated by at least `skip` samples of non-speech."""
    groups: list[list[Span]] = []
    for span in spans:
        if groups and span[0] - groups[-1][-1][1] < skip:
            groups[-1].append(span)
        else:
            groups.append([span])
    return groups


def split_region(start: int, end: int, pauses: list[int], probs: np.ndarray, limit: int) -> list[Span]:
    """[start, end) cut into pieces of at most `limit` samples, at pauses where the search range has one."""
    pieces: list[Span] = []
    while end - start > limit:
        latest = start + limit
        inside = [p for p in pauses if start + limit // 2 <= p <= latest]
        if inside:
            cut = max(inside)
        else:
            cut = quietest_point(probs, start + limit // 2, min(latest, end - MIN_TAIL))
        cut = max(cut, start + 1)
        pieces.append((start, cut))
        start = cut
    pieces.append((start, end))
    return pieces


def plan_file(probs: np.ndarray, total: int, params: VadParams, *, limit: int, skip: int) -> FilePlan:
    spans = speech_spans(probs, total, params)
    if not spans:
        return FilePlan([], total)
    if total <= limit:
        return FilePlan([(0, total)], total)
    groups = regions(spans, total, skip)
    pieces: list[Span] = []
    for index, group in enumerate(groups):
        start = 0 if index == 0 and group[0][0] < skip else group[0][0]
        end = total if index == len(groups) - 1 and total - group[-1][1] < skip else group[-1][1]
        pauses = [(left[1] + right[0]) // 2 for left, right in pairwise(group)]
        pieces.extend(split_region(start, end, pauses, probs, limit))
    return FilePlan(pieces, total)
