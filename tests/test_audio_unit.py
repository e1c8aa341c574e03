"""serve_app/audio.py beyond test_audio_decode.py: broken files per format, duration and silence
limits at their edges, and resampling that keeps a sine's frequency and level."""

from __future__ import annotations

import io
import subprocess

import numpy as np
import pytest
import soundfile as sf

from serve_app.audio import (
    SILENCE_PEAK,
    AudioError,
    DecodedAudio,
    check_audio,
    decode_file,
    decode_pcm,
    looks_like_audio,
    to_mono_16k,
)
from tests.audio_fixtures import FORMATS
from tests.requirements_check import require_command

RATE = 16000
FFMPEG_INSTALL = "apt-get install ffmpeg (`make apt` installs it)"


def sine(hz: float, rate: int, seconds: float = 1.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def peak_hz(samples: np.ndarray, rate: int = RATE) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spectrum)])


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def middle(samples: np.ndarray) -> np.ndarray:
    """Drop the filter's edges (and codec priming) before measuring."""
    cut = len(samples) // 10
    return samples[cut:-cut]


def refused(source) -> AudioError:
    with pytest.raises(AudioError) as caught:
        decode_file(source)
    return caught.value


def clip(seconds: float, level: float = 0.5) -> DecodedAudio:
    return DecodedAudio(np.full(round(seconds * RATE), level, np.float32), RATE, 1, "test")


# --- broken files, per format ------------------------------------------------------------------


@pytest.mark.parametrize("ext", list(FORMATS))
def test_a_file_cut_to_its_header_is_corrupt_not_unsupported(audio, ext):
    """The magic bytes say audio, nothing decodes: 422 corrupt_audio (not 415, not 500)."""
    head = audio[f"en_{ext}"].read_bytes()[:64]
    error = refused(io.BytesIO(head))
    assert (error.status, error.code) == (422, "corrupt_audio")


@pytest.mark.parametrize("ext", list(FORMATS))
def test_a_header_followed_by_garbage_is_corrupt(audio, ext):
    data = audio[f"en_{ext}"].read_bytes()[:64] + bytes(range(256)) * 16
    assert refused(io.BytesIO(data)).code == "corrupt_audio"


@pytest.mark.parametrize("ext,decoder", [("wav", "soundfile"), ("flac", "soundfile"), ("mp3", "soundfile"),
                                         ("ogg", "soundfile"), ("m4a", "pyav"), ("webm", "pyav")])
def test_which_decoder_takes_each_format(audio, ext, decoder):
    decoded = decode_file(audio[f"en_{ext}"])
    assert decoded.decoder == decoder
    assert decoded.source_sample_rate == 48000 and decoded.source_channels == 2


@pytest.mark.parametrize("payload", [
    b"%PDF-1.7\n" + bytes(500),
    b"PK\x03\x04" + bytes(500),            # a zip (docx, ...)
    b"\x7fELF" + bytes(500),
    bytes(range(256)) * 4,
    b"\x00",
])
def test_other_files_are_unsupported(payload):
    error = refused(io.BytesIO(payload))
    assert (error.status, error.code) == (415, "not_audio")
    assert "wav" in error.message and "webm" in error.message


def test_an_empty_file_object_is_400():
    assert refused(io.BytesIO(b"")).status == 400


def test_a_file_object_is_rewound_before_decoding(audio):
    handle = io.BytesIO(audio["speech_en"].read_bytes())
    handle.read()  # a caller left it at the end
    assert decode_file(handle).duration == pytest.approx(decode_file(audio["speech_en"]).duration)


def test_a_video_container_without_audio_is_refused(tmp_path):
    ffmpeg = require_command("ffmpeg", FFMPEG_INSTALL)
    video = tmp_path / "video.webm"
    subprocess.run([ffmpeg, "-y", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=black:s=32x32:d=1",
                    "-c:v", "libvpx", "-an", str(video)], check=True, capture_output=True)
    error = refused(video)
    assert error.status in (415, 422) and error.code in ("not_audio", "corrupt_audio")


