"""Decode any audio file into 16 kHz mono float32 and check it is worth transcribing.

soundfile reads wav/flac/ogg/mp3 quickly; PyAV (FFmpeg) takes the rest: m4a/aac and the
browser's webm/opus. Failures become `AudioError`s with the status the API should answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from deployments.protocol import SAMPLE_RATE

logger = logging.getLogger(__name__)

# Peak amplitude under which a clip counts as silence (about -80 dBFS).
SILENCE_PEAK = 1e-4

_AUDIO_MAGIC: tuple[tuple[int, bytes], ...] = (
    (0, b"RIFF"), (0, b"RIFX"), (0, b"RF64"), (0, b"fLaC"), (0, b"OggS"), (0, b"ID3"),
    (0, b"\x1a\x45\xdf\xa3"), (4, b"ftyp"), (0, b"FORM"), (0, b"#!AMR"), (0, b".snd"),
    (0, b"caff"), (0, b"MAC "), (0, b"wvpk"),
)


class AudioError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class DecodedAudio:
    samples: np.ndarray  # float32, mono, 16 kHz
    source_sample_rate: int
    source_channels: int
    decoder: str

    @property
    def duration(self) -> float:
        return self.samples.shape[0] / SAMPLE_RATE


def looks_like_audio(head: bytes) -> bool:
    if any(head[offset:offset + len(magic)] == magic for offset, magic in _AUDIO_MAGIC):
        return True
    # MPEG audio frame sync (mp3 without ID3, ADTS AAC): 11 set bits.
    return len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0


def to_mono_16k(data: np.ndarray, sample_rate: int) -> np.ndarray:
    """(frames,) or (frames, channels) at any rate -> float32 mono at 16 kHz."""
    if data.ndim == 2:
        data = data.mean(axis=1)
    data = np.asarray(data, dtype=np.float32)
    if sample_rate != SAMPLE_RATE and data.size:
        import soxr

        data = soxr.resample(data, sample_rate, SAMPLE_RATE, quality="HQ").astype(np.float32)
    return np.ascontiguousarray(data)


AudioSource = Path | BinaryIO


def _rewound(source: AudioSource):
    if isinstance(source, Path):
        return str(source)
    source.seek(0)
    return source


def _decode_soundfile(source: AudioSource) -> DecodedAudio:
    import soundfile as sf

    data, sample_rate = sf.read(_rewound(source), dtype="float32", always_2d=True)
    return DecodedAudio(to_mono_16k(data, sample_rate), sample_rate, data.shape[1], "soundfile")


def _decode_pyav(source: AudioSource) -> DecodedAudio:
    import av

    with av.open(_rewound(source), mode="r") as container:
        streams = container.streams.audio
        if not streams:
            raise AudioError(415, "not_audio", "The file has no audio stream.")
        stream = streams[0]
        source_rate = stream.codec_context.sample_rate or SAMPLE_RATE
        channels = stream.codec_context.channels or 1
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        pieces: list[np.ndarray] = []
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                pieces.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            pieces.append(out.to_ndarray().reshape(-1))
    samples = np.concatenate(pieces).astype(np.float32) if pieces else np.zeros(0, np.float32)
    return DecodedAudio(samples, source_rate, channels, "pyav")


def decode_file(source: AudioSource) -> DecodedAudio:
    """Decode a path or a seekable binary file object."""
    if isinstance(source, Path):
        with open(source, "rb") as handle:
            head = handle.read(64)
    else:
        head = _rewound(source).read(64)
    if not head:
        raise AudioError(400, "empty_file", "The uploaded file is empty.")
    errors: list[str] = []
    for decoder in (_decode_soundfile, _decode_pyav):
        try:
            decoded = decoder(source)
        except AudioError:
            raise
        except Exception as exc:  # each library has its own error zoo
            errors.append(f"{decoder.__name__}: {exc}")
            continue
        if decoded.samples.size:
            return decoded
        errors.append(f"{decoder.__name__}: no samples")
    logger.info("could not decode upload: %s", "; ".join(errors))
    if looks_like_audio(head):
        raise AudioError(422, "corrupt_audio", "The file looks like audio but could not be decoded (corrupt or truncated).")
    raise AudioError(
        415, "not_audio",
        "The file is not a supported audio format (wav, flac, mp3, ogg/vorbis, ogg/opus, m4a/aac, webm/opus).",
    )


def check_audio(audio: DecodedAudio, *, min_seconds: float, max_seconds: float) -> None:
    duration = audio.duration
    if duration < min_seconds:
        raise AudioError(422, "audio_too_short", f"The audio lasts {duration:.3f} s; at least {min_seconds:g} s is needed.")
    if duration > max_seconds:
        raise AudioError(422, "audio_too_long", f"The audio lasts {duration:.1f} s; the limit is {max_seconds:g} s.")
    if not np.isfinite(audio.samples).all():
        raise AudioError(422, "corrupt_audio", "The audio contains invalid (NaN/inf) samples.")
    if float(np.max(np.abs(audio.samples))) < SILENCE_PEAK:
        raise AudioError(422, "silent_audio", "The audio is silent: there is nothing to transcribe.")


def decode_pcm(payload: bytes, sample_format: str) -> np.ndarray:
    """Raw little-endian PCM frames from a WebSocket client -> float32."""
    if sample_format == "pcm_s16le":
        usable = len(payload) - len(payload) % 2
        return np.frombuffer(payload[:usable], dtype="<i2").astype(np.float32) / 32768.0
    if sample_format == "f32le":
        usable = len(payload) - len(payload) % 4
        return np.frombuffer(payload[:usable], dtype="<f4").astype(np.float32)
    raise ValueError(f"Unknown PCM format {sample_format!r}")
