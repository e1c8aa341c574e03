"""Serving benchmark: the model alone, Ray Serve's floor, and the service, side by side (CPU).

    .venv/bin/python -m bench.serving [--rounds 8] [--runs 5] [--concurrency 16] [--long-seconds 1500]

One run on one machine measures, with the tiny scripted checkpoint and a 5 s clip:
- direct: an in-process `Qwen3ASRModel.transcribe` (one clip; N clips in one batched call;
  the long clip), on as many torch threads as a service replica gets, in a process of its own
  that keeps the model loaded while the stack runs;
- floor: a no-op Serve graph of our shape (bench/noop_graph.py), started by the benchmark;
- service: the real application from serve_config.yaml on the CPU, allowed to batch as many
  requests as the direct call does (batch_max_size = --concurrency);
each for sequential latency, N concurrent requests, /health idle and (service) during the
long clip, and the long clip's wall time; then the ratios against the issue's goals.
The three take turns, round after round (sequential requests, /health, one concurrent burst
each), so that every figure is taken under the same machine as the ones it is compared with;
the direct call is also timed once before Ray starts, and the report says what the sequential
goal would be against that quiet figure; the long clip's direct call is timed then too. Timed
sections run with the timing process's garbage collector paused, as `timeit`'s do.
Set RAY_SERVE_THROUGHPUT_OPTIMIZED=1 in the environment to measure Serve's fast path.
Figures only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import gc
import io
import multiprocessing
import os
import statistics
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import soundfile as sf

from deployments.tiny import ensure_tiny_models
from serve_app import deploy_config
from tests import stack as test_stack

ROOT = Path(__file__).resolve().parents[1]
RATE = 16000
SERVICE_APP, FLOOR_APP = "qwen3-asr", "floor"


def speech_clip(seconds: float = 5.0) -> np.ndarray:
    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "speech.wav"
        subprocess.run(["espeak-ng", "-w", str(wav), "hello world, this is a five second benchmark clip, "
                        "spoken by a speech synthesizer"], check=True, capture_output=True)
        data, rate = sf.read(str(wav), dtype="float32")
    from serve_app.audio import to_mono_16k

    return np.resize(to_mono_16k(data, rate), int(seconds * RATE)).astype(np.float32)


def long_clip(clip: np.ndarray, seconds: float) -> np.ndarray:
    """The clip again and again with a second of silence between: quiet points to cut at."""
    unit = np.concatenate([clip, np.zeros(RATE, np.float32)])
    return np.resize(unit, int(seconds * RATE)).astype(np.float32)


def wav_bytes(samples: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, RATE, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


@dataclass
class Figures:
    sequential_s: float = float("nan")
    concurrent_s: float = float("nan")
    health_idle: list[float] = field(default_factory=list)
    health_busy: list[float] = field(default_factory=list)
    long_s: float = float("nan")


@contextmanager
def gc_paused():
    """A timed section runs without this process's garbage collector, as `timeit`'s do: a
    collection in the benchmark's own heap (Ray's driver, the HTTP clients) would be timed as the
    server's latency (it was: the same /health request of every round, 30-50 ms, floor and service)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


# ---- direct: the model alone, in a process of its own ----------------------------------------------
# The worker keeps one model loaded for the whole run, so its calls interleave with the HTTP rounds.
_model = None
_clip: np.ndarray | None = None


def load_direct(model_path: str, clip: np.ndarray, threads: int) -> None:
    global _model, _clip
    import torch
    from qwen_asr import Qwen3ASRModel

    torch.set_num_threads(threads)
    _model = Qwen3ASRModel.from_pretrained(model_path, device_map="cpu", dtype=torch.float32, max_new_tokens=16)
    _clip = clip
    _model.transcribe((clip, RATE), language="English")  # warm


def _timed_transcribe(audio, language) -> float:
    with gc_paused():
        started = time.perf_counter()
        _model.transcribe(audio, language=language)
        return time.perf_counter() - started


def direct_sequential(runs: int) -> list[float]:
    return [_timed_transcribe((_clip, RATE), "English") for _ in range(runs)]


def direct_batched(concurrency: int) -> float:
    return _timed_transcribe([(_clip, RATE)] * concurrency, ["English"] * concurrency)


def direct_long(long: np.ndarray) -> float:
    return _timed_transcribe((long, RATE), "English")


# ---- over HTTP ------------------------------------------------------------------------------------
def post(client: httpx.Client, url: str, body: bytes) -> float:
    started = time.perf_counter()
    response = client.post(url, files={"file": ("clip.wav", body)}, data={"language": "en"}, timeout=1800)
    response.raise_for_status()
    return time.perf_counter() - started