# --- duration and silence limits ---------------------------------------------------------------


def test_exactly_the_minimum_duration_is_accepted_one_sample_less_is_not():
    check_audio(clip(0.1), min_seconds=0.1, max_seconds=60)
    short = DecodedAudio(np.full(1599, 0.5, np.float32), RATE, 1, "test")
    with pytest.raises(AudioError) as caught:
        check_audio(short, min_seconds=0.1, max_seconds=60)
    assert (caught.value.status, caught.value.code) == (422, "audio_too_short")
    assert "0.100 s" in caught.value.message or "0.1 s" in caught.value.message


def test_exactly_the_maximum_duration_is_accepted_a_sample_more_is_not():
    check_audio(clip(2.0), min_seconds=0.1, max_seconds=2)
    long = DecodedAudio(np.full(2 * RATE + 1, 0.5, np.float32), RATE, 1, "test")
    with pytest.raises(AudioError) as caught:
        check_audio(long, min_seconds=0.1, max_seconds=2)
    assert (caught.value.status, caught.value.code) == (422, "audio_too_long")
    assert "2 s" in caught.value.message


def test_no_samples_at_all_is_too_short():
    with pytest.raises(AudioError, match="at least"):
        check_audio(clip(0), min_seconds=0.1, max_seconds=60)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_are_corrupt(bad):
    samples = sine(440, RATE)
    samples[100] = bad
    with pytest.raises(AudioError) as caught:
        check_audio(DecodedAudio(samples, RATE, 1, "test"), min_seconds=0.1, max_seconds=60)
    assert caught.value.code == "corrupt_audio"


