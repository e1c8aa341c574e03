"""Streaming benchmark: a 30 s speech fixture streamed at real-time pace with the tiny checkpoints (CPU).

    .venv/bin/python -m bench.streaming [--seconds 30] [--frame-ms 40] [--url http://host:8200]

Starts its own stack (the test stack: scripted checkpoint at /, random weights for the 1.7B slot at
/lc) unless --url points at a running service. For each checkpoint it prints:

* latency from a frame's arrival (the moment its last sample was "spoken" and sent) to the first
  `partial` whose `duration_seconds` covers it: median and p95 (frames covered only by the final
  are counted separately, as the stop -> final latency);
* compute per audio second, streaming vs offline: the time the session waited for the model
  (`process_time_seconds`) and the model time attributed to it (`compute_seconds`), against one
  offline POST /api/transcribe of the same audio (and, with an own stack, the model time of a
  direct deployment call).

Figures only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
SR = 16_000
PARAGRAPH = (
    "Streaming speech recognition turns a live voice into text while the person is still talking. "
    "The server hears the audio in small frames, decodes the recent window again every second, "
    "and keeps the words that can no longer change. When the speaker pauses, the window is cut, "
    "so the work per second stays small even after an hour. This recording lasts about thirty seconds. "
    "It was made by a speech synthesizer for a benchmark, and it ends with a short sentence. Thank you."
)


def speech_fixture(seconds: float) -> np.ndarray:
    from serve_app.audio import decode_file

    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "paragraph.wav"
        subprocess.run(["espeak-ng", "-s", "150", "-w", str(wav), PARAGRAPH], check=True, capture_output=True)
        samples = decode_file(wav).samples
    target = int(seconds * SR)
    if samples.size < target:
        gap = np.zeros(SR // 2, np.float32)
        samples = np.concatenate([samples, gap] * (target // (samples.size + gap.size) + 1))
    return np.ascontiguousarray(samples[:target])


def wav_bytes(samples: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, SR, format="WAV", subtype="FLOAT")
    return buffer.getvalue()


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


async def stream_realtime(ws_url: str, samples: np.ndarray, frame_ms: float, start: dict) -> dict:
    from websockets.asyncio.client import connect

    frame = int(SR * frame_ms / 1000)
    sent: list[tuple[float, float]] = []      # (audio end in seconds, wall time sent)
    partials: list[tuple[float, float]] = []  # (duration_seconds covered, wall time received)
    final: dict = {}
    async with connect(ws_url, max_size=None, open_timeout=120) as ws:
        await ws.send(json.dumps({"type": "start", "format": "f32le", "sample_rate": SR, **start}))
        while json.loads(await ws.recv())["type"] != "ready":
            pass

        async def receive() -> None:
            async for raw in ws:
                message = json.loads(raw)
                now = time.perf_counter()
                if message["type"] == "partial":
                    partials.append((message["duration_seconds"], now))
                elif message["type"] in ("final", "error"):
                    final.update(message, received_at=now)
                    return

        receiver = asyncio.create_task(receive())
        t0 = time.perf_counter()
        for index, i in enumerate(range(0, samples.size, frame)):
            chunk = samples[i:i + frame]
            due = t0 + (i + chunk.size) / SR  # the frame exists only once its last sample was spoken
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            await ws.send(np.asarray(chunk, "<f4").tobytes())
            sent.append(((i + chunk.size) / SR, time.perf_counter()))
        stop_at = time.perf_counter()
        await ws.send(json.dumps({"type": "stop"}))
        await asyncio.wait_for(receiver, 300)
    if final.get("type") != "final":
        raise RuntimeError(f"stream failed: {final}")
    latencies, tail = [], 0
    for audio_end, sent_at in sent:
        covering = next((at for covered, at in partials if covered + 1e-6 >= audio_end and at >= sent_at), None)
        if covering is None:
            tail += 1
        else:
            latencies.append(covering - sent_at)
    return {"latencies": latencies, "tail_frames": tail, "frames": len(sent), "partials": len(partials),
            "stop_to_final": final["received_at"] - stop_at, "final": final}


def offline(base: str, samples: np.ndarray, form: dict) -> dict:
    response = httpx.post(f"{base}/api/transcribe", files={"file": ("bench.wav", wav_bytes(samples))},
                          data=form, timeout=600)
    response.raise_for_status()
    return response.json()


def direct_model_seconds(app: str, deployment: str, samples: np.ndarray, runs: int = 3) -> float | None:
    try:
        from ray import serve

        from deployments.protocol import AsrRequest

        handle = serve.get_deployment_handle(deployment, app_name=app)
        times = [handle.transcribe.remote(AsrRequest(samples)).result(timeout_s=600).process_seconds
                 for _ in range(runs)]
        return statistics.median(times)
    except Exception:
        return None


def report(label: str, seconds: float, run: dict, offline_body: dict, model_seconds: float | None) -> None:
    final = run["final"]
    lat = run["latencies"]
    print(f"\n== {label}: {seconds:.0f} s fixture streamed in {run['frames']} frames at real-time pace")
    print(f"  partials {run['partials']}, segments {final.get('segments')}, "
          f"final text {final['text'][:60]!r}{'...' if len(final['text']) > 60 else ''}")
    print(f"  frame -> covering partial   median {statistics.median(lat) * 1000:7.0f} ms   "
          f"p95 {percentile(lat, 95) * 1000:7.0f} ms   ({len(lat)} frames; {run['tail_frames']} only in the final)")
    print(f"  stop -> final               {run['stop_to_final'] * 1000:7.0f} ms "
          f"(server finalize {final.get('finalize_seconds', 0) * 1000:.0f} ms)")
    duration = final["duration_seconds"]
    stream_wait = final["process_time_seconds"] / duration
    stream_model = final.get("compute_seconds", 0.0) / duration
    off_wait = offline_body["process_time_seconds"] / offline_body["duration_seconds"]
    print("  compute per audio second    streaming                offline")
    print(f"    waiting for the model     {stream_wait * 1000:7.1f} ms/s            {off_wait * 1000:7.1f} ms/s"
          f"   ({stream_wait / off_wait:.1f}x)")
    if model_seconds:
        off_model = model_seconds / duration
        print(f"    model time                {stream_model * 1000:7.1f} ms/s            {off_model * 1000:7.1f} ms/s"
              f"   ({stream_model / off_model:.1f}x)")
    else:
        print(f"    model time                {stream_model * 1000:7.1f} ms/s            (n/a with --url)")
    print(f"  offline text equal to streaming final: {offline_body['text'] == final['text']}")


def run_all(base: str, samples: np.ndarray, frame_ms: float, own_stack: bool) -> None:
    seconds = samples.size / SR
    cases = [
        ("scripted checkpoint (/, qwen3-asr-1.7b)", base, "qwen3-asr", "Qwen3ASR-1.7B", {"language": "en"}),
        ("random-weights checkpoint (/lc, qwen3-asr-1.7b)", f"{base}/lc", "lifecycle", "Qwen3ASR-1.7B", {}),
    ]
    if not own_stack:
        cases = cases[:1]
    for label, url, app, deployment, extra in cases:
        form = {"model": "qwen3-asr-1.7b", **extra}
        offline(url, samples[:SR * 2], form)  # warm the model
        off = offline(url, samples, form)
        model_seconds = direct_model_seconds(app, deployment, samples) if own_stack else None
        ws_url = url.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + "/api/transcribe/stream"
        run = asyncio.run(stream_realtime(ws_url, samples, frame_ms, form))
        report(label, seconds, run, off, model_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--frame-ms", type=float, default=40.0, help="frame size (the UI sends ~43 ms frames)")
    parser.add_argument("--url", default=None, help="a running service instead of an own test stack")
    args = parser.parse_args()
    samples = speech_fixture(args.seconds)
    if args.url:
        run_all(args.url.rstrip("/"), samples, args.frame_ms, own_stack=False)
        return

    import ray

    from deployments.tiny import ensure_tiny_models
    from serve_app import deploy_config
    from tests import stack as test_stack

    tiny = ensure_tiny_models(os.environ.get("TINY_MODELS_DIR", ROOT / ".cache" / "tiny-models"))
    for key, value in test_stack.FAST_METRICS_ENV.items():
        os.environ[key] = value
    ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False)
    try:
        port = test_stack.free_port()
        deploy_config.deploy(test_stack.test_config(tiny, port))
        for app in (test_stack.MAIN_APP, test_stack.LIFECYCLE_APP):
            deploy_config.wait_until_running(app, timeout_s=600)
        base = f"http://127.0.0.1:{port}"
        test_stack.wait_http(f"{base}/health")
        from serve_app.settings import Settings

        settings = Settings()
        print(f"CPU, tiny checkpoints (max_new_tokens 16), stream_chunk_seconds {settings.stream_chunk_seconds}, "
              f"stream_window_seconds {settings.stream_window_seconds}, frames of {args.frame_ms:g} ms")
        run_all(base, samples, args.frame_ms, own_stack=True)
    finally:
        test_stack.stop_stack()


if __name__ == "__main__":
    main()
