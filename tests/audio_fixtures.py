"""Real speech fixtures: espeak-ng speaks, ffmpeg converts into every format we accept."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

PHRASES = {
    "en": ("en", "hello world, this is a test of the speech recognition service"),
    "zh": ("cmn-latn-pinyin", "ni3 hao3 shi4 jie4, zhe4 shi4 yi2 ge4 ce4 shi4"),
    "ja": ("ja", "こんにちは、せかい。これは テスト です。"),
}

FORMATS = {
    "wav": ["-c:a", "pcm_s16le"],
    "flac": ["-c:a", "flac"],
    "mp3": ["-c:a", "libmp3lame", "-b:a", "64k"],
    "ogg": ["-c:a", "libvorbis"],
    "opus": ["-c:a", "libopus", "-f", "ogg"],
    "m4a": ["-c:a", "aac", "-b:a", "64k"],
    "webm": ["-c:a", "libopus", "-f", "webm"],
}


def speak(text: str, voice: str, path: Path) -> Path:
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True, capture_output=True)
    return path


def convert(source: Path, target: Path, codec_args: list[str], rate: int | None = None,
            channels: int | None = None) -> Path:
    cmd = ["ffmpeg", "-y", "-loglevel", "error", "-i", str(source)]
    if rate:
        cmd += ["-ar", str(rate)]
    if channels:
        cmd += ["-ac", str(channels)]
    subprocess.run(cmd + codec_args + [str(target)], check=True, capture_output=True)
    return target


def build_fixtures(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for code, (voice, text) in PHRASES.items():
        out[f"speech_{code}"] = speak(text, voice, folder / f"speech_{code}.wav")
    english = out["speech_en"]
    if not shutil.which("ffmpeg"):
        raise RuntimeError("ffmpeg is not installed: `make test` installs it (apt-get install ffmpeg)")
    for ext, codec in FORMATS.items():
        out[f"en_{ext}"] = convert(english, folder / f"speech_en_48k_stereo.{ext}", codec, rate=48000, channels=2)
    second = np.zeros(16000, np.float32)
    out["speech_en_padded"] = write_array(folder / "speech_en_padded.wav",
                                          np.concatenate([second, load_16k(english), second]))
    out["tone"] = write_tone(folder / "tone.wav", seconds=2.0)
    out["silence"] = write_array(folder / "silence.wav", np.zeros(16000 * 2, np.float32))
    out["tiny_clip"] = write_array(folder / "tiny_clip.wav", 0.3 * np.ones(400, np.float32))
    return out


def write_tone(path: Path, seconds: float, rate: int = 16000, hz: float = 440.0) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    return write_array(path, (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32), rate)


def write_array(path: Path, samples: np.ndarray, rate: int = 16000) -> Path:
    sf.write(str(path), samples, rate)
    return path


def load_16k(path: Path) -> np.ndarray:
    from serve_app.audio import decode_file

    return decode_file(path).samples


def voiced_region(samples: np.ndarray, rate: int = 16000, frame_s: float = 0.02) -> tuple[float, float]:
    """First and last moment of speech: frames whose RMS passes 5% of the loudest frame's."""
    frame = int(rate * frame_s)
    count = len(samples) // frame
    rms = np.sqrt(np.mean(samples[:count * frame].reshape(count, frame) ** 2, axis=1))
    voiced = np.flatnonzero(rms > 0.05 * rms.max())
    return voiced[0] * frame_s, (voiced[-1] + 1) * frame_s


def long_speech(speech_wav: Path, target: Path, seconds_at_least: float) -> tuple[Path, float]:
    """Real speech repeated with half-second pauses until it lasts `seconds_at_least`."""
    speech = load_16k(speech_wav)
    pause = np.zeros(8000, np.float32)
    parts, total = [], 0
    while total < seconds_at_least * 16000:
        parts += [speech, pause]
        total += len(speech) + len(pause)
    write_array(target, np.concatenate(parts))
    return target, total / 16000
