"""Serving overhead and batching benchmark on the tiny scripted checkpoint (CPU).

    .venv/bin/python -m bench.serving [--runs 20] [--concurrency 16]

Prints: median latency of POST /api/transcribe for a 5 s clip vs a direct in-process
`Qwen3ASRModel.transcribe` call (overhead in ms and as a ratio), and the throughput of
N concurrent requests with dynamic batching on (batch 8) versus off (batch 1).
Figures only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import io
import os
import statistics
import time
from pathlib import Path

import httpx
import numpy as np
import soundfile as sf

from deployments.tiny import ensure_tiny_models
from serve_app import deploy_config
from tests import stack as test_stack

ROOT = Path(__file__).resolve().parents[1]


def five_second_clip() -> bytes:
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "speech.wav"
        subprocess.run(["espeak-ng", "-w", str(wav), "hello world, this is a five second benchmark clip, "
                        "spoken by a speech synthesizer"], check=True, capture_output=True)
        data, rate = sf.read(str(wav), dtype="float32")
    data = np.resize(data, int(5 * rate))
    buffer = io.BytesIO()
    sf.write(buffer, data, rate, format="WAV")
    return buffer.getvalue()


def direct_latency(model_path: str, clip: bytes, runs: int) -> float:
    import torch
    from qwen_asr import Qwen3ASRModel

    from serve_app.audio import decode_file

    torch.set_num_threads(1)
    model = Qwen3ASRModel.from_pretrained(model_path, device_map="cpu", dtype=torch.float32, max_new_tokens=16)
    samples = decode_file(io.BytesIO(clip)).samples
    model.transcribe((samples, 16000))
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        model.transcribe((samples, 16000))
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def post(url: str, clip: bytes) -> float:
    started = time.perf_counter()
    response = httpx.post(url, files={"file": ("clip.wav", clip)}, data={"language": "en"}, timeout=300)
    response.raise_for_status()
    return time.perf_counter() - started


def served_latency(url: str, clip: bytes, runs: int) -> float:
    post(url, clip)  # cold start
    return statistics.median(post(url, clip) for _ in range(runs))


def throughput(url: str, clip: bytes, concurrency: int) -> float:
    post(url, clip)
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        started = time.perf_counter()
        list(pool.map(lambda _: post(url, clip), range(concurrency)))
        return time.perf_counter() - started


def bench_config(tiny: dict[str, str], port: int) -> dict:
    config = test_stack.test_config(tiny, port)
    batched = config["applications"][0]
    batched["args"].update({"release_other_on_switch": False, "batch_max_size": 8, "batch_wait_timeout_s": 0.05,
                            "model_max_ongoing_requests": 32})
    unbatched = {**batched, "name": "unbatched", "route_prefix": "/nobatch",
                 "args": {**batched["args"], "batch_max_size": 1}}
    config["applications"] = [batched, unbatched]
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    tiny = ensure_tiny_models(os.environ.get("TINY_MODELS_DIR", ROOT / ".cache" / "tiny-models"))
    clip = five_second_clip()
    direct = direct_latency(tiny["asr-scripted"], clip, args.runs)

    import ray

    for key, value in test_stack.FAST_METRICS_ENV.items():
        os.environ[key] = value
    ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False)
    try:
        port = test_stack.free_port()
        deploy_config.deploy(bench_config(tiny, port))
        for app in ("qwen3-asr", "unbatched"):
            deploy_config.wait_until_running(app, timeout_s=600)
        base = f"http://127.0.0.1:{port}"
        served = served_latency(f"{base}/api/transcribe", clip, args.runs)
        batched = throughput(f"{base}/api/transcribe", clip, args.concurrency)
        unbatched = throughput(f"{base}/nobatch/api/transcribe", clip, args.concurrency)
    finally:
        test_stack.stop_stack()

    print(f"5 s clip, tiny scripted checkpoint, CPU, {args.runs} sequential runs")
    print(f"  direct Qwen3ASRModel.transcribe  median {direct * 1000:8.1f} ms")
    print(f"  POST /api/transcribe (warm)      median {served * 1000:8.1f} ms")
    print(f"  serving overhead                        {(served - direct) * 1000:8.1f} ms  ({served / direct:.2f}x)")
    print(f"{args.concurrency} concurrent requests")
    print(f"  batching on  (batch 8)  {batched:6.2f} s  {args.concurrency / batched:6.1f} req/s")
    print(f"  batching off (batch 1)  {unbatched:6.2f} s  {args.concurrency / unbatched:6.1f} req/s")
    print(f"  speed-up from batching  {unbatched / batched:.2f}x")


if __name__ == "__main__":
    main()