def health_times(client: httpx.Client, url: str, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        client.get(url, timeout=60).raise_for_status()
        times.append(time.perf_counter() - started)
    return times


def concurrent_wall(url: str, clip: bytes, concurrency: int) -> float:
    clients = [httpx.Client() for _ in range(concurrency)]
    try:
        with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
            started = time.perf_counter()
            list(pool.map(lambda c: post(c, url, clip), clients))
            return time.perf_counter() - started
    finally:
        for c in clients:
            c.close()


def long_with_health(base: str, long: bytes, figures: Figures) -> None:
    """The long clip through `base`, with /health sampled every 50 ms while it runs."""
    stop = threading.Event()

    def sample_health() -> None:
        with httpx.Client() as client:
            while not stop.is_set():
                figures.health_busy.extend(health_times(client, f"{base}/health", 1))
                time.sleep(0.05)

    with gc_paused():
        sampler = threading.Thread(target=sample_health, daemon=True)
        sampler.start()
        with httpx.Client() as client:
            figures.long_s = post(client, f"{base}/api/transcribe", long)
        stop.set()
        sampler.join()


HEALTH_PER_ROUND = 25  # /health requests per target per round (idle: between the transcriptions)


@dataclass
class Samples:
    """What one target gave over all rounds."""

    sequential: list[float] = field(default_factory=list)
    concurrent: list[float] = field(default_factory=list)
    health: list[float] = field(default_factory=list)

    def figures(self) -> Figures:
        return Figures(sequential_s=statistics.median(self.sequential), concurrent_s=statistics.median(self.concurrent),
                       health_idle=self.health)


def interleaved_rounds(direct_pool, bases: dict[str, str], clip: bytes, args) -> dict[str, Figures]:
    """Round after round, each target in turn: the direct call, the floor, the service. This
    machine's speed drifts by tens of percent over minutes; in turns, each figure is taken under
    the same drift as the ones it is compared with."""
    samples = {name: Samples() for name in ("direct", *bases)}
    with httpx.Client() as client:
        for base in bases.values():
            for _ in range(3):  # cold start, then warm
                post(client, f"{base}/api/transcribe", clip)
        for _ in range(args.rounds):
            samples["direct"].sequential += direct_pool.submit(direct_sequential, args.runs).result()
            samples["direct"].concurrent.append(direct_pool.submit(direct_batched, args.concurrency).result())
            for name, base in bases.items():
                with gc_paused():
                    samples[name].sequential += [post(client, f"{base}/api/transcribe", clip) for _ in range(args.runs)]
                    samples[name].health += health_times(client, f"{base}/health", HEALTH_PER_ROUND)
                    samples[name].concurrent.append(concurrent_wall(f"{base}/api/transcribe", clip, args.concurrency))
    return {name: s.figures() for name, s in samples.items()}


def bench_config(tiny: dict[str, str], port: int, concurrency: int) -> dict:
    config = test_stack.test_config(tiny, port)
    service = config["applications"][0]
    service["args"].update({"torch_threads": 0, "max_upload_mb": 500, "model_max_ongoing_requests": 32,
                            "batch_wait_timeout_s": 0.02, "max_new_tokens": 16,
                            # like for like with the direct call, which runs the N clips as one batch
                            "batch_max_size": concurrency,
                            # the checkpoint the direct call loads, cut into production-sized pieces
                            "demo": False})
    service["args"].pop("asr_piece_seconds", None)
    floor = {"name": FLOOR_APP, "route_prefix": "/floor", "import_path": "bench.noop_graph:build_floor",
             "runtime_env": {"env_vars": {"PYTHONPATH": str(ROOT)}}}
    config["applications"] = [service, floor]
    return config


# ---- report ------------------------------------------------------------------------------------------
def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def verdict(ok: bool) -> str:
    return "meets goal" if ok else "MISSES goal"


def report(figures: dict[str, Figures], quiet_direct_s: float, args, threads: int) -> None:
    direct, floor, service = figures["direct"], figures["floor"], figures["service"]
    fast = os.environ.get("RAY_SERVE_THROUGHPUT_OPTIMIZED", "0")
    print(f"\n5 s clip, tiny scripted checkpoint, CPU, {threads} torch threads, "
          f"RAY_SERVE_THROUGHPUT_OPTIMIZED={fast}, service batch_max_size {args.concurrency}")
    print(f"{args.rounds} interleaved rounds: sequential = median of {args.rounds * args.runs} requests, "
          f"concurrent = median of {args.rounds} bursts, /health idle over {args.rounds * HEALTH_PER_ROUND} requests")
    print(f"{'':34}{'direct':>12}{'floor':>12}{'service':>12}")
    print(f"{'sequential, median':34}{direct.sequential_s * 1e3:10.1f}ms{floor.sequential_s * 1e3:10.1f}ms"
          f"{service.sequential_s * 1e3:10.1f}ms")
    print(f"{f'{args.concurrency} concurrent, wall':34}{direct.concurrent_s:11.2f}s{floor.concurrent_s:11.2f}s"
          f"{service.concurrent_s:11.2f}s")
    for label, pick in (("/health idle, median", lambda f: percentile(f.health_idle, 50)),
                        ("/health idle, p99", lambda f: percentile(f.health_idle, 99))):
        print(f"{label:34}{'–':>12}{pick(floor) * 1e3:10.1f}ms{pick(service) * 1e3:10.1f}ms")
    if service.health_busy:
        # The floor only decodes the clip: its samples cover the upload, where Serve's proxy is busiest.
        for label, pick in (("/health during the long clip, p99", lambda f: percentile(f.health_busy, 99)),
                            ("/health during the long clip, max", lambda f: max(f.health_busy, default=float("nan")))):
            print(f"{label:34}{'–':>12}{pick(floor) * 1e3:10.1f}ms{pick(service) * 1e3:10.1f}ms")
        print(f"{f'{args.long_seconds / 60:.0f}-min clip, wall':34}{direct.long_s:11.1f}s{floor.long_s:11.1f}s"
              f"{service.long_s:11.1f}s")
    seq_goal = floor.sequential_s + direct.sequential_s + 0.005
    conc_goal = 1.2 * (floor.concurrent_s + direct.concurrent_s)
    print("\nratios and goals")
    print(f"  sequential: service {ms(service.sequential_s)} vs floor + direct + 5 ms = {ms(seq_goal)}  "
          f"({service.sequential_s / seq_goal:.2f}x, {verdict(service.sequential_s <= seq_goal)})")
    print(f"  concurrent: service {service.concurrent_s:.2f} s vs 1.2 x (floor + direct batched) = {conc_goal:.2f} s  "
          f"({service.concurrent_s / conc_goal:.2f}x, {verdict(service.concurrent_s <= conc_goal)})")
    idle_p99 = percentile(service.health_idle, 99)
    print(f"  /health idle p99 {ms(idle_p99)} (goal 20 ms, {verdict(idle_p99 <= 0.020)})")
    if service.health_busy:
        busy_p99 = percentile(service.health_busy, 99)
        print(f"  /health busy p99 {ms(busy_p99)} (goal 50 ms, {verdict(busy_p99 <= 0.050)})")
        print(f"  long clip: service / direct = {service.long_s / direct.long_s:.2f}x "
              f"(goal 1.1x, {verdict(service.long_s <= 1.1 * direct.long_s)})")
    print(f"  serving overhead over the model: {ms(service.sequential_s - direct.sequential_s)} "
          f"(floor alone: {ms(floor.sequential_s)})")
    quiet_goal = floor.sequential_s + quiet_direct_s + 0.005
    print(f"  the direct call before Ray started (no stack on the machine): {ms(quiet_direct_s)}; against it the "
          f"sequential goal is {ms(quiet_goal)} ({service.sequential_s / quiet_goal:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=8, help="interleaved rounds of direct, floor and service")
    parser.add_argument("--runs", type=int, default=5, help="sequential requests per target per round")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--long-seconds", type=float, default=1500.0, help="0 skips the long clip")
    args = parser.parse_args()

    tiny = ensure_tiny_models(Path(os.environ.get("TINY_MODELS_DIR", ROOT / ".cache" / "tiny-models")))
    clip = speech_clip()
    threads = len(os.sched_getaffinity(0))
    model_path = test_stack.tiny_args(tiny)["model_1_7b_source"]
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                                initializer=load_direct, initargs=(model_path, clip, threads)) as direct:
        quiet_direct_s = statistics.median(direct.submit(direct_sequential, args.rounds * args.runs).result())
        # One long call is no figure to interleave: timed before Ray starts, like the quiet figure.
        long = long_clip(clip, args.long_seconds) if args.long_seconds > 0 else None
        direct_long_s = direct.submit(direct_long, long).result() if long is not None else float("nan")
        import ray

        for key, value in test_stack.FAST_METRICS_ENV.items():
            os.environ[key] = value
        ray.init(address="local", num_cpus=4, include_dashboard=False, log_to_driver=False,
                 _temp_dir=tempfile.mkdtemp(prefix="ray-b-"))
        try:
            port = test_stack.free_port()
            deploy_config.deploy(bench_config(tiny, port, args.concurrency))
            for app in (SERVICE_APP, FLOOR_APP):
                deploy_config.wait_until_running(app, timeout_s=600)
            base = f"http://127.0.0.1:{port}"
            bases = {"floor": f"{base}/floor", "service": base}
            figures = interleaved_rounds(direct, bases, wav_bytes(clip), args)
            figures["direct"].long_s = direct_long_s
            if long is not None:
                long_body = wav_bytes(long)
                for name, target in bases.items():
                    long_with_health(target, long_body, figures[name])
        finally:
            test_stack.stop_stack()
    report(figures, quiet_direct_s, args, threads)


if __name__ == "__main__":
    main()