def test_silence_threshold_is_on_the_peak():
    with pytest.raises(AudioError) as caught:
        check_audio(clip(1.0, SILENCE_PEAK * 0.9), min_seconds=0.1, max_seconds=60)
    assert (caught.value.status, caught.value.code) == (422, "silent_audio")
    quiet_but_there = np.zeros(RATE, np.float32)
    quiet_but_there[RATE // 2] = -SILENCE_PEAK * 2  # one negative sample is enough
    check_audio(DecodedAudio(quiet_but_there, RATE, 1, "test"), min_seconds=0.1, max_seconds=60)


def test_too_short_is_reported_before_silence():
    """A tiny silent clip is 'too short', the more useful of the two messages."""
    with pytest.raises(AudioError) as caught:
        check_audio(clip(0.01, 0.0), min_seconds=0.1, max_seconds=60)
    assert caught.value.code == "audio_too_short"


# --- resampling --------------------------------------------------------------------------------


@pytest.mark.parametrize("hz,rate", [(1000, 44100), (440, 48000), (3000, 8000), (6000, 22050), (1234, 16000)])
def test_resampling_keeps_a_sines_frequency_and_level(hz, rate):
    out = to_mono_16k(sine(hz, rate, seconds=2.0), rate)
    assert out.dtype == np.float32 and out.flags["C_CONTIGUOUS"]
    assert len(out) == pytest.approx(2 * RATE, abs=1)
    assert peak_hz(middle(out)) == pytest.approx(hz, abs=1.0)
    assert rms(middle(out)) == pytest.approx(0.5 / np.sqrt(2), rel=0.01)


def test_tones_above_the_new_nyquist_are_filtered_not_aliased():
    """12 kHz at 48 kHz cannot exist at 16 kHz; without a low-pass it would fold to 4 kHz."""
    out = to_mono_16k(sine(12000, 48000, seconds=1.0), 48000)
    assert rms(middle(out)) < 0.01 * (0.5 / np.sqrt(2))


def test_sixteen_khz_input_is_left_alone():
    samples = sine(440, RATE)
    assert np.array_equal(to_mono_16k(samples, RATE), samples)


def test_stereo_is_averaged_to_mono():
    left = sine(500, RATE)
    assert np.allclose(to_mono_16k(np.stack([left, -left], axis=1), RATE), 0)
    assert np.allclose(to_mono_16k(np.stack([left, np.zeros_like(left)], axis=1), RATE), left / 2)


def test_integer_input_becomes_float32():
    out = to_mono_16k(np.array([0, 1, 2], dtype=np.int16), RATE)
    assert out.dtype == np.float32 and out.tolist() == [0.0, 1.0, 2.0]


def test_empty_input_at_another_rate_stays_empty():
    assert to_mono_16k(np.zeros((0, 2), np.float32), 44100).shape == (0,)


def test_a_decoded_file_keeps_its_tone(tmp_path):
    path = tmp_path / "tone.flac"
    stereo = np.stack([sine(1000, 44100, 2.0), sine(1000, 44100, 2.0)], axis=1)
    sf.write(str(path), stereo, 44100)
    decoded = decode_file(path)
    assert (decoded.source_sample_rate, decoded.source_channels) == (44100, 2)
    assert decoded.duration == pytest.approx(2.0, abs=1e-3)
    assert peak_hz(middle(decoded.samples)) == pytest.approx(1000, abs=1.0)


def test_pyav_resampling_keeps_the_tone_too(tmp_path):
    """m4a goes through PyAV's own resampler, not soxr: same frequency, same length."""
    ffmpeg = require_command("ffmpeg", FFMPEG_INSTALL)
    wav = tmp_path / "tone.wav"
    sf.write(str(wav), sine(800, 48000, 2.0), 48000)
    m4a = tmp_path / "tone.m4a"
    subprocess.run([ffmpeg, "-y", "-loglevel", "error", "-i", str(wav), "-c:a", "aac", "-b:a", "96k", str(m4a)],
                   check=True, capture_output=True)
    decoded = decode_file(m4a)
    assert decoded.decoder == "pyav" and decoded.source_sample_rate == 48000
    assert decoded.duration == pytest.approx(2.0, abs=0.08)
    assert peak_hz(middle(decoded.samples)) == pytest.approx(800, abs=2.0)
    assert rms(middle(decoded.samples)) == pytest.approx(0.5 / np.sqrt(2), rel=0.1)


# --- sniffing and raw PCM ----------------------------------------------------------------------


@pytest.mark.parametrize("head", [
    b"fLaC\x00\x00\x00\x22", b"OggS\x00\x02", b"ID3\x04\x00", b"\x1a\x45\xdf\xa3\x9f", b"RIFX\x00\x00",
    b"RF64\xff\xff", b"FORM\x00\x00\x00\x00AIFF", b"caff\x00\x01", b"#!AMR\n", b"\xff\xf1\x50\x80",  # ADTS AAC
])
def test_audio_magic(head):
    assert looks_like_audio(head)


@pytest.mark.parametrize("head", [b"", b"\xff", b"\xff\x00\x00", b"\x00\x00\x00\x20ftyp"[:6], b"GIF89a"])
def test_not_audio_magic(head):
    assert not looks_like_audio(head)


def test_pcm_s16_full_scale_and_odd_trailing_byte():
    payload = np.array([32767, -32768, 0], dtype="<i2").tobytes() + b"\x7f"
    out = decode_pcm(payload, "pcm_s16le")
    assert out.dtype == np.float32 and len(out) == 3
    assert out[0] == pytest.approx(32767 / 32768) and out[1] == -1.0 and out[2] == 0.0


def test_pcm_is_little_endian():
    assert decode_pcm(b"\x00\x40", "pcm_s16le").tolist() == [0.5]     # 0x4000
    assert decode_pcm(np.array([0.75], ">f4").tobytes(), "f32le")[0] != 0.75


def test_pcm_shorter_than_one_sample_is_empty():
    assert decode_pcm(b"\x01", "pcm_s16le").size == 0
    assert decode_pcm(b"\x01\x02\x03", "f32le").size == 0
