"""Silero VAD on espeak-ng speech with known pauses, mixed with noise and music-like signals.

    .venv/bin/python -m bench.vad [--repeats 6]

Prints, for each background (white noise, a chord with vibrato as "music", babble-like
band noise) at several levels (SNR against the speech):

* where the long-file splitter cuts (pieces of at most 8 s) against the known pauses: how many cuts
  land inside a pause, the median distance from a cut to the pause's middle, and the same for the
  energy splitter (qwen-asr's, QWEN_ASR_VAD_ENABLED=false);
* the live stream's commits (speech ends) inside pauses;
* model calls and audio seconds sent on audio with long silences (60 s per sentence), VAD vs energy;
* the cost: ms of CPU per second of audio, one thread.

Figures only: nothing is asserted. No model and no stack: the VAD and the splitters only.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from serve_app.qwen_utils import split_audio_into_chunks
from serve_app.services.streaming import StreamConfig
from serve_app.services.streaming.recognizer import Decoded, Recognizer
from serve_app.services.streaming.speech import VadCutPlanner
from serve_app.settings import Settings
from serve_app.vad.file_plan import plan_file
from serve_app.vad.live import LiveVad
from serve_app.vad.silero import shared_vad
from serve_app.vad.spans import VadParams
from tests.audio_fixtures import load_16k, speak, voiced_region

SR = 16_000
SENTENCES = ("the quick brown fox jumps over the lazy dog", "speech recognition works offline on this machine",
             "every pause in this recording is known", "numbers like one two three are spoken slowly",
             "a model hears the audio piece by piece", "silence between sentences should not be sent")
PAUSES = (0.6, 1.2, 2.5, 0.8, 4.0)
LIMIT_S = 8.0


def sentences(folder: Path) -> list[np.ndarray]:
    out = []
    for i, text in enumerate(SENTENCES):
        samples = load_16k(speak(text, "en", folder / f"s{i}.wav"))
        first, last = voiced_region(samples)
        out.append(samples[int(first * SR):int(last * SR)])
    return out


def compose(parts: list[np.ndarray], pauses) -> tuple[np.ndarray, list[tuple[float, float]]]:
    audio, known, at = [np.zeros(SR // 2, np.float32)], [], 0.5
    for i, part in enumerate(parts):
        audio.append(part)
        at += part.size / SR
        if i < len(parts) - 1:
            gap = pauses[i % len(pauses)]
            known.append((at, at + gap))
            audio.append(np.zeros(int(gap * SR), np.float32))
            at += gap
    audio.append(np.zeros(SR // 2, np.float32))
    return np.concatenate(audio), known


def background(kind: str, n: int, rng) -> np.ndarray:
    t = np.arange(n) / SR
    if kind == "noise":
        x = rng.standard_normal(n)
    elif kind == "music":
        vibrato = 1 + 0.003 * np.sin(2 * np.pi * 5 * t)
        x = sum(np.sin(2 * np.pi * f * vibrato * t) for f in (220.0, 277.2, 329.6, 440.0))
        x *= 0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t) ** 2
    else:  # babble-like: noise shaped to the speech band, syllable-rate amplitude
        spectrum = np.fft.rfft(rng.standard_normal(n))
        freqs = np.fft.rfftfreq(n, 1 / SR)
        spectrum[(freqs < 200) | (freqs > 3500)] = 0
        x = np.fft.irfft(spectrum, n) * (0.5 + 0.5 * np.abs(np.sin(2 * np.pi * 3 * t)))
    return (x / (np.sqrt(np.mean(x ** 2)) + 1e-12)).astype(np.float32)


def mix(speech: np.ndarray, noise: np.ndarray, snr_db: float | None) -> np.ndarray:
    if snr_db is None:
        return speech
    loud = speech[np.abs(speech) > 1e-4]
    level = np.sqrt(np.mean(loud ** 2)) / 10 ** (snr_db / 20)
    return (speech + level * noise).astype(np.float32)


def cut_figures(cuts_s: list[float], known) -> tuple[int, float]:
    inside = sum(any(a < c < b for a, b in known) for c in cuts_s)
    distance = [min(abs(c - (a + b) / 2) for a, b in known) for c in cuts_s] or [0.0]
    return inside, statistics.median(distance)


def energy_cuts(audio: np.ndarray) -> list[float]:
    expand = min(5.0, LIMIT_S * 0.1)
    parts = split_audio_into_chunks(wav=audio, sr=SR, max_chunk_sec=LIMIT_S - expand, search_expand_sec=expand)
    return [float(offset) for _, offset in parts[1:]]


def live_cuts(audio: np.ndarray, params: VadParams) -> list[float]:
    config = StreamConfig(chunk_seconds=1.0, window_seconds=8.0)
    vad = LiveVad(params)
    planner = VadCutPlanner(vad)
    recognizer = Recognizer(config, planner, planner.gate)
    cuts = []
    for at in range(0, audio.size, SR):
        recognizer.add(audio[at:at + SR])
        vad.feed(recognizer.audio.view(vad.fed, recognizer.total))
        tick = recognizer.plan()
        cuts += [end / SR for _, end in tick.cuts]
        recognizer.apply(tick, [Decoded("", "")] * len(tick.cuts), Decoded("", ""))
        vad.forget_before(recognizer.window_start)
    return cuts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="sentence sets joined into one recording")
    args = parser.parse_args()
    settings = Settings()
    params = VadParams.from_settings(settings)
    vad = shared_vad()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        parts = sentences(Path(folder)) * args.repeats
    speech, known = compose(parts, PAUSES)
    print(f"speech: {len(parts)} espeak sentences, {len(known)} known pauses of {sorted(set(PAUSES))} s, "
          f"{speech.size / SR:.1f} s; file pieces <= {LIMIT_S:g} s; VAD threshold {params.threshold}, "
          f"min silence {params.min_silence_ms} ms, pad {params.speech_pad_ms} ms\n")
    print(f"{'background':<10} {'SNR dB':>6} | {'VAD cuts in pauses':>18} {'median off-centre':>17} | "
          f"{'energy cuts in pauses':>21} {'median off-centre':>17} | {'live commits in pauses':>22}")
    for kind in ("noise", "music", "babble"):
        noise = background(kind, speech.size, rng)
        for snr in (None, 30, 20, 10, 5):
            if kind != "noise" and snr is None:
                continue
            audio = mix(speech, noise, snr)
            plan = plan_file(vad.probabilities(audio), audio.size, params, limit=int(LIMIT_S * SR),
                             skip=int(settings.vad_skip_seconds * SR))
            vad_cuts = [start / SR for start, _ in plan.pieces[1:]]
            vin, voff = cut_figures(vad_cuts, known)
            ecuts = energy_cuts(audio)
            ein, eoff = cut_figures(ecuts, known)
            lcuts = live_cuts(audio, params)
            lin, _ = cut_figures(lcuts, known)
            label = "clean" if snr is None else f"{snr}"
            print(f"{kind if snr in (None, 30) else '':<10} {label:>6} | {f'{vin}/{len(vad_cuts)}':>18} "
                  f"{voff:>16.2f}s | {f'{ein}/{len(ecuts)}':>21} {eoff:>16.2f}s | {f'{lin}/{len(lcuts)}':>22}")

    sparse, _ = compose(parts[:6], (60.0,))
    noisy = mix(sparse, background("noise", sparse.size, rng), 20)
    for name, audio in (("silences (clean)", sparse), ("silences (noise 20 dB)", noisy)):
        plan = plan_file(vad.probabilities(audio), audio.size, params, limit=int(LIMIT_S * SR),
                         skip=int(settings.vad_skip_seconds * SR))
        sent = sum(b - a for a, b in plan.pieces) / SR
        energy = len(energy_cuts(audio)) + 1
        print(f"\n{name}: {audio.size / SR:.0f} s with 60 s pauses -> VAD {len(plan.pieces)} model calls on "
              f"{sent:.1f} s (skipped {plan.skipped_samples / SR:.1f} s); energy splitter {energy} calls on "
              f"{audio.size / SR:.0f} s")

    long = np.tile(speech, max(1, int(600 * SR / speech.size)))
    started = time.perf_counter()
    vad.probabilities(long)
    spent = time.perf_counter() - started
    print(f"\ncost: {spent / (long.size / SR) * 1000:.2f} ms of one CPU thread per second of audio "
          f"({long.size / SR:.0f} s in {spent:.2f} s)")


if __name__ == "__main__":
    main()
