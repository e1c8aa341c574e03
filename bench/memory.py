"""Peak memory of a model replica per request length, through the real stack (CPU, tiny model).

    .venv/bin/python -m bench.memory [--lengths 5,300,1500] [--piece-seconds S] [--batch-seconds S]

Starts the service from serve_config.yaml on the CPU as bench/serving.py does, then for each
length: releases the ASR model (so a fresh replica serves it), posts one wav of that length
(a speech clip repeated with a second of silence between: quiet points to cut at), and reads
the replica's peak resident memory, `VmHWM` in /proc/<pid>/status, with the pid from
/api/status `models[...]["replica_history"]`. The replica's peak must not grow with the
length: pieces are at most `asr_piece_seconds` and a model call at most `batch_max_audio_seconds`
of padded audio. `--piece-seconds 1200 --batch-seconds 9600` is the old, unbounded shape
(careful: a 25-minute file then needs ~15 GB). Figures only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import httpx

from bench.serving import SERVICE_APP, long_clip, speech_clip, wav_bytes
from deployments.protocol import ASR_0_6B
from deployments.tiny import ensure_tiny_models
from serve_app import deploy_config
from tests import stack as test_stack

ROOT = Path(__file__).resolve().parents[1]
MODEL = ASR_0_6B


def bench_config(tiny: dict[str, str], port: int, piece_seconds: float | None,
                 batch_seconds: float | None) -> dict:
    config = test_stack.test_config(tiny, port)
    service = config["applications"][0]
    service["args"].update({"torch_threads": 0, "max_upload_mb": 500, "release_other_on_switch": False})
    if piece_seconds:
        service["args"]["asr_piece_seconds"] = piece_seconds
    if batch_seconds:
        service["args"]["batch_max_audio_seconds"] = batch_seconds
    config["applications"] = [service]
    return config


def vm_kib(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def live_pid(client: httpx.Client, base: str) -> int | None:
    status = client.get(f"{base}/api/status", timeout=30).json()
    alive = [r for r in status["models"][MODEL].get("replica_history", []) if r.get("pid") and not r.get("exited_at")]
    return alive[-1]["pid"] if alive else None


def measure(client: httpx.Client, base: str, seconds: float, clip) -> dict:
    client.post(f"{base}/api/gpu-offload", json={"models": [MODEL]}, timeout=120)
    body = wav_bytes(long_clip(clip, seconds))
    started = time.perf_counter()
    response = client.post(f"{base}/api/transcribe", files={"file": ("a.wav", body, "audio/wav")},
                           data={"model": MODEL, "language": "en"}, timeout=3600)
    wall = time.perf_counter() - started
    pid = None
    for _ in range(50):  # the status picture catches up within a beat or two
        pid = live_pid(client, base)
        if pid:
            break
        time.sleep(0.2)
    answer = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    return {"seconds": seconds, "status": response.status_code, "wall_s": wall, "pid": pid,
            "peak_kib": vm_kib(pid, "VmHWM") if pid else None, "rss_kib": vm_kib(pid, "VmRSS") if pid else None,
            "rtf": answer.get("rtf")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lengths", default="5,300,1500", help="comma-separated seconds")
    parser.add_argument("--piece-seconds", type=float, default=None, help="asr_piece_seconds (default: the setting)")
    parser.add_argument("--batch-seconds", type=float, default=None,
                        help="batch_max_audio_seconds (default: the setting)")
    args = parser.parse_args()
    lengths = [float(x) for x in args.lengths.split(",") if x.strip()]

    tiny = ensure_tiny_models(Path(os.environ.get("TINY_MODELS_DIR", ROOT / ".cache" / "tiny-models")))
    clip = speech_clip()
    import ray

    for key, value in test_stack.FAST_METRICS_ENV.items():
        os.environ[key] = value
    ray.init(address="local", num_cpus=4, include_dashboard=False, log_to_driver=False,
             _temp_dir=tempfile.mkdtemp(prefix="ray-m-"))
    rows = []
    try:
        port = test_stack.free_port()
        config = bench_config(tiny, port, args.piece_seconds, args.batch_seconds)
        deploy_config.deploy(config)
        deploy_config.wait_until_running(SERVICE_APP, timeout_s=600)
        base = f"http://127.0.0.1:{port}"
        test_stack.wait_http(f"{base}/health")
        with httpx.Client() as client:
            for seconds in lengths:
                rows.append(measure(client, base, seconds, clip))
                print(rows[-1], flush=True)
    finally:
        test_stack.stop_stack()
    settings = config["applications"][0]["args"]
    print(f"\npeak replica memory ({MODEL}, tiny checkpoint, asr_piece_seconds="
          f"{settings.get('asr_piece_seconds', 'default')}, batch_max_audio_seconds="
          f"{settings.get('batch_max_audio_seconds', 'default')}):")
    for row in rows:
        peak = f"{row['peak_kib'] / 1024 / 1024:.2f} GB" if row["peak_kib"] else "n/a"
        print(f"  {row['seconds']:>7.0f} s audio: HTTP {row['status']}, wall {row['wall_s']:6.1f} s "
              f"(rtf {row['rtf']}), replica peak RSS {peak}")


if __name__ == "__main__":
    main()
