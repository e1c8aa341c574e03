"""Decoding uploads into 16 kHz mono, and refusing what is not usable audio."""

import io

import numpy as np
import pytest
import soundfile as sf

from serve_app.audio import (
    AudioError,
    DecodedAudio,
    check_audio,
    decode_file,
    decode_pcm,
    looks_like_audio,
    to_mono_16k,
)
from tests.audio_fixtures import FORMATS


def test_every_format_decodes_to_the_same_duration(audio):
    reference = decode_file(audio["speech_en"]).duration
    for ext in FORMATS:
        decoded = decode_file(audio[f"en_{ext}"])
        assert decoded.samples.dtype == np.float32 and decoded.samples.ndim == 1
        # codecs add priming/padding: allow a compressed frame or two
        assert abs(decoded.duration - reference) < 0.08, (ext, decoded.duration, reference)


def test_m4a_and_webm_need_pyav(audio):
    assert decode_file(audio["en_m4a"]).decoder == "pyav"
    assert decode_file(audio["en_webm"]).decoder == "pyav"
    assert decode_file(audio["en_wav"]).decoder == "soundfile"


def test_stereo_48k_becomes_mono_16k(audio):
    decoded = decode_file(audio["en_wav"])
    assert decoded.source_sample_rate == 48000 and decoded.source_channels == 2


def test_file_objects_decode_like_paths(audio):
    with open(audio["en_mp3"], "rb") as handle:
        from_object = decode_file(io.BytesIO(handle.read()))
    assert abs(from_object.duration - decode_file(audio["en_mp3"]).duration) < 1e-6


def test_text_named_wav_is_not_audio(tmp_path):
    fake = tmp_path / "notes.wav"
    fake.write_text("this is not audio at all\n" * 20)
    with pytest.raises(AudioError) as caught:
        decode_file(fake)
    assert caught.value.status == 415 and caught.value.code == "not_audio"


def test_png_is_not_audio(tmp_path):
    png = tmp_path / "image.wav"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    with pytest.raises(AudioError) as caught:
        decode_file(png)
    assert caught.value.status == 415


def test_truncated_wav_is_corrupt(tmp_path, audio):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(audio["speech_en"].read_bytes()[:40])
    with pytest.raises(AudioError) as caught:
        decode_file(broken)
    assert caught.value.status == 422 and caught.value.code == "corrupt_audio"


def test_empty_file(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioError) as caught:
        decode_file(empty)
    assert caught.value.status == 400 and caught.value.code == "empty_file"


def _audio(samples):
    return DecodedAudio(np.asarray(samples, np.float32), 16000, 1, "test")


def test_silence_too_short_and_too_long_are_refused():
    with pytest.raises(AudioError, match="silent"):
        check_audio(_audio(np.zeros(16000)), min_seconds=0.1, max_seconds=60)
    with pytest.raises(AudioError, match="at least"):
        check_audio(_audio(0.5 * np.ones(400)), min_seconds=0.1, max_seconds=60)
    with pytest.raises(AudioError, match="limit"):
        check_audio(_audio(0.5 * np.ones(16000 * 3)), min_seconds=0.1, max_seconds=2)
    check_audio(_audio(0.5 * np.ones(16000)), min_seconds=0.1, max_seconds=60)


def test_resampling_keeps_duration():
    out = to_mono_16k(np.zeros((44100, 2), np.float32), 44100)
    assert out.shape == (16000,)


def test_magic_sniffing():
    assert looks_like_audio(b"RIFF\x00\x00\x00\x00WAVE")
    assert looks_like_audio(b"\x00\x00\x00\x20ftypM4A ")
    assert looks_like_audio(b"\xff\xfb\x90\x00")
    assert not looks_like_audio(b"\x89PNG\r\n")
    assert not looks_like_audio(b"hello")


def test_pcm_frames():
    pcm = (np.array([0, 16384, -32768], dtype="<i2")).tobytes()
    assert np.allclose(decode_pcm(pcm, "pcm_s16le"), [0, 0.5, -1])
    f32 = np.array([0.25, -0.5], dtype="<f4").tobytes()
    assert np.allclose(decode_pcm(f32 + b"\x00", "f32le"), [0.25, -0.5])
    with pytest.raises(ValueError):
        decode_pcm(b"", "mulaw")


def test_soundfile_roundtrip_of_a_written_fixture(tmp_path):
    path = tmp_path / "x.flac"
    sf.write(str(path), 0.1 * np.ones(8000, np.float32), 8000)
    assert abs(decode_file(path).duration - 1.0) < 1e-3
