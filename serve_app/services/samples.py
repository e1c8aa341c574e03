"""Built-in sample clips: a few seconds of speech made on this machine by espeak-ng, so a visitor
can try the service without a file of their own. Nothing is downloaded and no audio is shipped:
a clip is synthesised on its first request and kept in memory (three clips, ~100 KB each)."""

from __future__ import annotations

import asyncio
import shutil
import struct
import subprocess
from dataclasses import dataclass
from functools import lru_cache

from serve_app.errors import ApiError, echo

SYNTH_TIMEOUT_S = 30.0
ESPEAK = "espeak-ng"


@dataclass(frozen=True)
class SampleClip:
    id: str
    language: str  # the language code a client selects with it (the scripted demo models answer in it)
    voice: str  # espeak-ng voice: pinyin with tone numbers for Mandarin, kana for Japanese
    text: str  # what espeak-ng reads
    transcript: str  # what is said, in the language's own script

    def to_dict(self) -> dict:
        return {"id": self.id, "language": self.language, "transcript": self.transcript,
                "url": f"/api/samples/{self.id}.wav"}


SAMPLES: tuple[SampleClip, ...] = (
    SampleClip("english", "en", "en", "hello world, this is a test of the speech recognition service",
               "Hello world, this is a test of the speech recognition service."),
    SampleClip("mandarin", "zh", "cmn-latn-pinyin", "ni3 hao3 shi4 jie4, zhe4 shi4 yi2 ge4 ce4 shi4",
               "你好世界，这是一个测试。"),
    SampleClip("japanese", "ja", "ja", "こんにちは、せかい。これは テスト です。", "こんにちは、世界。これはテストです。"),
)
_BY_ID = {clip.id: clip for clip in SAMPLES}


def synthesizer_available() -> bool:
    return shutil.which(ESPEAK) is not None


def samples_unavailable() -> ApiError:
    return ApiError(503, "samples_unavailable",
                    "Sample clips need espeak-ng on the server (apt-get install espeak-ng); it is not installed.")


@lru_cache(maxsize=len(SAMPLES))
def _synthesize(clip_id: str) -> bytes:
    clip = _BY_ID[clip_id]
    done = subprocess.run([ESPEAK, "-v", clip.voice, "--stdout", clip.text], capture_output=True,
                          timeout=SYNTH_TIMEOUT_S, check=False)
    if done.returncode != 0 or not done.stdout.startswith(b"RIFF"):
        raise RuntimeError(f"espeak-ng failed for {clip_id}: {done.stderr.decode(errors='replace')[:200]}")
    return with_real_sizes(done.stdout)


def with_real_sizes(wav: bytes) -> bytes:
    """espeak-ng writes a WAV to a pipe with placeholder sizes (it cannot seek back): fill in the real
    RIFF and data sizes so every decoder (and the browser's duration) reads the clip right."""
    fixed = bytearray(wav)
    struct.pack_into("<I", fixed, 4, len(fixed) - 8)
    data = fixed.find(b"data", 12)
    if data < 0:
        raise RuntimeError("espeak-ng wrote a WAV without a data chunk")
    struct.pack_into("<I", fixed, data + 4, len(fixed) - data - 8)
    return bytes(fixed)


class SampleService:
    def catalogue(self) -> dict:
        available = synthesizer_available()
        return {"available": available, "samples": [clip.to_dict() for clip in SAMPLES] if available else []}

    async def audio(self, clip_id: str) -> bytes:
        """The clip as 16-bit WAV; 404 for an unknown id, 503 when the server cannot speak."""
        if clip_id not in _BY_ID:
            raise ApiError(404, "unknown_sample",
                           f"No sample clip {echo(clip_id)}; GET /api/samples lists {', '.join(_BY_ID)}.", param="id")
        if not synthesizer_available():
            raise samples_unavailable()
        try:
            return await asyncio.to_thread(_synthesize, clip_id)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            raise ApiError(503, "samples_unavailable", f"The sample clip could not be made: {exc}") from exc
